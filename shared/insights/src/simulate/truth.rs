//! The truth of a simulation: who shows what, and the logistic model of conversion, answered
//! exactly by enumeration.

use leadscore_scoring::{Signal, SignalKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One signal of the truth: how often an MQL shows it (besides its path's), and its effect on
/// the log-odds of becoming an SQL.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalTruth {
    pub shown: f64,
    pub effect: f64,
}

/// The known ground truth of a simulation. Shares are probabilities (clamped to [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Log-odds of SQL for an MQL that showed none of the signals.
    pub intercept: f64,
    /// Interest signals only (others are ignored): see [`SignalTruth`].
    pub signals: BTreeMap<Signal, SignalTruth>,
    /// Of the people (not bots), the share that become MQLs.
    pub mql_share: f64,
    pub bot_share: f64,
    /// People first seen as anonymous visitors, stitched later.
    pub anonymous_share: f64,
    /// Of the anonymous people who never become MQLs, those who never give an email.
    pub never_identified_share: f64,
    /// People who also get scanner clicks (flagged, never counted).
    pub scanner_share: f64,
    /// Of the people who stay leads, those who raise a hand straight away (SQL without MQL).
    pub direct_hand_raise_share: f64,
    /// Conversions realised as a hand-raise; the others are sales acceptances.
    pub hand_raise_share: f64,
    /// MQLs that do not convert and are rejected by sales (back to lead).
    pub rejected_share: f64,
    /// A conversion comes this many days (from, to) after the MQL burst ends. The MQL itself
    /// is at most 10 days earlier than that end, so any window of `to + 10` days or more sees
    /// every conversion.
    pub conversion_days: [u32; 2],
    /// Amplitude of the yearly seasonality of arrivals (0: flat; 0.5: peak month 3x the trough).
    pub seasonality: f64,
}

impl Default for Truth {
    /// Effects strong enough for a best possible AUC near 0.87 on the MQLs (tested).
    fn default() -> Self {
        use Signal::*;
        let signals = [
            (DemoVideoWatched, 0.3, 2.9),
            (ContentDownloaded, 0.3, 2.1),
            (ChatbotQuestion, 0.25, 1.7),
            (ProductFavorited, 0.25, 1.0),
            (EmailClicked, 0.4, 0.6),
            (FormSubmitted, 0.3, 0.0),
            (NewsletterSubscribed, 0.4, 0.0),
            (SiteVisit, 0.6, 0.0),
            (SocialFollowed, 0.25, 0.0),
            (EmailOpened, 0.6, -0.7),
            (SocialShared, 0.2, -1.6),
        ]
        .into_iter()
        .map(|(s, shown, effect)| (s, SignalTruth { shown, effect }))
        .collect();
        Truth {
            intercept: -3.8,
            signals,
            mql_share: 0.35,
            bot_share: 0.05,
            anonymous_share: 0.3,
            never_identified_share: 0.3,
            scanner_share: 0.1,
            direct_hand_raise_share: 0.02,
            hand_raise_share: 0.7,
            rejected_share: 0.3,
            conversion_days: [2, 60],
            seasonality: 0.3,
        }
    }
}

/// How an MQL got there: each path is a burst of activity that passes the default rules with
/// a margin, and forces its signals into the lead's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MqlPath {
    /// The `engaged_subscriber` combination: newsletter, three visits, a social follow.
    Subscriber,
    /// 8 site visits and 4 downloads in a day (56 points).
    Content,
    /// 9 email clicks over three days, then 2 demo videos and 6 visits (60 points).
    Email,
}

impl MqlPath {
    pub const ALL: [MqlPath; 3] = [MqlPath::Subscriber, MqlPath::Content, MqlPath::Email];

    pub fn signals(self) -> &'static [Signal] {
        use Signal::*;
        match self {
            MqlPath::Subscriber => &[NewsletterSubscribed, SiteVisit, SocialFollowed],
            MqlPath::Content => &[SiteVisit, ContentDownloaded],
            MqlPath::Email => &[EmailClicked, DemoVideoWatched, SiteVisit],
        }
    }
}

impl Truth {
    /// The truth's probability that an MQL showing exactly `shown` becomes an SQL.
    pub fn probability(&self, shown: &BTreeSet<Signal>) -> f64 {
        let eta = self.intercept
            + self
                .modelled()
                .filter(|(s, _)| shown.contains(s))
                .map(|(_, t)| t.effect)
                .sum::<f64>();
        sigmoid(eta)
    }

    /// `P(SQL within the window | MQL, showed signal or not)`, exactly. NaN when no MQL can be
    /// in that case (a signal every path forces, asked with `showed = false`).
    pub fn conversion_rate(&self, signal: Signal, showed: bool) -> f64 {
        let (mass, converted) = self.enumerate(|set| set.contains(&signal) == showed);
        converted / mass
    }

    /// `P(SQL within the window | MQL)`.
    pub fn mql_conversion_rate(&self) -> f64 {
        let (mass, converted) = self.enumerate(|_| true);
        converted / mass
    }

    /// The signals an MQL may show, with their probability (0 for those only a path or the
    /// visitor phase gives).
    fn universe(&self) -> Vec<(Signal, f64)> {
        let mut all: BTreeMap<Signal, f64> = self
            .modelled()
            .map(|(s, t)| (s, t.shown.clamp(0.0, 1.0)))
            .collect();
        for path in MqlPath::ALL {
            for s in path.signals() {
                all.entry(*s).or_insert(0.0);
            }
        }
        all.entry(Signal::SiteVisit).or_insert(0.0);
        all.into_iter().collect()
    }

    pub(super) fn modelled(&self) -> impl Iterator<Item = (Signal, &SignalTruth)> {
        self.signals
            .iter()
            .filter(|(s, _)| s.kind() == SignalKind::Interest)
            .map(|(s, t)| (*s, t))
    }

    /// Sums `P(set)` and `P(set) * probability(set)` over the sets an MQL can show that pass
    /// `keep`: paths (equally likely) x visitor phase or not x subsets of the drawn signals.
    fn enumerate(&self, keep: impl Fn(&BTreeSet<Signal>) -> bool) -> (f64, f64) {
        let universe = self.universe();
        let anonymous = self.anonymous_share.clamp(0.0, 1.0);
        let (mut mass, mut converted) = (0.0, 0.0);
        for path in MqlPath::ALL {
            for (visitor, p_visitor) in [(true, anonymous), (false, 1.0 - anonymous)] {
                let mut forced: BTreeSet<Signal> = path.signals().iter().copied().collect();
                if visitor {
                    forced.insert(Signal::SiteVisit);
                }
                let free: Vec<(Signal, f64)> = universe
                    .iter()
                    .filter(|(s, _)| !forced.contains(s))
                    .copied()
                    .collect();
                let weight = p_visitor / MqlPath::ALL.len() as f64;
                if weight == 0.0 {
                    continue;
                }
                for mask in 0u64..(1u64 << free.len()) {
                    let mut set = forced.clone();
                    let mut p = weight;
                    for (i, (s, shown)) in free.iter().enumerate() {
                        if mask & (1 << i) != 0 {
                            set.insert(*s);
                            p *= shown;
                        } else {
                            p *= 1.0 - shown;
                        }
                    }
                    if p > 0.0 && keep(&set) {
                        mass += p;
                        converted += p * self.probability(&set);
                    }
                }
            }
        }
        (mass, converted)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
