//! Reading a whole table for an analysis: a parallel Scan paced to a read-capacity budget,
//! and the suppression list.

use super::items::{suppression_of, SUPPRESSED_PK};
use super::{s, sdk_error, Dynamo, Item};
use crate::record::RECORDS_BUFFER;
use crate::{Record, ScanProgress, StoreError};
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
        let (tx, rx) = mpsc::channel(RECORDS_BUFFER);
        let segments = segments.max(1);
        let rate = if max_read_units_per_second > 0.0 {
            max_read_units_per_second
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
            tokio::spawn(async move {
                let share = rate / f64::from(segments);
                let read = store.scan_segment(segment, segments, share, &pacer, &*progress, &tx);
                if let Err(e) = read.await {
                    let _ = tx.send(Err(e)).await;
                }
            });
        }
        rx
    }

    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        share: f64,
        pacer: &Pacer,
        progress: &(impl Fn(ScanProgress) + ?Sized),
        tx: &mpsc::Sender<Result<Record, StoreError>>,
    ) -> Result<(), StoreError> {
        let mut start: Option<Item> = None;
        let mut limit = FIRST_PAGE;
        loop {
            tokio::time::sleep_until(pacer.ready_at()).await;
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(segment as i32)
                .total_segments(segments as i32)
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
            if !items.is_empty() && units > 0.0 && share.is_finite() {
                let per_item = units / items.len() as f64;
                limit = (share / per_item).clamp(1.0, 1_000.0) as i32;
            } else if !share.is_finite() {
                limit = 1_000;
            }
            for item in items {
                if let Some(record) = Dynamo::record_of_item(item)? {
                    if tx.send(Ok(record)).await.is_err() {
                        return Ok(()); // the reader stopped
                    }
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => {
                    progress(pacer.spend(units, items.len() as u64, false));
                    start = Some(k.clone());
                }
                _ => {
                    progress(pacer.spend(units, items.len() as u64, true));
                    return Ok(());
                }
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
