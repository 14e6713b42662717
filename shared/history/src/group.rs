//! Records in any order (an export is not sorted by lead) -> one `History` per lead, with
//! bounded memory:
//!
//! 1. Read every record once. Ledger entries go to one of `partitions` temporary files on
//!    disk by the id they were kept under; aliases and erasure markers stay in memory (a few
//!    per person at most, no events: far fewer than entries).
//! 2. If there are aliases, each partition is read once more and the entries of stitched
//!    visitors are copied to the partition of their lead (an entry may arrive before the
//!    alias that places it, so they cannot be placed while reading).
//! 3. One partition at a time: its entries by lead, without those an erasure covers, in the
//!    store's arrival order, each event once (a visitor's event after the stitch is in both
//!    ledgers): what `LeadStore::ledger` answers for the lead.
//!
//! An entry is left out when it is dated at or before the erasure of its id or of its lead,
//! as a marker among the records or the caller's suppression list says (people erased after
//! the export was taken, read from the live store). That is every entry the export holds of
//! such a person; only a person who came back after an erasure keeps the new events, as the
//! store itself does.

use crate::{io_error, HistoryError};
use leadscore_insights::History;
use leadscore_scoring::{Event, LeadId, Timestamp};
use leadscore_store::Record;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// How `group` works.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// People erased since the records were read: `suppressions()` of the live store.
    pub suppressed: Vec<(LeadId, Timestamp)>,
    /// Temporary files the entries are spread over: memory holds one of them at a time.
    pub partitions: usize,
    /// Where the temporary files go (the system's temporary folder by default).
    pub work_dir: Option<PathBuf>,
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            suppressed: Vec::new(),
            partitions: 64,
            work_dir: None,
        }
    }
}

/// What `group` read and made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub records: u64,
    pub histories: u64,
    /// Entries an erasure covers.
    pub erased_entries: u64,
}

/// One spilled ledger entry.
#[derive(Serialize, Deserialize)]
struct Spilled {
    id: LeadId,
    applied_ms: i64,
    event: Event,
}

fn partition_of(id: &LeadId, partitions: usize) -> usize {
    let h = id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (h % partitions as u64) as usize
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn path(&self, kind: &str, p: usize) -> PathBuf {
        self.dir.path().join(format!("{kind}-{p}.jsonl"))
    }

    fn writers(&self, kind: &str, n: usize) -> Result<Vec<BufWriter<File>>, HistoryError> {
        (0..n)
            .map(|p| {
                let path = self.path(kind, p);
                File::create(&path)
                    .map(BufWriter::new)
                    .map_err(io_error(&path))
            })
            .collect()
    }
}

fn spill(out: &mut BufWriter<File>, entry: &Spilled, path: &Path) -> Result<(), HistoryError> {
    serde_json::to_writer(&mut *out, entry)
        .map_err(|e| HistoryError::Format(format!("spill: {e}")))?;
    out.write_all(b"\n").map_err(io_error(path))
}

fn read_spilled(
    path: &Path,
    mut f: impl FnMut(Spilled) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let file = File::open(path).map_err(io_error(path))?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(io_error(path))?;
        let entry =
            serde_json::from_str(&line).map_err(|e| HistoryError::Format(format!("spill: {e}")))?;
        f(entry)?;
    }
    Ok(())
}

fn finish(writers: Vec<BufWriter<File>>, dir: &Path) -> Result<(), HistoryError> {
    for mut w in writers {
        w.flush().map_err(io_error(dir))?;
    }
    Ok(())
}

/// `group`, with the histories handed to `analyse` as they come (on a blocking thread of
/// its own, through a bounded channel): what `leadscore insights|replay|learn` and
/// `GET /insights` run. `progress` as for `group`.
pub async fn analyse<E, T>(
    records: mpsc::Receiver<Result<Record, E>>,
    options: GroupOptions,
    progress: impl FnMut(u64) + Send + 'static,
    analyse: impl FnOnce(&mut dyn Iterator<Item = History>) -> T + Send + 'static,
) -> Result<(T, GroupStats), HistoryError>
where
    E: Send + 'static,
    HistoryError: From<E>,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel::<History>(1024);
    let grouping = tokio::task::spawn_blocking(move || {
        group(records, &options, progress, |h| {
            // The analysis stopping early is not an error of the grouping.
            let _ = tx.send(h);
            Ok(())
        })
    });
    let analysis = tokio::task::spawn_blocking(move || analyse(&mut rx.into_iter()));
    let joined = |e: tokio::task::JoinError| HistoryError::Format(format!("analysis: {e}"));
    let stats = grouping.await.map_err(joined)?;
    let out = analysis.await.map_err(joined)?;
    Ok((out, stats?))
}

