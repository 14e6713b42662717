//! On both backends (embedded redb and DynamoDB Local), a lead is a function of its set of
//! events: random histories of one person, delivered in random orders and in random batches
//! whose events race each other, read back as one lead (when moves were recorded aside), which
//! is the fold of its ledger. Sales actions, delivered last as a sales tool does, are accepted
//! or refused alike whatever the order the behaviour arrived in.

mod common;

use leadscore_scoring::*;
use leadscore_store::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeSet;
use std::sync::Arc;

const T0: i64 = 1_761_955_200_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const EMAIL: &str = "ada@acme.io";
const ANON: &str = "anon-1";

fn t(ms_after_t0: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms_after_t0)
}

/// Every delivery's `now`: after every event, and well inside the lateness window.
fn now() -> Timestamp {
    t(11 * DAY)
}

fn email() -> Email {
    Email::parse(EMAIL).unwrap()
}

fn anon() -> AnonymousId {
    AnonymousId::parse(ANON).unwrap()
}

fn ada() -> Identity {
    Identity::new(Some(email()), None).unwrap()
}

fn visitor() -> Identity {
    Identity::new(None, Some(anon())).unwrap()
}

fn both() -> Identity {
    Identity::new(Some(email()), Some(anon())).unwrap()
}

fn sales(id: &str, signal: Signal, at: Timestamp, reason: Option<&str>) -> Event {
    let mut e = Event::new(EventId::parse(id).unwrap(), signal, at, ada());
    e.attributes.actor = Some("rep@crm".to_string());
    e.attributes.reason = reason.map(str::to_string);
    e
}

/// The lead with what only arrival decides (when moves were recorded) blanked out.
fn folded(state: &LeadState) -> LeadState {
    let mut s = state.clone();
    s.stage_recorded_at = Timestamp::default();
    for t in s.stage_history.iter_mut() {
        t.recorded_at = Timestamp::default();
    }
    if let Some(c) = s.checkpoint.as_mut() {
        for t in c.funnel.stage_history.iter_mut() {
            t.recorded_at = Timestamp::default();
        }
    }
    s
}

fn folded_lead(lead: &Option<StoredLead>) -> Option<StoredLead> {
    lead.as_ref().map(|l| StoredLead {
        state: folded(&l.state),
        version: l.version,
    })
}

// ---- stores ----

struct Fixture {
    store: Arc<dyn LeadStore>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Embedded,
    Dynamo,
}

fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path().join("data")).unwrap();
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn fresh(backend: Backend) -> Fixture {
    match backend {
        Backend::Embedded => embedded(),
        Backend::Dynamo => Fixture {
            store: Arc::new(common::dynamo_table("orders").await),
            _dir: None,
        },
    }
}

// ---- random histories ----

/// One person's history: behaviour (some of it as an anonymous visitor, perhaps stitched by
/// one event naming both), then what sales did, dated after all of it.
#[derive(Debug, Clone)]
struct History {
    behaviour: Vec<Event>,
    sales: Vec<Event>,
}

impl History {
    fn stitched(&self) -> bool {
        self.behaviour
            .iter()
            .any(|e| e.identity.email.is_some() && e.identity.anonymous_id.is_some())
    }
}

fn behaviour_signals() -> Vec<Signal> {
    Signal::ALL
        .iter()
        .copied()
        .filter(|s| s.kind() != SignalKind::SalesFeedback)
        .collect()
}

fn arb_behaviour() -> impl Strategy<Value = Event> {
    (
        proptest::sample::select(behaviour_signals()),
        0i64..240,
        0i64..4,
        proptest::option::of(proptest::sample::select(vec![
            "CTO",
            "Intern",
            "Head of IT",
        ])),
        proptest::option::of(5_000u64..50_000),
        proptest::option::of(1u32..12),
        proptest::option::of(prop_oneof![Just("m1"), Just("m2")]),
        0u8..6,
        0u8..3,
    )
        .prop_map(
            |(signal, hour, minute, title, budget, timeline, message, bot, who)| {
                // Hours and a few minutes within them: distinct times and many ties.
                let at = t(hour * HOUR + minute * MINUTE);
                let identity = if who == 0 { visitor() } else { ada() };
                let mut e = Event::new(EventId::parse("x").unwrap(), signal, at, identity);
                e.profile.job_title = title.map(str::to_string);
                e.bant.budget = budget;
                e.bant.timeline_months = timeline;
                if budget.is_some() {
                    e.bant.authority = Some("cto".into());
                    e.bant.need = Some("a CRM".into());
                }
                e.attributes.message_id = message.map(str::to_string);
                if bot == 0 {
                    e.bot = Some(BotVerdict {
                        is_bot: true,
                        reason: "scanner user agent".into(),
                    });
                }
                e
            },
        )
}

