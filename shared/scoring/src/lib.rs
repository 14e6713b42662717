//! leadscore's pure core: every piece of marketing logic, and nothing else.
//!
//! Invariants (see ARCHITECTURE.md): no I/O, no clock reads (time is always an argument), no
//! AWS or HTTP types. `apply` and `score` are deterministic functions of their arguments.

mod bant;
mod event;
mod identity;
mod profile;
mod signal;
mod stage;
mod timestamp;

pub use bant::{Bant, BantAnswer, BantSource, BantUpdate};
pub use event::{Attributes, BotVerdict, Event};
pub use identity::{
    lead_ids_keyed, set_lead_id_key, AnonymousId, Email, EventId, Identity, IdentityError, LeadId,
};
pub use profile::{EmailDomainKind, Profile};
pub use signal::{Signal, SignalKind, UnknownSignal};
pub use stage::{Cause, Stage, Transition, UnknownStage};
pub use timestamp::{Timestamp, TimestampError, MILLIS_PER_DAY, MILLIS_PER_SECOND};

mod bots;
mod compact;
mod encoding;
pub use compact::MAX_WINDOW_HITS;
pub use encoding::STATE_FORMAT;
mod engine;
mod fold;
mod points;
mod rules;
mod state;

pub use engine::{
    allowed_sales_signals, apply, clamped, fold_event, rebuild, score, Contribution, Grade,
    InvalidTransition, Outcome, ScoreBreakdown,
};
pub use rules::{
    BantStatus, OverShipped, Rules, RulesError, RulesFile, DEFAULT_RULES_TOML, MIN_LATENESS_DAYS,
    RULES_VERSION,
};
pub use state::{Checkpoint, Disqualification, Fact, Funnel, Hit, LeadState, Summary, Superseded};