/// Groups `records` into one history per lead (see the module's doc), calling `emit` for
/// each, leads of one partition at a time (in lead id order within it), and `progress` with
/// the records read so far. Blocking (disk work and `blocking_recv`): run it in
/// `tokio::task::spawn_blocking` or a thread of its own.
pub fn group<E>(
    mut records: mpsc::Receiver<Result<Record, E>>,
    options: &GroupOptions,
    mut progress: impl FnMut(u64),
    mut emit: impl FnMut(History) -> Result<(), HistoryError>,
) -> Result<GroupStats, HistoryError>
where
    HistoryError: From<E>,
{
    let n = options.partitions.max(1);
    let dir = match &options.work_dir {
        Some(d) => tempfile::tempdir_in(d).map_err(io_error(d))?,
        None => tempfile::tempdir().map_err(io_error(Path::new("temporary folder")))?,
    };
    let files = Files { dir };
    let mut stats = GroupStats::default();
    let mut aliases: HashMap<LeadId, LeadId> = HashMap::new();
    let mut erased: HashMap<LeadId, Timestamp> = HashMap::new();
    for (id, at) in &options.suppressed {
        let e = erased.entry(id.clone()).or_insert(*at);
        *e = (*e).max(*at);
    }
    let mut parts = files.writers("entries", n)?;
    while let Some(record) = records.blocking_recv() {
        stats.records += 1;
        match record? {
            Record::Entry {
                id,
                applied_at,
                event,
            } => {
                let p = partition_of(&id, n);
                let entry = Spilled {
                    id,
                    applied_ms: applied_at.millis(),
                    event,
                };
                spill(&mut parts[p], &entry, &files.path("entries", p))?;
            }
            Record::Alias { visitor, lead } => {
                aliases.insert(visitor, lead);
            }
            Record::Erased { id, at } => {
                let e = erased.entry(id).or_insert(at);
                *e = (*e).max(at);
            }
        }
        if stats.records % 1_000 == 0 {
            progress(stats.records);
        }
    }
    progress(stats.records);
    finish(parts, files.dir.path())?;

    if !aliases.is_empty() {
        let mut moved = files.writers("moved", n)?;
        for p in 0..n {
            read_spilled(&files.path("entries", p), |entry| {
                match aliases.get(&entry.id) {
                    Some(lead) => {
                        let q = partition_of(lead, n);
                        spill(&mut moved[q], &entry, &files.path("moved", q))
                    }
                    None => Ok(()),
                }
            })?;
        }
        finish(moved, files.dir.path())?;
    }

    let cutoff = |id: &LeadId| erased.get(id).copied();
    for p in 0..n {
        let mut leads: BTreeMap<LeadId, Vec<(i64, Event)>> = BTreeMap::new();
        let mut take = |home: LeadId, entry: Spilled| {
            let covered = [cutoff(&entry.id), cutoff(&home)]
                .into_iter()
                .flatten()
                .any(|at| entry.event.occurred_at <= at);
            if covered {
                stats.erased_entries += 1;
            } else {
                leads
                    .entry(home)
                    .or_default()
                    .push((entry.applied_ms.max(0), entry.event));
            }
        };
        read_spilled(&files.path("entries", p), |entry| {
            if !aliases.contains_key(&entry.id) {
                take(entry.id.clone(), entry);
            }
            Ok(())
        })?;
        if !aliases.is_empty() {
            read_spilled(&files.path("moved", p), |entry| {
                if let Some(lead) = aliases.get(&entry.id) {
                    take(lead.clone(), entry);
                }
                Ok(())
            })?;
        }
        for (lead, mut entries) in leads {
            // The store's arrival order (`<applied at>#<event id>`), each event once.
            entries.sort_by(|a, b| (a.0, a.1.id.as_str()).cmp(&(b.0, b.1.id.as_str())));
            let mut seen = BTreeSet::new();
            let events = entries
                .into_iter()
                .filter(|(_, e)| seen.insert(e.id.clone()))
                .map(|(_, e)| e)
                .collect();
            stats.histories += 1;
            emit(History { lead, events })?;
        }
    }
    Ok(stats)
}