/// What sales do once the behaviour is in: a few scripted sequences, or any few actions.
fn arb_script() -> impl Strategy<Value = Vec<Signal>> {
    use Signal::*;
    prop_oneof![
        Just(vec![]),
        Just(vec![SalesAccepted]),
        Just(vec![SalesRejected]),
        Just(vec![Disqualified, SalesAccepted]),
        proptest::collection::vec(
            proptest::sample::select(vec![
                SalesAccepted,
                SalesRejected,
                Disqualified,
                OpportunityOpened,
                DealWon,
                DealLost,
            ]),
            1..=3,
        ),
    ]
}

fn arb_history() -> impl Strategy<Value = History> {
    (
        proptest::collection::vec(arb_behaviour(), 1..20),
        proptest::option::weighted(0.8, any::<proptest::sample::Index>()),
        arb_script(),
    )
        .prop_map(|(mut behaviour, stitch, script)| {
            if let Some(i) = stitch {
                let i = i.index(behaviour.len());
                behaviour[i].identity = both();
            }
            for (i, e) in behaviour.iter_mut().enumerate() {
                e.id = EventId::parse(&format!("e{i:02}")).unwrap();
            }
            let n = behaviour.len();
            let sales = script
                .into_iter()
                .enumerate()
                .map(|(k, signal)| {
                    let reason = matches!(
                        signal,
                        Signal::SalesRejected | Signal::Disqualified | Signal::DealLost
                    )
                    .then_some("not now");
                    let at = t(10 * DAY + (k as i64 + 1) * HOUR);
                    sales(&format!("e{:02}", n + k), signal, at, reason)
                })
                .collect();
            History { behaviour, sales }
        })
}

// ---- delivery ----

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A seeded permutation of `0..n` cut into batches: from one event per batch to (nearly)
/// all of them at once.
fn plan(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut x = seed | 1;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (xorshift(&mut x) % (i as u64 + 1)) as usize);
    }
    let spread = [1, 2, 3, 5, 1_000][(seed >> 59) as usize % 5];
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match batches.last_mut() {
            Some(batch) if xorshift(&mut x) % spread != 0 => batch.push(i),
            _ => batches.push(vec![i]),
        }
    }
    batches
}

/// What one delivery left in a store.
#[derive(Debug)]
struct Delivered {
    batches: Vec<Vec<usize>>,
    lead: Option<StoredLead>,
    visitor: Option<StoredLead>,
    /// Each sales action and what the store answered.
    sales: Vec<(EventId, String)>,
    ledger: Vec<Event>,
}

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

/// Delivers the behaviour in the order and batches of `seed` (each batch's events applied
/// concurrently, batches one after another), then the sales actions one by one, and reads
/// back what the store holds.
async fn deliver(
    store: Arc<dyn LeadStore>,
    rules: Arc<Rules>,
    history: &History,
    seed: u64,
) -> Result<Delivered, TestCaseError> {
    let batches = plan(history.behaviour.len(), seed);
    for batch in &batches {
        let tasks: Vec<_> = batch
            .iter()
            .map(|&i| {
                let (store, rules) = (Arc::clone(&store), Arc::clone(&rules));
                let e = history.behaviour[i].clone();
                tokio::spawn(async move {
                    let applied = store.apply(&e, &rules, now()).await;
                    (e.id, applied)
                })
            })
            .collect();
        for task in tasks {
            let (id, applied) = task.await.map_err(fail)?;
            let applied = applied.map_err(|e| fail(format!("{id:?} refused: {e}")))?;
            prop_assert!(
                !applied.duplicate && !applied.dropped,
                "{:?} not taken: {:?}",
                id,
                applied
            );
        }
    }
    let mut sales = Vec::new();
    for e in &history.sales {
        let answer = match store.apply(e, &rules, now()).await {
            Ok(a) if !a.duplicate && !a.dropped => "accepted".to_string(),
            Ok(a) => return Err(fail(format!("{:?} not taken: {a:?}", e.id))),
            Err(StoreError::InvalidTransition(x)) => format!("refused: {x}"),
            Err(StoreError::NotFound) => "not found".to_string(),
            Err(other) => return Err(fail(format!("{:?}: {other}", e.id))),
        };
        sales.push((e.id.clone(), answer));
    }
    let lead = store
        .get(&LeadKey::Email(email()), &rules, now())
        .await
        .map_err(fail)?;
    let visitor = store
        .get(&LeadKey::Anonymous(anon()), &rules, now())
        .await
        .map_err(fail)?;
    let ledger = match &lead {
        Some(l) => store.ledger(&l.state.id).await.map_err(fail)?,
        None => Vec::new(),
    };
    Ok(Delivered {
        batches,
        lead,
        visitor,
        sales,
        ledger,
    })
}

