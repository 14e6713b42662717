//! Neither the order of the histories nor that of the events within one changes any figure
//! of `insights` or `replay`.

mod builders;

use builders::*;
use leadscore_insights::{insights, replay, History, InsightOptions};
use leadscore_scoring::{Attributes, BotVerdict, Event, EventId, Identity, Rules, Signal};
use proptest::prelude::*;

const SIGNALS: [Signal; 14] = [
    Signal::FormSubmitted,
    Signal::ContentDownloaded,
    Signal::DemoVideoWatched,
    Signal::SiteVisit,
    Signal::NewsletterSubscribed,
    Signal::SocialFollowed,
    Signal::EmailClicked,
    Signal::DemoRequested,
    Signal::CartAdded,
    Signal::SalesAccepted,
    Signal::SalesRejected,
    Signal::OpportunityOpened,
    Signal::DealWon,
    Signal::ReviewPosted,
];

/// One event: signal, hour, whether a bot, content, and a key that shuffles it.
type Raw = (usize, i64, bool, u8, u64);

fn raw_event() -> impl Strategy<Value = Raw> {
    (
        0..SIGNALS.len(),
        0..(120 * 24i64),
        proptest::bool::weighted(0.1),
        0..4u8,
        any::<u64>(),
    )
}

fn build(lead: usize, raws: &[Raw]) -> History {
    let identity = Identity::new(Some(email(&format!("p{lead}"))), None).unwrap();
    let events = raws
        .iter()
        .enumerate()
        .map(|(i, (s, hour, bot, content, _))| {
            let id = EventId::parse(&format!("p{lead}:{i}")).unwrap();
            let mut e = Event::new(id, SIGNALS[*s], t(hour * HOUR), identity.clone());
            e.attributes = Attributes {
                asset: (*content > 0).then(|| format!("asset-{content}")),
                campaign: (*content > 1).then(|| "spring".to_string()),
                url: (*content == 3).then(|| "https://x.io/p?q=1".to_string()),
                ..Attributes::default()
            };
            if *bot {
                e.bot = Some(BotVerdict {
                    is_bot: true,
                    reason: "scanner".into(),
                });
            }
            e
        })
        .collect();
    History {
        lead: identity.primary_lead_id(),
        events,
    }
}

/// The histories as generated, and the same ones with events sorted by their shuffle keys
/// and histories rotated and reversed.
fn both(leads: &[Vec<Raw>], rotate: usize) -> (Vec<History>, Vec<History>) {
    let straight: Vec<History> = leads.iter().enumerate().map(|(i, r)| build(i, r)).collect();
    let mut shuffled: Vec<History> = leads
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut h = build(i, r);
            let mut keyed: Vec<(u64, Event)> =
                r.iter().map(|x| x.4).zip(h.events.drain(..)).collect();
            keyed.sort_by_key(|(k, _)| *k);
            h.events = keyed.into_iter().map(|(_, e)| e).collect();
            h
        })
        .collect();
    shuffled.reverse();
    let n = shuffled.len().max(1);
    shuffled.rotate_left(rotate % n);
    (straight, shuffled)
}

fn options() -> InsightOptions {
    InsightOptions {
        within_days: 20,
        sla_hours: 48,
        confidence: 0.95,
        top: 3,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn insights_ignore_every_order(
        leads in prop::collection::vec(prop::collection::vec(raw_event(), 1..14), 1..7),
        rotate in 0usize..7,
    ) {
        let (straight, shuffled) = both(&leads, rotate);
        let rules = Rules::default_rules();
        let as_of = t(100 * DAY);
        let a = insights(straight, &rules, as_of, &options());
        let b = insights(shuffled, &rules, as_of, &options());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn replay_ignores_every_order(
        leads in prop::collection::vec(prop::collection::vec(raw_event(), 1..14), 1..7),
        rotate in 0usize..7,
    ) {
        let (straight, shuffled) = both(&leads, rotate);
        let old = Rules::default_rules();
        let new = rules_with(&[("engagement_at_least = 50", "engagement_at_least = 25")]);
        let as_of = t(100 * DAY);
        let a = replay(straight, &old, &new, as_of, &options());
        let b = replay(shuffled, &old, &new, as_of, &options());
        prop_assert_eq!(a, b);
    }
}
