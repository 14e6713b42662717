//! The `[mapping]` section: every mistake is refused with a message naming the entry; the
//! shipped rules file is valid; the scoring core's sections are left alone.

mod common;

use leadscore_providers::{AdapterError, Mapping};
use leadscore_scoring::DEFAULT_RULES_TOML;

#[test]
fn mistakes_name_the_entry() {
    for (toml, needle) in [
        (
            "[mapping.events]\n\"Webinar Attended\" = \"webinar\"\n",
            "mapping.events.\"Webinar Attended\": unknown signal `webinar`",
        ),
        (
            "[mapping.events]\n\"Won\" = \"deal_won\"\n",
            "sales feedback",
        ),
        (
            "[mapping.events]\n\" \" = \"site_visit\"\n",
            "empty event name",
        ),
        (
            "[mapping.chatbot]\nsales_accepted = [\"yes\"]\n",
            "mapping.chatbot.sales_accepted: `sales_accepted` is sales feedback",
        ),
        (
            "[mapping.chatbot]\ndemo = [\"demo\"]\n",
            "mapping.chatbot.demo: unknown signal",
        ),
        (
            "[mapping.form_signals]\ndemo_requested = [\"  \", \"demo\"]\n",
            "mapping.form_signals.demo_requested: \"  \" has no letters or digits",
        ),
        (
            "[mapping.fields]\nfavourite_colour = [\"colour\"]\n",
            "mapping.fields.favourite_colour: unknown field",
        ),
        (
            "[mapping.fields]\nemail = [\"--\"]\n",
            "mapping.fields.email",
        ),
        (
            "[mapping]\nidentify_signal = \"identified\"\n",
            "mapping.identify_signal: unknown signal `identified`",
        ),
        (
            "[mapping]\npage_signal = \"deal_lost\"\n",
            "mapping.page_signal",
        ),
        (
            "[mapping]\nhoneypot_fields = [\"\"]\n",
            "mapping.honeypot_fields",
        ),
        ("[mapping]\nsurprise = 1\n", "unknown field `surprise`"),
        (
            "[mapping.bots]\nhoneypot_urls = [\"example.com/hp\"]\n",
            "mapping.bots.honeypot_urls: \"example.com/hp\" is not an http(s) URL",
        ),
        (
            "[mapping.bots]\nscanner_user_agents = [\"\"]\n",
            "mapping.bots.scanner_user_agents",
        ),
        ("[mapping.bots]\nburst_seconds = \"two\"\n", "mapping"),
        ("mapping = 3\n", "mapping"),
        ("[mapping\n", "not valid TOML"),
    ] {
        match Mapping::from_rules_toml(toml) {
            Err(AdapterError::InvalidMapping(m)) => {
                assert!(
                    m.contains(needle),
                    "{toml:?}: {m:?} should contain {needle:?}"
                )
            }
            other => panic!("{toml:?}: expected InvalidMapping, got {other:?}"),
        }
    }
}

#[test]
fn a_rules_file_without_mapping_gets_the_defaults() {
    let without = DEFAULT_RULES_TOML.split("# ---- [mapping]").next().unwrap();
    assert_eq!(
        Mapping::from_rules_toml(without).unwrap(),
        Mapping::default()
    );
    assert_eq!(
        Mapping::from_rules_toml(DEFAULT_RULES_TOML).unwrap(),
        Mapping::default()
    );
}

#[test]
fn the_shipped_rules_file_still_loads_in_the_scoring_core() {
    let rules = leadscore_scoring::Rules::from_toml_str(DEFAULT_RULES_TOML);
    assert!(rules.is_ok(), "{:?}", rules.err());
}

/// The mapping as the form sources read it.
#[cfg(feature = "forms")]
mod through_forms {
    use super::common::*;
    use leadscore_providers::Mapping;
    use leadscore_scoring::Signal;

    #[test]
    fn segment_event_names_and_identify_follow_the_mapping() {
        let world = World {
            mapping: Mapping::from_rules_toml(
                "[mapping]\nidentify_signal = \"\"\n[mapping.events]\n\"Demo Video Watched\" = \"product_favorited\"\n",
            )
            .unwrap(),
            ..World::new()
        };
        let track = world
            .receive(
                "segment",
                &signed("segment", &fixture("segment/track.json"), NOW),
            )
            .unwrap();
        assert_eq!(signals(&track), vec![Signal::ProductFavorited]);
        let identify = world
            .receive(
                "segment",
                &signed("segment", &fixture("segment/identify.json"), NOW),
            )
            .unwrap();
        assert_eq!((identify.events.len(), identify.ignored), (0, 1));
    }

    #[test]
    fn form_signal_words_follow_the_mapping() {
        let world = World {
            mapping: Mapping::from_rules_toml(
                "[mapping.form_signals]\nsample_requested = [\"swatch\"]\n",
            )
            .unwrap(),
            ..World::new()
        };
        let body = b"email=a%40example.com&free_swatch=yes&form_name=Order";
        let got = world.receive("html", &signed("html", body, NOW)).unwrap();
        assert_eq!(
            signals(&got),
            vec![Signal::FormSubmitted, Signal::SampleRequested]
        );
    }
}
