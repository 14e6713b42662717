//! Stitching: the first event naming both an email and an anonymous id the lead does not
//! answer for yet makes the visitor's id an alias of the lead and absorbs its history.

use crate::engine::{fold, fresh, Backend};
use crate::records::{LedgerEntry, Publish, Snapshot};
use crate::{CommitError, StoreError};
use leadscore_scoring::{AnonymousId, Event, LeadId, LeadState, Rules, Timestamp};

pub(crate) fn absorb(lead: &mut LeadState, stitched: &Stitched, rules: &Rules, now: Timestamp) {
    if let Some(visitor) = &stitched.visitor {
        lead.absorb_visitor(visitor, rules, now);
    }
    lead.anonymous_ids.insert(stitched.anon.clone());
}

/// A visitor to absorb: its anonymous id and its history, if it had one.
pub(crate) struct Stitched {
    pub anon: AnonymousId,
    pub visitor: Option<LeadState>,
}

/// The first event naming both an email and an anonymous id the lead does not answer for yet
/// stitches: the visitor's id becomes an alias of the lead (unless it already belongs to
/// someone: two identified leads are never merged), then its history is absorbed. Alias
/// first, so that a visitor event racing the stitch is either read here or copied to the
/// lead by its own writer.
pub(crate) async fn stitch<B: Backend + ?Sized>(
    backend: &B,
    home: &LeadId,
    state: &LeadState,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<Stitched>, StoreError> {
    let (Some(_), Some(anon)) = (&event.identity.email, &event.identity.anonymous_id) else {
        return Ok(None);
    };
    let visitor = LeadId::for_visitor(anon);
    if visitor == *home || state.anonymous_ids.contains(anon) {
        return Ok(None);
    }
    if !backend.alias(&visitor, home).await? {
        // Already an alias: of this lead (a retry after a crash: absorb again, harmlessly),
        // or of another lead (left there).
        if backend.view(&visitor).await?.alias.as_ref() != Some(home) {
            return Ok(None);
        }
    }
    let unlist = Publish {
        unlist: true,
        ..Publish::default()
    };
    match backend.publish(&visitor, unlist).await {
        Ok(()) | Err(CommitError::Conflict) => {}
        Err(CommitError::Store(e)) => return Err(e),
    }
    Ok(Some(Stitched {
        anon: anon.clone(),
        visitor: visitor_state(backend, event, rules, now).await?,
    }))
}

/// The anonymous visitor an event names, folded from its own records (not its alias).
async fn visitor_state<B: Backend + ?Sized>(
    backend: &B,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<LeadState>, StoreError> {
    let Some(anon) = &event.identity.anonymous_id else {
        return Ok(None);
    };
    let visitor = LeadId::for_visitor(anon);
    let view = backend.view(&visitor).await?;
    Ok(fold(backend, &visitor, &view, rules, now)
        .await?
        .map(|f| f.state))
}

/// The lead's snapshot with a stitched visitor absorbed, and its watermark. Without a
/// snapshot yet, the visitor's own state, now this lead's, is where the lead starts.
pub(crate) fn stitched_base(
    home: &LeadId,
    base: Option<Snapshot>,
    stitched: &Stitched,
    entry: &LedgerEntry,
    rules: &Rules,
) -> (String, LeadState) {
    match base {
        Some(s) => {
            let mut lead = s.state;
            absorb(&mut lead, stitched, rules, entry.applied_at);
            (s.watermark, lead)
        }
        None => {
            let mut lead = match &stitched.visitor {
                Some(v) => v.clone(),
                None => fresh(home, &entry.event),
            };
            lead.id = home.clone();
            lead.email.clone_from(&entry.event.identity.email);
            lead.anonymous_ids = [stitched.anon.clone()].into();
            lead.rules = rules.fingerprint().to_string();
            (String::new(), lead)
        }
    }
}
