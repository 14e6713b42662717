//! The write transaction a write closure is given: redb's, with each table opened once. A
//! group's writes (`group.rs`) share one transaction, and opening a redb table (a lookup in
//! its table of tables, then writing the root back when it closes) costs about what a small
//! write does; an append opens five. Here a table is opened on its first use in the
//! transaction and stays open until the group is done (closed before the commit). The
//! outbox's sequence counter is read once per transaction too (`next_dirty_seq`), and still
//! written with every number it issues.
//!
//! One table is open once at a time, as redb has it: a closure holding a table that asks for
//! it again gets an error (redb's `TableAlreadyOpen` before), never two handles.

use super::*;
use std::cell::{Cell, RefCell, RefMut};

/// A table of this transaction, opened once; borrowed for as long as the handle lives.
pub(super) type Open<'a, 't, K, V> = RefMut<'a, redb::Table<'t, K, V>>;

macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident: $def:expr => $k:ty, $v:ty;)*) => {
        pub(super) struct Tx<'t> {
            tx: &'t redb::WriteTransaction,
            $($name: RefCell<Option<redb::Table<'t, $k, $v>>>,)*
            /// The outbox's last sequence number as this transaction has written it.
            dirty_seq: Cell<Option<u64>>,
        }

        impl<'t> Tx<'t> {
            /// Tables open in `tx` until this is dropped (before `tx` commits).
            pub(super) fn new(tx: &'t redb::WriteTransaction) -> Self {
                Tx {
                    tx,
                    $($name: RefCell::new(None),)*
                    dirty_seq: Cell::new(None),
                }
            }

            $(
                $(#[$doc])*
                pub(super) fn $name(&self) -> Result<Open<'_, 't, $k, $v>, StoreError> {
                    open(&self.$name, stringify!($name), || self.tx.open_table($def))
                }
            )*
        }
    };
}

tables! {
    entries: ENTRIES => &'static str, &'static [u8];
    arrivals: ARRIVALS => &'static str, &'static str;
    snapshots: SNAPSHOTS => &'static str, &'static [u8];
    stage_index: STAGE_INDEX => &'static str, &'static str;
    stage_of: STAGE_OF => &'static str, &'static str;
    aliases: ALIASES => &'static str, &'static str;
    erased: ERASED => &'static str, &'static [u8];
    suppressed: SUPPRESSED => &'static str, i64;
    deliveries: DELIVERIES => &'static str, (&'static str, i64);
    handoff: handoff::HANDOFF => &'static str, handoff::Stored;
    members: handoff::MEMBERS => (&'static str, &'static str), &'static [u8];
    accounts: handoff::ACCOUNTS => &'static str, (i64, &'static [u8]);
    accounts_by_score: handoff::ACCOUNTS_BY_SCORE => &'static str, &'static str;
    dirty_order: handoff::DIRTY_ORDER => u64, &'static str;
    counters: handoff::COUNTERS => &'static str, u64;
}

impl<'t> Tx<'t> {
    /// A new sequence number for the outbox (`handoff::mark_dirty`), written at once as the
    /// last one issued; the stored one is read once per transaction.
    pub(super) fn next_dirty_seq(&self) -> Result<u64, StoreError> {
        let mut counters = self.counters()?;
        let last = match self.dirty_seq.get() {
            Some(seq) => seq,
            None => counters
                .get(handoff::DIRTY_SEQ)
                .map_err(unavailable)?
                .map_or(0, |v| v.value()),
        };
        let seq = last + 1;
        counters
            .insert(handoff::DIRTY_SEQ, seq)
            .map_err(unavailable)?;
        self.dirty_seq.set(Some(seq));
        Ok(seq)
    }

    /// redb's transaction, for a table not listed above (tests' own tables): open it at most
    /// once at a time, as with redb.
    #[cfg(test)]
    pub(super) fn raw(&self) -> &'t redb::WriteTransaction {
        self.tx
    }
}

fn open<'a, T>(
    slot: &'a RefCell<Option<T>>,
    name: &str,
    open: impl FnOnce() -> Result<T, redb::TableError>,
) -> Result<RefMut<'a, T>, StoreError> {
    let twice = || StoreError::Internal(format!("table {name} opened twice at once"));
    let mut table = slot.try_borrow_mut().map_err(|_| twice())?;
    if table.is_none() {
        *table = Some(open().map_err(unavailable)?);
    }
    RefMut::filter_map(table, Option::as_mut).map_err(|_| twice())
}
