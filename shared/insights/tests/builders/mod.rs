//! Hand-built histories for the insights and replay tests.
#![allow(dead_code)]

use leadscore_insights::History;
use leadscore_scoring::*;

pub const DAY: i64 = MILLIS_PER_DAY;
pub const HOUR: i64 = 3_600_000;
/// 2025-11-01T00:00:00Z
pub const T0: i64 = 1_761_955_200_000;

pub fn t(ms_after_t0: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms_after_t0)
}

pub fn email(name: &str) -> Email {
    Email::parse(&format!("{name}@acme.io")).unwrap()
}

pub fn lead_id(name: &str) -> LeadId {
    LeadId::for_email(&email(name))
}

/// Builds one lead's events; ids are `<name>:<n>`.
pub struct Lead {
    name: String,
    identity: Identity,
    events: Vec<Event>,
}

impl Lead {
    pub fn new(name: &str) -> Self {
        Lead {
            name: name.to_string(),
            identity: Identity::new(Some(email(name)), None).unwrap(),
            events: Vec::new(),
        }
    }

    /// A visitor who never gave an email.
    pub fn anonymous(name: &str) -> Self {
        Lead {
            name: name.to_string(),
            identity: Identity::new(None, Some(AnonymousId::parse(name).unwrap())).unwrap(),
            events: Vec::new(),
        }
    }

    fn next_id(&self) -> EventId {
        EventId::parse(&format!("{}:{}", self.name, self.events.len())).unwrap()
    }

    pub fn with(mut self, signal: Signal, at: i64, attributes: Attributes) -> Self {
        let mut e = Event::new(self.next_id(), signal, t(at), self.identity.clone());
        e.attributes = attributes;
        if signal.kind() == SignalKind::SalesFeedback {
            e.attributes.source = Some("sales".into());
            e.attributes.actor = Some("rep@crm".into());
            e.attributes.reason = Some("test".into());
        }
        self.events.push(e);
        self
    }

    pub fn at(self, signal: Signal, at: i64) -> Self {
        self.with(signal, at, Attributes::default())
    }

    /// Enough engagement at one instant to be an MQL under the default rules (50): 4
    /// downloads (32), 4 forms (20), 3 favourites (12); content capped at 50, so 62.
    pub fn mql_pack(mut self, at: i64, asset: Option<&str>) -> Self {
        for _ in 0..4 {
            let attributes = Attributes {
                asset: asset.map(str::to_string),
                ..Attributes::default()
            };
            self = self.with(Signal::ContentDownloaded, at, attributes);
        }
        for _ in 0..4 {
            self = self.at(Signal::FormSubmitted, at);
        }
        for _ in 0..3 {
            self = self.at(Signal::ProductFavorited, at);
        }
        self
    }

    pub fn url(self, signal: Signal, at: i64, url: &str) -> Self {
        let attributes = Attributes {
            url: Some(url.to_string()),
            ..Attributes::default()
        };
        self.with(signal, at, attributes)
    }

    pub fn history(self) -> History {
        History {
            lead: self.identity.primary_lead_id(),
            events: self.events,
        }
    }
}

/// The default rules with some lines of the TOML replaced.
pub fn rules_with(replacements: &[(&str, &str)]) -> Rules {
    let mut text = DEFAULT_RULES_TOML.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "the default rules have no {from:?}");
        text = text.replace(from, to);
    }
    Rules::from_toml_str(&text).unwrap()
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Seven leads with answers worked out by hand (see tests/insights.rs).
pub fn seven_leads() -> Vec<History> {
    vec![
        // A: MQL d10, worked within a day (accepted d11), opportunity d50, won d80.
        Lead::new("a")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(10 * DAY, Some("ebook"))
            .url(
                Signal::DemoVideoWatched,
                10 * DAY + 12 * HOUR,
                "https://x.io/demo?utm_source=mail",
            )
            .at(Signal::SalesAccepted, 11 * DAY)
            .at(Signal::OpportunityOpened, 50 * DAY)
            .at(Signal::DealWon, 80 * DAY)
            .history(),
        // B: MQL d10, watched the demo d11, asked for a demo d30 (SQL), nobody called.
        Lead::new("b")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(10 * DAY, Some("ebook"))
            .url(Signal::DemoVideoWatched, 11 * DAY, "https://x.io/demo#t=1")
            .at(Signal::DemoRequested, 30 * DAY)
            .history(),
        // C: MQL d10, then nothing.
        Lead::new("c")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(10 * DAY, Some("whitepaper"))
            .history(),
        // D: MQL d10, rejected by sales an hour later.
        Lead::new("d")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(10 * DAY, Some("whitepaper"))
            .at(Signal::SalesRejected, 10 * DAY + HOUR)
            .history(),
        // E: a lead that did nothing more.
        Lead::new("e").at(Signal::FormSubmitted, 0).history(),
        // F: an anonymous visitor.
        Lead::anonymous("visitor-f")
            .at(Signal::SiteVisit, 0)
            .history(),
        // G: MQL d150, its 90-day window still open at d200.
        Lead::new("g")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(150 * DAY, None)
            .history(),
    ]
}
