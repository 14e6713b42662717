//! Group commit: redb makes one fsync per write transaction, so the writes of concurrent
//! requests share one. A caller queues its write; whoever finds no committer running starts
//! one (a blocking task), which takes every write queued, applies them in order in one
//! `WriteTransaction`, commits once, then answers each: a write is answered only once the
//! commit holding it is durable, and readers never see it before (redb shows a transaction
//! to readers once it is committed).
//!
//! A write's failure must not fail the others. A write that refuses (`CommitError::Conflict`,
//! a condition that does not hold) has written nothing by contract: every primitive checks its
//! conditions before its first insert, as a DynamoDB condition would. A write that fails
//! otherwise (storage, an unreadable record) may have written half: then the group's
//! transaction is dropped and each of its writes runs again in a transaction of its own, as
//! before group commit. That is why a write is `Fn`: it may run twice, the first run undone.

use super::{unavailable, Tx};
use crate::{CommitError, StoreError};
use redb::Database;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::oneshot;

/// How one run of a write went, for the group's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// Done, or refused having written nothing: the group goes on.
    Kept,
    /// Failed, maybe half-way: the group is undone and its writes run one by one.
    Failed,
}

/// A queued write with its answer.
trait Write: Send {
    fn run(&mut self, tx: &Tx<'_>) -> Ran;
    /// Answers the caller; `committed`: how the commit holding this run went.
    fn answer(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct Queued<T, F> {
    f: F,
    out: Option<Result<T, CommitError>>,
    reply: oneshot::Sender<Result<T, CommitError>>,
}

impl<T, F> Write for Queued<T, F>
where
    T: Send,
    F: Fn(&Tx<'_>) -> Result<T, CommitError> + Send,
{
    fn run(&mut self, tx: &Tx<'_>) -> Ran {
        let out = (self.f)(tx);
        let ran = match &out {
            Ok(_) | Err(CommitError::Conflict) => Ran::Kept,
            Err(CommitError::Store(_)) => Ran::Failed,
        };
        self.out = Some(out);
        ran
    }

    fn answer(self: Box<Self>, committed: Result<(), &StoreError>) {
        let out = match (self.out, committed) {
            // A refusal or a failure is the write's own answer, whatever became of the commit.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(CommitError::Store(e.clone())),
            (None, _) => Err(CommitError::Store(StoreError::Internal(
                "a queued write was never run".into(),
            ))),
        };
        // The caller may have gone (its request dropped): what was written stays written.
        let _ = self.reply.send(out);
    }
}

/// The queue of writes waiting for the next commit.
#[derive(Default)]
pub(super) struct Group {
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    writes: Vec<Box<dyn Write>>,
    /// A committer is running: it will take what is queued.
    committing: bool,
}

/// The most writes one transaction takes (the rest wait for the next commit), so that one
/// commit's answers do not wait on an unbounded transaction.
const MOST_PER_COMMIT: usize = 512;

/// A write and how the commit holding it went.
type Done = (Box<dyn Write>, Result<(), StoreError>);

impl Group {
    /// Queues `f`, to run in the next group's transaction; answered once that is durable.
    pub(super) async fn write<T, F>(
        self: &Arc<Self>,
        db: &Arc<Database>,
        f: F,
    ) -> Result<T, CommitError>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T, CommitError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.state.lock().unwrap_or_else(|p| p.into_inner());
            queue.writes.push(Box::new(Queued {
                f,
                out: None,
                reply,
            }));
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            // Weak: the database closes when the last store handle goes, not when the
            // committer's task ends (a caller answered may reopen the file at once).
            let (group, db) = (self.clone(), Arc::downgrade(db));
            tokio::task::spawn_blocking(move || group.commit_all(&db));
        }
        answer.await.unwrap_or_else(|_| {
            Err(CommitError::Store(StoreError::Internal(
                "a store write was dropped before its commit".into(),
            )))
        })
    }

    /// Commits groups until the queue is empty.
    fn commit_all(&self, db: &Weak<Database>) {
        loop {
            let writes = {
                let mut queue = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if queue.writes.is_empty() {
                    queue.committing = false;
                    return;
                }
                let n = queue.writes.len().min(MOST_PER_COMMIT);
                queue.writes.drain(..n).collect::<Vec<_>>()
            };
            // A write that panics loses its group's answers (their callers get an error), not
            // the committer: the queue goes on.
            let group = std::panic::AssertUnwindSafe(|| match db.upgrade() {
                Some(db) => commit(&db, writes),
                None => {
                    let closed = unavailable("closed");
                    writes
                        .into_iter()
                        .map(|w| (w, Err(closed.clone())))
                        .collect()
                }
            });
            match std::panic::catch_unwind(group) {
                // Answered once this task holds the database no more.
                Ok(done) => done
                    .into_iter()
                    .for_each(|(w, c)| w.answer(c.as_ref().map(|_| ()))),
                Err(_) => tracing::error!("a store write panicked; its group was not committed"),
            }
        }
    }
}

/// One group: applied in order in one transaction and committed once; if a write fails,
/// undone and applied one transaction per write.
fn commit(db: &Database, mut writes: Vec<Box<dyn Write>>) -> Vec<Done> {
    let together = (|| -> Result<bool, StoreError> {
        let tx = db.begin_write().map_err(unavailable)?;
        {
            // The group's writes share its tables, opened once (closed before the commit).
            let tables = Tx::new(&tx);
            for write in writes.iter_mut() {
                if write.run(&tables) == Ran::Failed {
                    // Dropped: redb aborts the transaction, nothing of the group is kept.
                    return Ok(false);
                }
            }
        }
        tx.commit().map_err(unavailable)?;
        Ok(true)
    })();
    match together {
        Ok(true) => writes.into_iter().map(|w| (w, Ok(()))).collect(),
        Ok(false) => writes.into_iter().map(|w| alone(db, w)).collect(),
        Err(e) => writes.into_iter().map(|w| (w, Err(e.clone()))).collect(),
    }
}

/// One write in a transaction of its own, committed unless it failed or refused (as every
/// write was before group commit).
fn alone(db: &Database, mut write: Box<dyn Write>) -> Done {
    let tx = match db.begin_write().map_err(unavailable) {
        Ok(tx) => tx,
        Err(e) => return (write, Err(e)),
    };
    if write.run(&Tx::new(&tx)) == Ran::Failed {
        drop(tx);
        return (write, Ok(()));
    }
    let committed = tx.commit().map_err(unavailable);
    (write, committed)
}

#[cfg(test)]
mod tests {
    use super::super::Embedded;
    use super::*;
    use redb::TableDefinition;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const KEYS: TableDefinition<&str, u64> = TableDefinition::new("group_test");

    fn put(tx: &Tx<'_>, key: &str, value: u64) -> Result<(), CommitError> {
        let mut table = tx.raw().open_table(KEYS).map_err(unavailable)?;
        table.insert(key, value).map_err(unavailable)?;
        Ok(())
    }

    fn read(store: &Embedded, key: &str) -> Option<u64> {
        let tx = store.db.begin_read().unwrap();
        let table = tx.open_table(KEYS).unwrap();
        let value = table.get(key).unwrap();
        value.map(|v| v.value())
    }

    /// Writes queued behind a slow one share the next commit; one of them fails half-way
    /// (it wrote, then failed), one refuses. The group is undone and applied one write at a
    /// time: the others land, the failure's half-write does not, each caller gets its own
    /// answer, and a refusal alone does not undo a group.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_in_a_group_loses_nothing_of_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(dir.path()).unwrap();
        let slow = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(|tx| {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        put(tx, "slow", 0)
                    })
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let failing_runs = Arc::new(AtomicUsize::new(0));
        let refusing_runs = Arc::new(AtomicUsize::new(0));
        let mut writes = Vec::new();
        for n in 0..40u64 {
            let store = store.clone();
            let (failing_runs, refusing_runs) = (failing_runs.clone(), refusing_runs.clone());
            writes.push(tokio::spawn(async move {
                store
                    .write(move |tx| match n {
                        13 => {
                            failing_runs.fetch_add(1, Ordering::SeqCst);
                            put(tx, "half-written", n)?;
                            Err(CommitError::Store(StoreError::Internal("broken".into())))
                        }
                        27 => {
                            refusing_runs.fetch_add(1, Ordering::SeqCst);
                            Err(CommitError::Conflict)
                        }
                        _ => put(tx, &format!("k{n}"), n).map(|_| n),
                    })
                    .await
            }));
        }
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap());
        }
        slow.await.unwrap().unwrap();
        for (n, answer) in answers.iter().enumerate() {
            match n {
                13 => assert!(matches!(answer, Err(CommitError::Store(_))), "{answer:?}"),
                27 => assert!(matches!(answer, Err(CommitError::Conflict)), "{answer:?}"),
                _ => assert_eq!(answer.as_ref().ok(), Some(&(n as u64))),
            }
        }
        // The 40 writes queued while the slow one ran went in one group, which the failure
        // undid: it ran once in the group and once alone; the refusal ran alone, and in the
        // group too if it was queued before the failure (the tasks queue in any order).
        assert_eq!(failing_runs.load(Ordering::SeqCst), 2);
        assert!((1..=2).contains(&refusing_runs.load(Ordering::SeqCst)));
        assert_eq!(read(&store, "half-written"), None);
        assert_eq!(read(&store, "slow"), Some(0));
        for n in (0..40u64).filter(|n| *n != 13 && *n != 27) {
            assert_eq!(read(&store, &format!("k{n}")), Some(n), "k{n}");
        }

