//! Leads folded lately, kept in memory so that the next event of a lead folds only itself.
//!
//! A lead's fold is a function of its snapshot and of the live tail entries after it, in
//! arrival order. A cached fold is reused only when the view read now has the very snapshot
//! (version and watermark) and rules it was folded with, and its tail starts with exactly the
//! entries the cached fold took in: anything else (a concurrent writer's entry landing in
//! between, an erasure, a rules change) is a miss and the lead is folded from its snapshot.
//! A snapshot written from anything but the fold (a visitor stitched in) forgets the lead.

use leadscore_scoring::{LeadId, LeadState};
use std::collections::HashMap;
use std::sync::Mutex;

/// Leads kept (then the cache starts over): a busy lead's state is tens of KB.
const CACHED_LEADS: usize = 1_024;

/// What a fold started from: the snapshot (version, watermark, events folded in) and the
/// rules' fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Base {
    pub snapshot: Option<(u64, String, u64)>,
    pub rules: String,
}

struct Cached {
    base: Base,
    /// Arrival keys of the tail entries folded in, in order.
    keys: Vec<String>,
    state: LeadState,
}

#[derive(Default)]
pub(crate) struct FoldCache {
    leads: Mutex<HashMap<LeadId, Cached>>,
}

impl FoldCache {
    /// The cached fold of `id` if it started from `base` and took in a prefix of `keys`:
    /// how many of them, and the state.
    pub fn take(&self, id: &LeadId, base: &Base, keys: &[String]) -> Option<(usize, LeadState)> {
        let mut leads = self.leads.lock().unwrap_or_else(|p| p.into_inner());
        let cached = leads.remove(id)?;
        let prefix =
            keys.len() >= cached.keys.len() && cached.keys[..] == keys[..cached.keys.len()];
        (cached.base == *base && prefix).then_some((cached.keys.len(), cached.state))
    }

    /// Forgets `id`: its snapshot was written from something other than its fold (a visitor
    /// stitched into it).
    pub fn forget(&self, id: &LeadId) {
        let mut leads = self.leads.lock().unwrap_or_else(|p| p.into_inner());
        leads.remove(id);
    }

    pub fn put(&self, id: &LeadId, base: Base, keys: Vec<String>, state: LeadState) {
        let mut leads = self.leads.lock().unwrap_or_else(|p| p.into_inner());
        if leads.len() >= CACHED_LEADS && !leads.contains_key(id) {
            leads.clear();
        }
        leads.insert(id.clone(), Cached { base, keys, state });
    }
}