/// What holds for one delivery on its own: the lead is the fold of its ledger, which holds
/// every event of the person (the stitched visitor's included) and nothing else.
fn check_one(history: &History, d: &Delivered, rules: &Rules) -> Result<(), TestCaseError> {
    let stitched = history.stitched();
    let accepted: BTreeSet<&EventId> = d
        .sales
        .iter()
        .filter(|(_, answer)| answer == "accepted")
        .map(|(id, _)| id)
        .collect();
    let expected: BTreeSet<&EventId> = history
        .behaviour
        .iter()
        .filter(|e| stitched || e.identity.email.is_some())
        .map(|e| &e.id)
        .chain(accepted)
        .collect();
    match &d.lead {
        None => prop_assert!(expected.is_empty(), "no lead, expected {:?}", expected),
        Some(lead) => {
            let held: BTreeSet<&EventId> = d.ledger.iter().map(|e| &e.id).collect();
            prop_assert_eq!(&held, &expected, "the ledger's events");
            // All within the lateness window: every event is still one hit of the lead.
            let hits: BTreeSet<&EventId> = lead.state.hits.iter().map(|h| &h.event).collect();
            prop_assert_eq!(&hits, &expected, "the lead's hits");
            prop_assert_eq!(
                lead.version,
                d.ledger.len() as u64,
                "version = ledger length"
            );
            let again = rebuild(&lead.state, &d.ledger, rules, now());
            prop_assert_eq!(
                folded(&again),
                folded(&lead.state),
                "the lead is not the fold of its ledger"
            );
        }
    }
    let visits = history
        .behaviour
        .iter()
        .any(|e| e.identity.anonymous_id.is_some());
    match (&d.visitor, &d.lead) {
        (Some(v), Some(lead)) if stitched => {
            prop_assert_eq!(
                &v.state.id,
                &lead.state.id,
                "the visitor resolves to the lead"
            )
        }
        (Some(v), _) if !stitched => {
            prop_assert_eq!(&v.state.id, &LeadId::for_visitor(&anon()))
        }
        (None, _) => prop_assert!(!visits, "the visitor is lost"),
        (v, lead) => {
            return Err(fail(format!(
                "stitched={stitched}, visitor {v:?}, lead {lead:?}"
            )))
        }
    }
    Ok(())
}

/// Two independent deliveries of `history` on two fresh stores of `backend` give one lead.
fn same_lead_in_any_order(
    backend: Backend,
    history: &History,
    a: u64,
    b: u64,
) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rules = Arc::new(Rules::default_rules());
        let (one, two) = tokio::join!(fresh(backend), fresh(backend));
        let (x, y) = tokio::join!(
            deliver(Arc::clone(&one.store), Arc::clone(&rules), history, a),
            deliver(Arc::clone(&two.store), Arc::clone(&rules), history, b),
        );
        let (x, y) = (x?, y?);
        check_one(history, &x, &rules)?;
        check_one(history, &y, &rules)?;
        let context = format!("batches {:?} vs {:?}", x.batches, y.batches);
        prop_assert_eq!(&x.sales, &y.sales, "sales answers differ; {}", context);
        prop_assert_eq!(
            folded_lead(&x.lead),
            folded_lead(&y.lead),
            "the lead differs; {}",
            context
        );
        prop_assert_eq!(
            folded_lead(&x.visitor),
            folded_lead(&y.visitor),
            "the visitor differs; {}",
            context
        );
        if let (Some(l), Some(m)) = (&x.lead, &y.lead) {
            prop_assert_eq!(
                score(&l.state, &rules, now()),
                score(&m.state, &rules, now()),
                "the score differs; {}",
                context
            );
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn embedded_leads_do_not_depend_on_arrival(
        history in arb_history(),
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        same_lead_in_any_order(Backend::Embedded, &history, a, b)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        // Each case creates two tables in DynamoDB Local: shrinking is slow, keep it short.
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn dynamodb_leads_do_not_depend_on_arrival(
        history in arb_history(),
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        same_lead_in_any_order(Backend::Dynamo, &history, a, b)?;
    }
}
