//! BANT: budget, authority, need, timeline.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a BANT answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BantSource {
    #[default]
    Form,
    Chatbot,
    SalesCall,
}

/// One answer with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BantAnswer<T> {
    pub value: T,
    pub source: BantSource,
    pub at: Timestamp,
}

/// What is known of a lead's BANT. Completeness is judged by the rules, not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bant {
    /// Budget in whole currency units (the rules file names the currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BantAnswer<u64>>,
    /// The person's role in the decision, e.g. "decision_maker", "cto".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<BantAnswer<String>>,
    /// The problem they want solved, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<BantAnswer<String>>,
    /// Months until they intend to buy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_months: Option<BantAnswer<u32>>,
}

/// BANT answers carried by one event (a form, a chat, a sales call).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BantUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_months: Option<u32>,
    #[serde(default)]
    pub source: BantSource,
}

impl BantUpdate {
    pub fn is_empty(&self) -> bool {
        self.budget.is_none()
            && self.authority.is_none()
            && self.need.is_none()
            && self.timeline_months.is_none()
    }
}

impl Bant {
    /// Records the answers of `update` made at `at`. A later answer replaces an earlier one; an
    /// answer older than the one on record (a late delivery) is ignored.
    pub fn record(&mut self, update: &BantUpdate, at: Timestamp) {
        fn set<T: Clone>(
            slot: &mut Option<BantAnswer<T>>,
            v: &Option<T>,
            src: BantSource,
            at: Timestamp,
        ) {
            if let Some(value) = v {
                if slot.as_ref().is_none_or(|old| old.at <= at) {
                    *slot = Some(BantAnswer {
                        value: value.clone(),
                        source: src,
                        at,
                    });
                }
            }
        }
        set(&mut self.budget, &update.budget, update.source, at);
        set(&mut self.authority, &update.authority, update.source, at);
        set(&mut self.need, &update.need, update.source, at);
        set(
            &mut self.timeline_months,
            &update.timeline_months,
            update.source,
            at,
        );
    }
}
