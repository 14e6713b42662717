//! What `leadscore serve` tells a person at start: where it listens, which sources can
//! authenticate, and a first event to send.

use crate::sign;

/// Every webhook source, its route, and the variable holding its secret.
pub const SOURCES: [(&str, &str); 21] = [
    ("html", "forms"),
    ("json", "forms"),
    ("typeform", "forms"),
    ("webflow", "forms"),
    ("tally", "forms"),
    ("hubspot", "forms"),
    ("jotform", "forms"),
    ("segment", "forms"),
    ("intercom", "chatbot"),
    ("drift", "chatbot"),
    ("crisp", "chatbot"),
    ("dialogflow", "chatbot"),
    ("json", "chatbot"),
    ("sendgrid", "email"),
    ("mailgun", "email"),
    ("mandrill", "email"),
    ("postmark", "email"),
    ("brevo", "email"),
    ("ses", "email"),
    ("mailchimp", "email"),
    ("json", "email"),
];

/// The variable that configures a source: `html` has no secret, only allowed Origins.
pub fn secret_variable(source: &str) -> String {
    if source == "html" {
        "LEADSCORE_ALLOWED_ORIGINS".to_string()
    } else {
        format!("LEADSCORE_SECRET_{}", source.to_ascii_uppercase())
    }
}

pub const FIRST_EVENT: &str = r#"{"id":"evt_first","type":"demo_requested","occurred_at":"2026-11-22T10:00:00Z","email":"ada@example.com","profile":{"job_title":"CTO","company":"Acme","company_size":250,"country":"FR"}}"#;

pub struct Banner<'a> {
    pub base_url: &'a str,
    pub data_dir: &'a str,
    pub rules: &'a str,
    /// Reads a variable; injected so tests need not touch the process environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Unix seconds, for the signed example.
    pub now: i64,
    /// Where the example event is written for the curl line.
    pub event_file: &'a str,
}

impl Banner<'_> {
    pub fn render(&self) -> String {
        let set = |name: &str| (self.env)(name).is_some_and(|v| !v.trim().is_empty());
        let mut configured = Vec::new();
        let mut missing = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (source, _) in SOURCES {
            if !seen.insert(source) {
                continue;
            }
            if set(&secret_variable(source)) {
                configured.push(source);
            } else {
                missing.push(source);
            }
        }
        let mut out = format!(
            "leadscore listening on {}\n  store: {} (embedded, durable)   rules: {}\n\n",
            self.base_url, self.data_dir, self.rules
        );
        out.push_str(&format!(
            "sources ready: {}\n",
            if configured.is_empty() {
                "none".to_string()
            } else {
                configured.join(", ")
            }
        ));
        if !missing.is_empty() {
            out.push_str(&format!(
                "sources answering 401 until LEADSCORE_SECRET_<SOURCE> is set: {}\n",
                missing.join(", ")
            ));
        }
        let keys = (self.env)("LEADSCORE_API_KEYS").unwrap_or_default();
        let first_key = keys.split(',').map(str::trim).find(|k| !k.is_empty());
        match first_key {
            Some(_) => {
                out.push_str("stage API (/leads): open with a key from LEADSCORE_API_KEYS\n")
            }
            None => {
                out.push_str("stage API (/leads): closed (401) until LEADSCORE_API_KEYS is set\n")
            }
        }
        out.push_str("\nfirst event (signed for the next 5 minutes):\n");
        match (self.env)("LEADSCORE_SECRET_JSON").map(|s| sign::sign(&s, "evt_first", self.now, FIRST_EVENT.as_bytes())) {
            Some(Ok(signed)) => {
                out.push_str(&format!("  cat > {} <<'EOF'\n{}\nEOF\n", self.event_file, FIRST_EVENT));
                let url = format!("{}/webhooks/forms/json", self.base_url);
                out.push_str(&format!("  {}\n", sign::curl_line(&url, &signed, self.event_file)));
            }
            Some(Err(e)) => out.push_str(&format!("  LEADSCORE_SECRET_JSON is unusable: {e}\n")),
            None => out.push_str(
                "  set LEADSCORE_SECRET_JSON=whsec_<base64>, then `leadscore sign FILE` prints the curl line\n",
            ),
        }
        let key = first_key.unwrap_or("<key>");
        out.push_str(&format!(
            "read the lead back:\n  curl -sS -H {} {}/leads/ada%40example.com\n",
            sign::shell_quote(&format!("authorization: Bearer {key}")),
            self.base_url
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(vars: &[(&str, &str)]) -> String {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Banner {
            base_url: "http://127.0.0.1:3000",
            data_dir: "./.leadscore",
            rules: "infra/rules.toml",
            env: &env,
            now: 1614265330,
            event_file: "/tmp/first-event.json",
        }
        .render()
    }

    #[test]
    fn names_ready_and_closed_sources() {
        let text = render(&[
            ("LEADSCORE_SECRET_TYPEFORM", "s"),
            ("LEADSCORE_SECRET_SES", " "),
        ]);
        assert!(text.contains("sources ready: typeform\n"), "{text}");
        assert!(text.contains("is set: html, json, webflow,"), "{text}");
        assert!(
            text.contains(", ses, mailchimp\n"),
            "blank counts as unset: {text}"
        );
        assert!(
            text.contains("closed (401) until LEADSCORE_API_KEYS"),
            "{text}"
        );
    }

    #[test]
    fn prints_a_signed_first_event_and_the_read_back() {
        let text = render(&[
            (
                "LEADSCORE_SECRET_JSON",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            ("LEADSCORE_API_KEYS", " k1 ,k2"),
        ]);
        let signed = sign::sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "evt_first",
            1614265330,
            FIRST_EVENT.as_bytes(),
        )
        .unwrap();
        assert!(
            text.contains(&format!("'webhook-signature: {}'", signed.signature)),
            "{text}"
        );
        assert!(
            text.contains("'http://127.0.0.1:3000/webhooks/forms/json'"),
            "{text}"
        );
        assert!(
            text.contains(
                "-H 'authorization: Bearer k1' http://127.0.0.1:3000/leads/ada%40example.com"
            ),
            "{text}"
        );
    }

    #[test]
    fn says_when_the_json_secret_is_unusable() {
        let text = render(&[("LEADSCORE_SECRET_JSON", "whsec_???")]);
        assert!(text.contains("LEADSCORE_SECRET_JSON is unusable"), "{text}");
    }
}
