//! Learning from history, with the same scoring code as the functions: each lead's history
//! (its events, its stitched visitors' included) is folded under the rules, and the leads
//! are summed into the funnel, per-signal conversion, trends (`insights`), compared under two
//! rules files (`replay`), fitted into a predictive score (`learn`), or made up from a known
//! truth (`simulate`). Pure: no I/O, no clock (the time of the analysis is an argument);
//! where histories come from is `leadscore-history`'s business.

mod history;

pub use history::History;

mod conversion;
mod funnel;
mod insights;
mod path;
mod render;
mod replay;
mod stats;
mod trends;
pub use conversion::{defines_sql, SignalConversion, SignalReport};
pub use funnel::{Funnel, Sla, SlaBreach, StageCount, StageTime, Step};
pub use insights::{insights, InsightOptions, Insights};
pub use render::{insights_html, insights_text, replay_html, replay_text};
pub use replay::{
    real_outcome, replay, Backtest, Bucket, Changes, Foresight, LeadList, Replay, ScoreShift,
    ScoreSummary, StageShift, SCORE_EDGES,
};
pub use stats::{wilson, Interval, Rate};
pub use trends::{ContentDimension, ContentKind, ContentRow, MonthTrend, Trends};

mod simulate;
pub use simulate::{
    simulate, Intended, LeadKind, MqlPath, SignalTruth, SimConfig, SimulatedLead, Simulation,
    Truth, MONTH_MS,
};

mod learn;
pub use learn::{
    learn, model_text, suggest_rules, suggestions, CalibrationBin, Counts, Factor, Holdout,
    LearnError, LearnOptions, Model, PointsSuggestion, Target, Unused, MIN_HOLDOUT_CONVERSIONS,
    MIN_SUPPORT, MIN_TRAINING_CONVERSIONS,
};
