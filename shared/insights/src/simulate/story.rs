//! One lead's story, drawn from `(seed, index)`: see the module above.

use super::{Intended, LeadKind, MqlPath, SimConfig, SimulatedLead, Truth, MONTH_MS};
use crate::History;
use leadscore_scoring::{
    AnonymousId, Attributes, BotVerdict, Email, Event, EventId, Identity, LeadId, Signal,
    SignalKind, Stage, Timestamp, MILLIS_PER_DAY,
};
use std::collections::BTreeSet;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = MILLIS_PER_DAY;

/// Lead `index`, drawn alone from `(seed, index)`.
pub(super) fn lead(config: &SimConfig, truth: &Truth, index: usize) -> SimulatedLead {
    let mut rng = Rng::for_lead(config.seed, index as u64);
    let at = arrival(&mut rng, config);
    let mut b = Builder::new(config.seed, index, &mut rng);
    let kind = if b.rng.chance(truth.bot_share) {
        LeadKind::Bot
    } else if b.rng.chance(truth.mql_share) {
        LeadKind::Mql
    } else {
        LeadKind::Lead
    };
    let mut intended = Intended {
        kind,
        stage: Stage::Lead,
        path: None,
        mql_by: None,
        shown: BTreeSet::new(),
        probability: None,
        converted_at: None,
    };
    match kind {
        LeadKind::Bot => bot(&mut b, at),
        LeadKind::Mql => mql(&mut b, truth, at, &mut intended),
        _ => stays_lead(&mut b, truth, at, &mut intended),
    }
    intended.shown = b.shown.clone();
    SimulatedLead {
        index,
        history: History {
            lead: b.lead_id(),
            events: b.events,
        },
        intended,
    }
}

/// SplitMix64: tiny, fast, and good enough to draw synthetic leads.
struct Rng(u64);

impl Rng {
    fn for_lead(seed: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B);
        let a = r.next_u64();
        Rng(a ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in lo..=hi.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as i64
    }
}

/// The arrival: a month drawn with seasonality, then a uniform time within it.
fn arrival(rng: &mut Rng, config: &SimConfig) -> Timestamp {
    let months = config.months.max(1);
    let amplitude = config.truth.seasonality.clamp(0.0, 1.0);
    let weight =
        |m: u32| 1.0 + amplitude * (2.0 * std::f64::consts::PI * f64::from(m % 12) / 12.0).cos();
    let total: f64 = (0..months).map(weight).sum();
    let mut draw = rng.unit() * total;
    let mut month = months - 1;
    for m in 0..months {
        draw -= weight(m);
        if draw < 0.0 {
            month = m;
            break;
        }
    }
    let offset = i64::from(month) * MONTH_MS + rng.between(0, MONTH_MS - 1);
    config.start.plus_millis(offset)
}

/// Builds one lead's events: ids `sim:<seed>:<lead>:<n>`, the person's identity, and the
/// signals the person (not a bot) showed.
struct Builder<'r> {
    rng: &'r mut Rng,
    seed: u64,
    index: usize,
    email: Email,
    anonymous: Option<AnonymousId>,
    identified: bool,
    events: Vec<Event>,
    shown: BTreeSet<Signal>,
}

impl<'r> Builder<'r> {
    fn new(seed: u64, index: usize, rng: &'r mut Rng) -> Self {
        let domain = match rng.between(0, 9) {
            0 => "gmail.com".to_string(),
            1 => "outlook.com".to_string(),
            n => format!("company{}.example", rng.between(0, 4999) * 8 + n),
        };
        let email = own(Email::parse(&format!("lead{index}.{seed:x}@{domain}")));
        Builder {
            rng,
            seed,
            index,
            email,
            anonymous: None,
            identified: true,
            events: Vec::new(),
            shown: BTreeSet::new(),
        }
    }

    fn lead_id(&self) -> LeadId {
        match (&self.anonymous, self.identified) {
            (Some(visitor), false) => LeadId::for_visitor(visitor),
            _ => LeadId::for_email(&self.email),
        }
    }

    fn visitor_id(&self) -> AnonymousId {
        own(AnonymousId::parse(&format!(
            "anon-{:x}-{}",
            self.seed, self.index
        )))
    }

    fn identity(&self, email: bool, anonymous: bool) -> Identity {
        Identity {
            email: Some(self.email.clone()).filter(|_| email || self.anonymous.is_none()),
            anonymous_id: self.anonymous.clone().filter(|_| anonymous),
        }
    }

    fn id(&self, n: usize) -> EventId {
        own(EventId::parse(&format!(
            "sim:{:x}:{}:{n}",
            self.seed, self.index
        )))
    }

