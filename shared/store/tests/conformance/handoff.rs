//! The hand-off storage cases of the conformance suite (records, index entries, accounts,
//! erasure), run on both backends by `conformance.rs`, and a property of `members` paging.

use super::{embedded, ev, rules, t, ERASE_BUDGET};
use leadscore_scoring::*;
use leadscore_store::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn lead(who: &str) -> LeadId {
    LeadId::for_email(&Email::parse(&format!("{who}@acme.io")).unwrap())
}

fn record(version: u64, body: &str, memberships: &[&str], summary: &str) -> HandoffRecord {
    HandoffRecord {
        version,
        body: body.as_bytes().to_vec(),
        memberships: memberships.iter().map(|m| m.to_string()).collect(),
        summary: summary.as_bytes().to_vec(),
        erased_seen: None,
    }
}

/// Every member of `index`, reading pages of `limit`.
async fn all_members(store: &dyn LeadStore, index: &str, limit: u32) -> Vec<(LeadId, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store
            .members(index, cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        out.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

async fn ids(store: &dyn LeadStore, index: &str) -> Vec<LeadId> {
    let members = all_members(store, index, 100).await;
    members.into_iter().map(|(id, _)| id).collect()
}

pub async fn handoff_records_are_compare_and_set(store: &dyn LeadStore) {
    let id = lead("cas");
    assert_eq!(store.handoff(&id).await.unwrap(), None, "version 0: absent");
    let first = record(0, r#"{"moves":1}"#, &["segment:nurture"], r#"{"s":1}"#);
    assert!(store.put_handoff(&id, &first).await.unwrap());
    let stored = store.handoff(&id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        HandoffRecord {
            version: 1,
            ..first.clone()
        }
    );
    for stale in [0, 2, 7] {
        let late = record(stale, "late", &["segment:other"], "x");
        assert!(!store.put_handoff(&id, &late).await.unwrap(), "{stale}");
    }
    assert_eq!(
        store.handoff(&id).await.unwrap().unwrap(),
        stored,
        "nothing written"
    );
    assert_eq!(ids(store, "segment:other").await, Vec::<LeadId>::new());
    let second = record(1, r#"{"moves":2}"#, &[], "");
    assert!(store.put_handoff(&id, &second).await.unwrap());
    let stored = store.handoff(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.body, second.body);
    assert!(stored.memberships.is_empty());
    // Two writers of one version: exactly one wins.
    let (a, b) = (record(2, "a", &["x"], "a"), record(2, "b", &["y"], "b"));
    let (a, b) = tokio::join!(store.put_handoff(&id, &a), store.put_handoff(&id, &b));
    assert!(a.unwrap() ^ b.unwrap(), "one of two racing writers wins");
    assert_eq!(store.handoff(&id).await.unwrap().unwrap().version, 3);
}

pub async fn memberships_are_replaced_by_each_put(store: &dyn LeadStore) {
    let (ada, bob) = (lead("ada"), lead("bob"));
    let put = |id: &LeadId, r: HandoffRecord| {
        let id = id.clone();
        async move { assert!(store.put_handoff(&id, &r).await.unwrap()) }
    };
    put(&ada, record(0, "{}", &["segment:a", "segment:b"], "ada-1")).await;
    put(&bob, record(0, "{}", &["segment:a"], "bob-1")).await;
    let mut both = vec![ada.clone(), bob.clone()];
    both.sort();
    assert_eq!(ids(store, "segment:a").await, both);
    put(&ada, record(1, "{}", &["segment:b", "segment:c"], "ada-2")).await;
    assert_eq!(ids(store, "segment:a").await, vec![bob.clone()]);
    assert_eq!(
        all_members(store, "segment:b", 10).await,
        vec![(ada.clone(), b"ada-2".to_vec())],
        "the summary is rewritten with the record"
    );
    assert_eq!(ids(store, "segment:c").await, vec![ada.clone()]);
    // Wholesale replacement of the largest set: more old entries than one DynamoDB
    // transaction holds with the new ones.
    let old: Vec<String> = (0..90).map(|i| format!("old:{i:02}")).collect();
    let new: Vec<String> = (0..90).map(|i| format!("new:{i:02}")).collect();
    let names = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    let mut r = HandoffRecord {
        version: 0,
        memberships: names(&old),
        ..HandoffRecord::default()
    };
    let carol = lead("carol");
    assert!(store.put_handoff(&carol, &r).await.unwrap());
    r.version = 1;
    r.memberships = names(&new);
    assert!(store.put_handoff(&carol, &r).await.unwrap());
    for i in [0, 44, 89] {
        assert!(ids(store, &old[i]).await.is_empty(), "{}", old[i]);
        assert_eq!(ids(store, &new[i]).await, vec![carol.clone()], "{}", new[i]);
    }
    // What the backend cannot hold, or could not key, is refused and writes nothing.
    r.version = 2;
    r.memberships = (0..91).map(|i| format!("m:{i}")).collect();
    assert!(matches!(
        store.put_handoff(&carol, &r).await,
        Err(StoreError::Internal(_))
    ));
    for bad in ["", "tab\there", &"x".repeat(201)] {
        r.memberships = BTreeSet::from([bad.to_string()]);
        assert!(store.put_handoff(&carol, &r).await.is_err(), "{bad:?}");
        assert!(store.members(bad, None, 10).await.is_err(), "{bad:?}");
    }
    assert_eq!(store.handoff(&carol).await.unwrap().unwrap().version, 2);
}

pub async fn members_page_in_lead_id_order_with_bounded_limits(store: &dyn LeadStore) {
    let mut everyone: Vec<LeadId> = (0..5).map(|i| lead(&format!("m{i}"))).collect();
    for (i, id) in everyone.iter().enumerate() {
        let r = record(
            0,
            "{}",
            &["segment:page", "segment:pager"],
            &format!("s{i}"),
        );
        assert!(store.put_handoff(id, &r).await.unwrap());
    }
    everyone.sort();
    let (first, next) = store.members("segment:page", None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let next = next.expect("a cursor after a full page");
    let (second, _) = store.members("segment:page", Some(&next), 2).await.unwrap();
    let firsts: Vec<LeadId> = first
        .iter()
        .chain(&second)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(firsts, everyone[..4].to_vec());
    for limit in [1, 2, 3, 5, 100] {
        let paged: Vec<LeadId> = all_members(store, "segment:page", limit)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(paged, everyone, "pages of {limit}");
    }
    for limit in [0, MAX_PAGE + 1] {
        assert!(matches!(
            store.members("segment:page", None, limit).await,
            Err(StoreError::InvalidLimit(l)) if l == limit
        ));
    }
    for cursor in ["", "garbage", "eyJzIjoic3FsIn0", next.as_str()] {
        let other = store.members("segment:pager", Some(cursor), 2).await;
        assert!(
            matches!(other, Err(StoreError::InvalidCursor)),
            "{cursor:?}"
        );
    }
    assert_eq!(
        store.members("segment:none", None, 10).await.unwrap(),
        (vec![], None)
    );
}

pub async fn accounts_rank_by_score_highest_first(store: &dyn LeadStore) {
    let accounts = [
        ("acme.com", 40),
        ("zeta.io", 40),
        ("beta.org", -3),
        ("cold.net", -100),
        ("hot.dev", 1_000),
        ("zero.co", 0),
        ("alpha.org", 40),
    ];
    for (domain, score) in accounts {
        let body = format!(r#"{{"domain":"{domain}","score":{score}}}"#);
        store
            .put_account(domain, score, body.as_bytes())
            .await
            .unwrap();
    }
    let expected = [
        "hot.dev",
        "acme.com",
        "alpha.org",
        "zeta.io",
        "zero.co",
        "beta.org",
        "cold.net",
    ];
    for limit in [1, 2, 3, 7, 100] {
        assert_eq!(ranked(store, limit).await, expected, "pages of {limit}");
    }
    assert_eq!(
        store.account("beta.org").await.unwrap().unwrap(),
        br#"{"domain":"beta.org","score":-3}"#.to_vec()
    );
    assert_eq!(store.account("nobody.com").await.unwrap(), None);
    // A new score moves the account; a deleted one is gone from both reads.
    store.put_account("cold.net", 2_000, b"{}").await.unwrap();
    store.delete_account("acme.com").await.unwrap();
    store.delete_account("never.was").await.unwrap();
    assert_eq!(
        ranked(store, 2).await,
        [
            "cold.net",
            "hot.dev",
            "alpha.org",
            "zeta.io",
            "zero.co",
            "beta.org"
        ]
    );
    assert_eq!(store.account("acme.com").await.unwrap(), None);
    assert_eq!(
        store.account("cold.net").await.unwrap().unwrap(),
        b"{}".to_vec()
    );
    for limit in [0, MAX_PAGE + 1] {
        assert!(matches!(
            store.accounts_by_score(None, limit).await,
            Err(StoreError::InvalidLimit(l)) if l == limit
        ));
    }
    let r = record(0, "{}", &["segment:x", "segment:y"], "");
    assert!(store.put_handoff(&lead("cursor"), &r).await.unwrap());
    let (_, members_cursor) = store.members("segment:x", None, 1).await.unwrap();
    let (_, accounts_cursor) = store.accounts_by_score(None, 1).await.unwrap();
    assert!(accounts_cursor.is_some());
    for cursor in ["", "garbage", "e30"] {
        assert!(matches!(
            store.accounts_by_score(Some(cursor), 2).await,
            Err(StoreError::InvalidCursor)
        ));
    }
    // Cursors are not interchangeable.
    if let Some(c) = members_cursor {
        assert!(matches!(
            store.accounts_by_score(Some(&c), 2).await,
            Err(StoreError::InvalidCursor)
        ));
    }
    let c = accounts_cursor.unwrap();
    assert!(matches!(
        store.members("segment:x", Some(&c), 2).await,
        Err(StoreError::InvalidCursor)
    ));
    assert!(store.put_account("", 1, b"{}").await.is_err());
}

async fn ranked(store: &dyn LeadStore, limit: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store
            .accounts_by_score(cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        out.extend(page.into_iter().map(|(domain, _)| domain));
        match next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

pub async fn erasure_removes_the_handoff_and_refuses_later_puts(store: &dyn LeadStore) {
    let r = rules();
    let applied = store
        .apply(
            &ev(
                "h1",
                Signal::DemoRequested,
                t(0),
                Some("handed@acme.io"),
                None,
            ),
            &r,
            t(0),
        )
        .await
        .unwrap();
    let id = applied.lead_id;
    let stays = lead("stays");
    let rec = record(0, "{}", &["segment:gone", "domain:acme.io"], "{}");
    assert!(store.put_handoff(&id, &rec).await.unwrap());
    assert!(store.put_handoff(&stays, &rec).await.unwrap());
    store.put_account("acme.io", 10, b"{}").await.unwrap();
    assert_eq!(store.erased_at(&id).await.unwrap(), None);
    let erased = store
        .erase(&LeadKey::Id(id.clone()), t(5), ERASE_BUDGET)
        .await
        .unwrap();
    assert_eq!(erased, Erasure::Done);
    assert_eq!(store.erased_at(&id).await.unwrap(), Some(t(5)));
    assert_eq!(store.erased_at(&stays).await.unwrap(), None);
    assert_eq!(store.handoff(&id).await.unwrap(), None);
    assert_eq!(ids(store, "segment:gone").await, vec![stays.clone()]);
    assert_eq!(ids(store, "domain:acme.io").await, vec![stays.clone()]);
    for version in [0, 1] {
        let late = record(version, "{}", &["segment:gone"], "{}");
        assert!(!store.put_handoff(&id, &late).await.unwrap(), "{version}");
    }
    assert_eq!(store.handoff(&id).await.unwrap(), None);
    assert_eq!(ids(store, "segment:gone").await, vec![stays]);
    // A put that read an older marker than the one there now (none, or another time) is
    // refused; one that read this marker goes in: a person who came back after the erasure.
    let stale = HandoffRecord {
        erased_seen: Some(t(4)),
        ..record(0, "{}", &[], "{}")
    };
    assert!(!store.put_handoff(&id, &stale).await.unwrap());
    let returned = HandoffRecord {
        erased_seen: Some(t(5)),
        ..record(0, "{}", &[], "{}")
    };
    assert!(store.put_handoff(&id, &returned).await.unwrap());
    assert_eq!(store.handoff(&id).await.unwrap().unwrap().version, 1);
    // What the hand-off wrote is no analysis record: a full read still succeeds.
    let mut reading = store.read_records(ReadBudget {
        until: None,
        segments: 2,
        max_read_units_per_second: 0.0,
    });
    let mut records = Vec::new();
    while let Some(record) = reading.records.recv().await {
        records.push(record.unwrap());
    }
    assert!(reading.complete());
    assert_eq!(
        records,
        vec![Record::Erased { id, at: t(5) }],
        "the marker only: entries purged, hand-off items skipped"
    );
}

/// Members of one index, `n` of them, with neighbouring indexes around it.
async fn paging_returns_every_member_once(store: &dyn LeadStore, n: usize, limit: u32) {
    let mut everyone = Vec::new();
    for i in 0..n {
        let id = lead(&format!("p{i}"));
        let names: &[&str] = match i % 3 {
            0 => &["seg:a", "seg:"],
            1 => &["seg:a", "seg:ab"],
            _ => &["seg:a"],
        };
        assert!(store
            .put_handoff(&id, &record(0, "", names, ""))
            .await
            .unwrap());
        everyone.push(id);
    }
    everyone.sort();
    let paged: Vec<LeadId> = all_members(store, "seg:a", limit)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(paged, everyone, "{n} members in pages of {limit}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn embedded_members_pages_hold_every_member_once(n in 0usize..40, limit in 1u32..=MAX_PAGE) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let fixture = embedded().await;
            paging_returns_every_member_once(fixture.store.as_ref(), n, limit).await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 6,
        // Each case creates a table in DynamoDB Local: keep shrinking short.
        max_shrink_iters: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn dynamodb_members_pages_hold_every_member_once(n in 0usize..30, limit in 1u32..=12) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let fixture = super::dynamodb().await;
            paging_returns_every_member_once(fixture.store.as_ref(), n, limit).await;
        });
    }
}