        // A group with a refusal and no failure commits at once: the refusal runs once.
        let refusing_runs = Arc::new(AtomicUsize::new(0));
        let mut writes = Vec::new();
        for n in 0..20u64 {
            let store = store.clone();
            let refusing_runs = refusing_runs.clone();
            writes.push(tokio::spawn(async move {
                store
                    .write(move |tx| {
                        if n == 5 {
                            refusing_runs.fetch_add(1, Ordering::SeqCst);
                            return Err(CommitError::Conflict);
                        }
                        put(tx, &format!("r{n}"), n)
                    })
                    .await
            }));
        }
        for (n, write) in writes.into_iter().enumerate() {
            let answer = write.await.unwrap();
            assert_eq!(answer.is_ok(), n != 5, "{n}: {answer:?}");
        }
        assert_eq!(refusing_runs.load(Ordering::SeqCst), 1);
        assert_eq!(read(&store, "r19"), Some(19));
        assert_eq!(read(&store, "r5"), None);
    }

    /// Answered means committed: a store dropped right after its writes are answered opens
    /// again at once (the committer holds no handle) with every write in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answered_writes_are_in_the_file_when_it_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..5u64 {
            let store = Embedded::open(dir.path()).unwrap();
            let writes: Vec<_> = (0..50u64)
                .map(|n| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .write(move |tx| put(tx, &format!("{round}-{n}"), n))
                            .await
                    })
                })
                .collect();
            for write in writes {
                write.await.unwrap().unwrap();
            }
            drop(store);
            let store = Embedded::open(dir.path()).unwrap();
            for n in 0..50u64 {
                assert_eq!(read(&store, &format!("{round}-{n}")), Some(n));
            }
        }
    }
}