    fn push(&mut self, signal: Signal, at: Timestamp, identity: Identity) -> &mut Event {
        let n = self.events.len();
        let mut e = Event::new(self.id(n), signal, at, identity);
        e.attributes = Attributes {
            source: Some("simulation".to_string()),
            ..Attributes::default()
        };
        if matches!(signal, Signal::EmailOpened | Signal::EmailClicked) {
            e.attributes.message_id = Some(format!("msg-{:x}-{}-{n}", self.seed, self.index));
        }
        self.events.push(e);
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    /// A person's event, with the email (the lead is identified).
    fn person(&mut self, signal: Signal, at: Timestamp) {
        let identity = self.identity(true, false);
        self.push(signal, at, identity);
        if signal.kind() == SignalKind::Interest {
            self.shown.insert(signal);
        }
    }

    /// An anonymous visit, before the person gives an email.
    fn visit_anonymously(&mut self, at: Timestamp) {
        let identity = self.identity(false, true);
        self.push(Signal::SiteVisit, at, identity);
        self.shown.insert(Signal::SiteVisit);
    }

    /// The visit that carries both email and anonymous id: stitches the visitor.
    fn stitch(&mut self, at: Timestamp) {
        let identity = self.identity(true, true);
        self.push(Signal::SiteVisit, at, identity);
        self.shown.insert(Signal::SiteVisit);
    }

    /// A link scanner: a burst of clicks on one message within a second (flagged by the
    /// fold), or clicks the provider flagged.
    fn scanner(&mut self, at: Timestamp) {
        let identity = self.identity(true, false);
        let message = format!("scan-{:x}-{}-{}", self.seed, self.index, self.events.len());
        if self.rng.chance(0.5) {
            for k in 0..self.rng.between(2, 4) {
                let e = self.push(
                    Signal::EmailClicked,
                    at.plus_millis(k * 300),
                    identity.clone(),
                );
                e.attributes.message_id = Some(message.clone());
            }
        } else {
            for k in 0..self.rng.between(1, 3) {
                let signal = if k == 0 {
                    Signal::EmailOpened
                } else {
                    Signal::EmailClicked
                };
                let e = self.push(signal, at.plus_millis(k * 5_000), identity.clone());
                e.attributes.message_id = Some(message.clone());
                e.bot = Some(BotVerdict {
                    is_bot: true,
                    reason: "scanner user agent".to_string(),
                });
            }
        }
    }

    /// Visitor phase when drawn: 1 to `visits` anonymous visits over the days before `at`,
    /// then the stitching visit at `at`. Returns whether there was one.
    fn maybe_visitor(&mut self, share: f64, at: Timestamp, visits: i64) -> bool {
        if !self.rng.chance(share) {
            return false;
        }
        self.anonymous = Some(self.visitor_id());
        for k in 0..self.rng.between(1, visits) {
            let before = self.rng.between(1, 14) * DAY + k * HOUR;
            self.visit_anonymously(at.plus_millis(-before));
        }
        self.stitch(at);
        true
    }
}

/// Our own ids are made of hex digits, digits, dashes and colons: they always parse.
fn own<T, E>(parsed: Result<T, E>) -> T {
    match parsed {
        Ok(v) => v,
        Err(_) => unreachable!("a simulated id made of digits, letters, '-' and ':' parses"),
    }
}

/// Opens and clicks that no person made: never scored, the lead stays a lead.
fn bot(b: &mut Builder, at: Timestamp) {
    for k in 0..b.rng.between(1, 3) {
        let when = at.plus_millis(k * b.rng.between(1, 20) * DAY);
        b.scanner(when);
    }
}

/// Points of one occurrence under the default rules (the budget of a lead that stays one).
fn default_points(signal: Signal) -> i64 {
    use Signal::*;
    match signal {
        NewsletterSubscribed => 10,
        EmailOpened => 1,
        EmailClicked => 3,
        ContentDownloaded | DemoVideoWatched => 8,
        FormSubmitted | SocialFollowed => 5,
        ChatbotQuestion | ProductFavorited | SocialShared => 4,
        SiteVisit => 3,
        _ => 0,
    }
}

/// A lead that never becomes an MQL: each signal at most once, with half the MQLs' odds,
/// under 35 points in all and at most two visits (so no combination can fire).
fn stays_lead(b: &mut Builder, truth: &Truth, at: Timestamp, intended: &mut Intended) {
    let visitor = b.maybe_visitor(truth.anonymous_share, at, 1);
    if visitor && b.rng.chance(truth.never_identified_share) {
        // The visitor never gives an email: drop the stitching visit.
        b.events.pop();
        b.identified = false;
        intended.kind = LeadKind::Visitor;
        intended.stage = Stage::Visitor;
        return;
    }
    let mut budget = 35 - if visitor { 6 } else { 0 };
    let mut first = !visitor;
    for (signal, t) in truth.modelled() {
        if (visitor && signal == Signal::SiteVisit) || !b.rng.chance(t.shown * 0.5) {
            continue;
        }
        if default_points(signal) > budget {
            continue;
        }
        budget -= default_points(signal);
        let when = if first {
            at
        } else {
            at.plus_millis(b.rng.between(HOUR, 60 * DAY))
        };
        first = false;
        b.person(signal, when);
    }
    if first {
        // Nothing drawn: the person at least subscribed to something (a form).
        b.person(Signal::FormSubmitted, at);
    }
    if b.rng.chance(truth.scanner_share) {
        let when = at.plus_millis(b.rng.between(DAY, 30 * DAY));
        b.scanner(when);
    }
    if b.rng.chance(truth.direct_hand_raise_share) {
        let when = at.plus_millis(b.rng.between(61 * DAY, 90 * DAY));
        let identity = b.identity(true, false);
        b.push(Signal::ContactRequested, when, identity);
        intended.kind = LeadKind::DirectSql;
        intended.stage = Stage::Sql;
        intended.converted_at = Some(when);
    }
}

/// An MQL: visitor phase or not, drawn signals from arrival to the burst, the path's burst,
/// then perhaps a conversion.
fn mql(b: &mut Builder, truth: &Truth, at: Timestamp, intended: &mut Intended) {
    let visitor = b.maybe_visitor(truth.anonymous_share, at, 3);
    let burst = at.plus_millis(b.rng.between(HOUR, 7 * DAY));
    let path = MqlPath::ALL[b.rng.between(0, 2) as usize];
    let mut drawn: Vec<Signal> = Vec::new();
    for (signal, t) in truth.modelled() {
        if b.rng.chance(t.shown) {
            drawn.push(signal);
        }
    }
    let mut first = !visitor;
    for signal in drawn {
        for _ in 0..b.rng.between(1, 3) {
            let when = if first {
                at
            } else {
                Timestamp::from_millis(b.rng.between(at.millis(), burst.millis()))
            };
            first = false;
            b.person(signal, when);
        }
    }
    let mut timeline: Vec<(i64, Signal)> = Vec::new();
    match path {
        MqlPath::Subscriber => {
            timeline.push((0, Signal::NewsletterSubscribed));
            timeline.extend((1..=3).map(|k| (k * HOUR, Signal::SiteVisit)));
            timeline.push((4 * HOUR, Signal::SocialFollowed));
        }
        MqlPath::Content => {
            timeline.extend((0..8).map(|k| (k * 45 * MINUTE, Signal::SiteVisit)));
            timeline
                .extend((0..4).map(|k| (6 * HOUR + k * 30 * MINUTE, Signal::ContentDownloaded)));
        }
        MqlPath::Email => {
            for day in 0..3 {
                timeline
                    .extend((0..3).map(|k| (day * DAY + k * 10 * MINUTE, Signal::EmailClicked)));
            }
            let last = 2 * DAY + HOUR;
            timeline.extend((0..2).map(|k| (last + k * 20 * MINUTE, Signal::DemoVideoWatched)));
            timeline.extend((0..6).map(|k| (last + HOUR + k * 40 * MINUTE, Signal::SiteVisit)));
        }
    }
    let end = burst.plus_millis(timeline.iter().map(|(t, _)| *t).max().unwrap_or(0));
    for (offset, signal) in timeline {
        b.person(signal, burst.plus_millis(offset));
    }
    if b.rng.chance(truth.scanner_share) {
        let when = at.plus_millis(b.rng.between(HOUR, 10 * DAY));
        b.scanner(when);
    }
    intended.path = Some(path);
    intended.mql_by = Some(end);
    intended.stage = Stage::Mql;
    let p = truth.probability(&b.shown);
    intended.probability = Some(p);
    let [lo, hi] = truth.conversion_days;
    let later = end.plus_millis(b.rng.between(
        i64::from(lo.min(hi).max(1)) * DAY,
        i64::from(hi.max(lo).max(1)) * DAY,
    ));
    if b.rng.chance(p) {
        intended.stage = Stage::Sql;
        intended.converted_at = Some(later);
        if b.rng.chance(truth.hand_raise_share) {
            let signal = if b.rng.chance(0.5) {
                Signal::DemoRequested
            } else {
                Signal::ContactRequested
            };
            let identity = b.identity(true, false);
            b.push(signal, later, identity);
        } else {
            sales(b, Signal::SalesAccepted, later, None);
        }
    } else if b.rng.chance(truth.rejected_share) {
        intended.stage = Stage::Lead;
        sales(b, Signal::SalesRejected, later, Some("not a fit yet"));
    }
}

/// A sales action as the qualification API records it: id `qual:<lead id>:<client id>`.
fn sales(b: &mut Builder, signal: Signal, at: Timestamp, reason: Option<&str>) {
    let lead = b.lead_id();
    let identity = b.identity(true, false);
    let id = own(EventId::parse(&format!("qual:{lead}:crm-{}", b.index)));
    let mut e = Event::new(id, signal, at, identity);
    e.attributes = Attributes {
        source: Some("sales".to_string()),
        actor: Some("rep@crm".to_string()),
        reason: reason.map(str::to_string),
        ..Attributes::default()
    };
    b.events.push(e);
}
