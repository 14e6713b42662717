//! Reading a whole table for an analysis: a parallel Scan paced to a read-capacity budget,
//! and the suppression list.

use super::items::{suppression_of, SUPPRESSED_PK};
use super::{attr, s, sdk_error, Dynamo, Item};
use crate::{ReadBudget, Reading, Record, ScanProgress, StoreError};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use leadscore_scoring::{LeadId, Timestamp};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};

/// Items asked for by a segment's first page; later pages are sized from what items cost.
const FIRST_PAGE: i32 = 25;

/// A budget too small to read anything in reasonable time still reads (slowly).
const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Capacity spent since the scan started, shared by its segments: a request waits until
/// the budget has caught up with what was spent before it.
struct Pacer {
    started: Instant,
    units_per_second: f64,
    state: Mutex<(f64, ScanProgress)>,
}

impl Pacer {
    fn ready_at(&self) -> Instant {
        let spent = self.state.lock().unwrap_or_else(|p| p.into_inner()).0;
        let wait = Duration::try_from_secs_f64(spent / self.units_per_second)
            .unwrap_or(Duration::MAX)
            .min(MAX_WAIT);
        self.started.checked_add(wait).unwrap_or_else(Instant::now)
    }

    fn spend(&self, units: f64, items: u64, segment_done: bool) -> ScanProgress {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += units;
        state.1.items += items;
        state.1.read_units += units;
        state.1.segments_done += u32::from(segment_done);
        state.1
    }
}

/// One segment's part of a Scan.
#[derive(Clone, Copy)]
struct Segment {
    segment: u32,
    segments: u32,
    /// Its share of the read capacity per second.
    share: f64,
    until: Option<Instant>,
}

impl Dynamo {
    /// Every record of the table (`Dynamo::record_of_item`), read by a parallel Scan of
    /// `segments` tasks (eventually consistent: half the capacity of a consistent read),
    /// paced so that the capacity DynamoDB reports consumed stays within
    /// `max_read_units_per_second` on average (a segment overshoots by at most one page;
    /// pages are sized to about a second of a segment's share). `progress` is called after
    /// every page. Records arrive in no particular order; an error ends its segment and is
    /// sent in the stream. Call within a Tokio runtime.
    pub fn scan_records(
        &self,
        segments: u32,
        max_read_units_per_second: f64,
        progress: impl Fn(ScanProgress) + Send + Sync + 'static,
    ) -> mpsc::Receiver<Result<Record, StoreError>> {
        let budget = ReadBudget {
            until: None,
            segments,
            max_read_units_per_second,
        };
        self.scan(budget, progress).records
    }

    /// `LeadStore::read_records`: `scan_records` within `budget`.
    pub(crate) fn read_within(&self, budget: ReadBudget) -> Reading {
        self.scan(budget, |_| {})
    }

    /// The Scan behind both: each segment stops at `budget.until`, or before a page the
    /// pace would start after it, and then leaves out the ledger it was in the middle of
    /// (a segment's items come one partition key after another, so a ledger is whole once
    /// the next key shows).
    fn scan(
        &self,
        budget: ReadBudget,
        progress: impl Fn(ScanProgress) + Send + Sync + 'static,
    ) -> Reading {
        let segments = budget.segments.max(1);
        let (reading, tx) = Reading::new(segments);
        let rate = if budget.max_read_units_per_second > 0.0 {
            budget.max_read_units_per_second
        } else {
            f64::INFINITY
        };
        let pacer = Arc::new(Pacer {
            started: Instant::now(),
            units_per_second: rate,
            state: Mutex::default(),
        });
        let progress = Arc::new(progress);
        for segment in 0..segments {
            let (store, tx, pacer, progress) =
                (self.clone(), tx.clone(), pacer.clone(), progress.clone());
            let completion = reading.completion.clone();
            let plan = Segment {
                segment,
                segments,
                share: rate / f64::from(segments),
                until: budget.until,
            };
            tokio::spawn(async move {
                match store.scan_segment(plan, &pacer, &*progress, &tx).await {
                    Ok(true) => completion.part_done(),
                    Ok(false) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                    }
                }
            });
        }
        reading
    }

    /// Reads one segment; `true` when it reached its end.
    async fn scan_segment(
        &self,
        plan: Segment,
        pacer: &Pacer,
        progress: &(impl Fn(ScanProgress) + ?Sized),
        tx: &mpsc::Sender<Result<Record, StoreError>>,
    ) -> Result<bool, StoreError> {
        let mut start: Option<Item> = None;
        let mut limit = FIRST_PAGE;
        // The records of the partition key being read, sent once the next key shows.
        let mut ledger: (Option<String>, Vec<Record>) = (None, Vec::new());
        loop {
            let ready = pacer.ready_at();
            if plan.until.is_some_and(|until| ready >= until) {
                return Ok(false);
            }
            tokio::time::sleep_until(ready).await;
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(plan.segment as i32)
                .total_segments(plan.segments as i32)
                .limit(limit)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let out = self.tally(out, false).map_err(sdk_error)?;
            let units: f64 = out
                .consumed_capacity()
                .map(|c| {
                    c.read_capacity_units()
                        .or(c.capacity_units())
                        .unwrap_or(0.0)
                })
                .unwrap_or(0.0);
            let items = out.items();
            if !items.is_empty() && units > 0.0 && plan.share.is_finite() {
                let per_item = units / items.len() as f64;
                limit = (plan.share / per_item).clamp(1.0, 1_000.0) as i32;
            } else if !plan.share.is_finite() {
                limit = 1_000;
            }
            for item in items {
                let pk = attr(item, "pk");
                if pk != ledger.0.as_deref() {
                    for record in ledger.1.drain(..) {
                        if tx.send(Ok(record)).await.is_err() {
                            return Ok(false); // the reader stopped
                        }
                    }
                    ledger.0 = pk.map(str::to_string);
                }
                ledger.1.extend(Dynamo::record_of_item(item)?);
            }
            let last = !matches!(out.last_evaluated_key(), Some(k) if !k.is_empty());
            progress(pacer.spend(units, items.len() as u64, last));
            if last {
                for record in ledger.1.drain(..) {
                    if tx.send(Ok(record)).await.is_err() {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            start = out.last_evaluated_key().cloned();
            if plan.until.is_some_and(|until| Instant::now() >= until) {
                return Ok(false);
            }
        }
    }

    /// Every person whose erasure was begun, with its time: one partition, read in full
    /// (consistent). Independent of `LeadStore`; see `record.rs` for what the list holds.
    pub async fn suppressions(&self) -> Result<Vec<(LeadId, Timestamp)>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(SUPPRESSED_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let page = self.tally(page, false).map_err(sdk_error)?;
            for item in page.items() {
                out.push(suppression_of(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}
