//! The rules file: what earns points, what makes an MQL, an SQL, and beyond.
//!
//! Parsed once from TOML into [`Rules`] and validated: every mistake is rejected with a message
//! that names the rule and the problem. The `[mapping]` section belongs to the provider
//! adapters and is ignored here. `infra/rules.toml` is the documented default.

use crate::{Bant, EmailDomainKind, Signal, SignalKind, MILLIS_PER_DAY};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The shipped, documented default: `infra/rules.toml`.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../../infra/rules.toml");

/// The rules file format this build reads.
pub const RULES_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file: {0}")]
pub struct RulesError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, RulesError> {
    Err(RulesError(msg.into()))
}

/// Validated scoring rules, loaded once.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub(crate) signals: BTreeMap<Signal, SignalRule>,
    pub(crate) groups: BTreeMap<String, GroupRule>,
    pub(crate) engagement_cap: Option<i64>,
    pub(crate) fit: FitRules,
    pub(crate) domains: Domains,
    pub(crate) mql: MqlRules,
    pub(crate) sql: SqlRules,
    pub(crate) pql_signals: BTreeSet<Signal>,
    pub(crate) evangelist_signals: BTreeSet<Signal>,
    pub(crate) bant: BantRules,
    pub(crate) burst_window_ms: i64,
    pub(crate) click_without_open: bool,
    /// How far back a late event still re-folds the funnel exactly (`[engine] lateness_days`).
    pub(crate) lateness_ms: i64,
    fingerprint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SignalRule {
    pub points: i64,
    pub group: Option<String>,
    pub cap: Option<i64>,
    /// Count at most `count` occurrences in any `window_ms`.
    pub limit: Option<(u32, i64)>,
    /// The group's decay and expiry, resolved once: every hit of every score reads them.
    pub half_life_ms: Option<i64>,
    pub expire_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupRule {
    pub cap: Option<i64>,
    pub half_life_ms: Option<i64>,
    pub expire_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FitRules {
    pub rules: Vec<FitRule>,
    pub cap: Option<i64>,
    /// Minimum fit for grades A, B and C; below C is D.
    pub grades: [i64; 3],
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FitRule {
    pub id: String,
    pub field: FitField,
    pub matcher: Matcher,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FitField {
    JobTitle,
    JobFunction,
    Seniority,
    Industry,
    Company,
    CompanySize,
    Country,
    EmailDomain,
    EmailDomainKind,
    Custom(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    /// Case-insensitive equality.
    Equals(String),
    OneOf(Vec<String>),
    /// Any of these words or phrases, as whole words, case-insensitive ("cto" does not match
    /// "director").
    Contains(Vec<Vec<String>>),
    Range {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// The email's domain or a parent domain is in the list.
    Domains(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Domains {
    pub free: BTreeSet<String>,
    pub disposable: BTreeSet<String>,
    pub competitor: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MqlRules {
    pub score: Option<i64>,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Criterion {
    pub id: String,
    pub all: Vec<(Signal, u32)>,
    pub within_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlRules {
    pub hand_raises: BTreeSet<Signal>,
    pub require_sales_acceptance: bool,
    pub bant_complete: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BantRules {
    pub budget_at_least: Option<u64>,
    pub timeline_within_months: Option<u32>,
    pub authority: Vec<Vec<String>>,
    pub need_required: bool,
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: u32,
    #[serde(default)]
    signals: BTreeMap<String, RawSignal>,
    #[serde(default)]
    groups: BTreeMap<String, RawGroup>,
    #[serde(default)]
    engagement: RawEngagement,
    #[serde(default)]
    fit: RawFit,
    #[serde(default)]
    domains: RawDomains,
    #[serde(default)]
    mql: RawMql,
    #[serde(default)]
    sql: RawSql,
    #[serde(default)]
    pql: RawSignalList,
    #[serde(default)]
    evangelist: RawSignalList,
    #[serde(default)]
    bant: RawBant,
    #[serde(default)]
    bots: RawBots,
    #[serde(default)]
    engine: RawEngine,
    /// The adapters' section: read by shared/providers.
    #[serde(default)]
    #[allow(dead_code)]
    mapping: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignal {
    points: i64,
    group: Option<String>,
    cap: Option<i64>,
    limit: Option<RawLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    count: i64,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    cap: Option<i64>,
    half_life_days: Option<f64>,
    expire_after_days: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngagement {
    cap: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFit {
    cap: Option<i64>,
    grades: Option<RawGrades>,
    #[serde(default)]
    rules: Vec<RawFitRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrades {
    #[serde(rename = "A")]
    a: i64,
    #[serde(rename = "B")]
    b: i64,
    #[serde(rename = "C")]
    c: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFitRule {
    id: String,
    field: String,
    points: i64,
    equals: Option<String>,
    one_of: Option<Vec<String>>,
    contains: Option<Vec<String>>,
    range: Option<RawRange>,
    domains: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDomains {
    #[serde(default)]
    free: Vec<String>,
    #[serde(default)]
    disposable: Vec<String>,
    #[serde(default)]
    competitor: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMql {
    engagement_at_least: Option<i64>,
    #[serde(default)]
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    id: String,
    #[serde(default)]
    all: Vec<RawCondition>,
    within_days: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    signal: String,
    at_least: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSql {
    #[serde(default)]
    hand_raises: Vec<String>,
    #[serde(default)]
    require_sales_acceptance: bool,
    #[serde(default = "yes")]
    bant_complete: bool,
}

impl Default for RawSql {
    fn default() -> Self {
        RawSql {
            hand_raises: Vec::new(),
            require_sales_acceptance: false,
            bant_complete: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSignalList {
    #[serde(default)]
    signals: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBant {
    budget_at_least: Option<i64>,
    timeline_within_months: Option<i64>,
    #[serde(default)]
    authority: Vec<String>,
    #[serde(default)]
    need_required: bool,
    #[allow(dead_code)]
    currency: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    lateness_days: Option<i64>,
}

/// The shortest lateness window: email platforms, SNS and CRMs back-fill within days.
pub const MIN_LATENESS_DAYS: i64 = 30;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBots {
    burst_seconds: Option<f64>,
    #[serde(default)]
    click_without_open: bool,
}

// ---- validation ----

fn signal(name: &str, at: &str) -> Result<Signal, RulesError> {
    name.parse::<Signal>()
        .or_else(|_| fail(format!("{at}: unknown signal {name:?}")))
}

fn cap(value: Option<i64>, at: &str) -> Result<Option<i64>, RulesError> {
    match value {
        Some(c) if c < 0 => fail(format!("{at}: cap must not be negative (got {c})")),
        other => Ok(other),
    }
}

fn days(value: Option<f64>, at: &str, what: &str) -> Result<Option<i64>, RulesError> {
    match value {
        None => Ok(None),
        Some(d) if d.is_finite() && d > 0.0 && d <= 36_500.0 => {
            Ok(Some((d * MILLIS_PER_DAY as f64).round() as i64))
        }
        Some(d) => fail(format!(
            "{at}: {what} must be a positive number of days (got {d})"
        )),
    }
}

/// `30m`, `12h`, `7d`: the window of a frequency limit.
fn window(text: &str, at: &str) -> Result<i64, RulesError> {
    let bad = || {
        fail(format!(
            "{at}: limit window {text:?} must be a number followed by m, h or d (e.g. \"1d\")"
        ))
    };
    let text = text.trim();
    let Some(unit) = text.chars().last() else {
        return bad();
    };
    let per = match unit {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => MILLIS_PER_DAY,
        _ => return bad(),
    };
    match text[..text.len() - 1].parse::<i64>() {
        Ok(n) if n > 0 && n <= 36_500 * 24 * 60 => Ok(n * per),
        _ => bad(),
    }
}

/// Lower-cased words: what whole-word matching compares.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn domain_list(list: Vec<String>, at: &str) -> Result<BTreeSet<String>, RulesError> {
    list.into_iter()
        .map(|d| {
            let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
            if d.is_empty() || !d.contains('.') || d.contains(char::is_whitespace) {
                fail(format!("{at}: {d:?} is not a domain"))
            } else {
                Ok(d)
            }
        })
        .collect()
}

fn fit_field(name: &str, at: &str) -> Result<FitField, RulesError> {
    Ok(match name {
        "job_title" => FitField::JobTitle,
        "job_function" => FitField::JobFunction,
        "seniority" => FitField::Seniority,
        "industry" => FitField::Industry,
        "company" => FitField::Company,
        "company_size" => FitField::CompanySize,
        "country" => FitField::Country,
        "email_domain" => FitField::EmailDomain,
        "email_domain_kind" => FitField::EmailDomainKind,
        other => match other.strip_prefix("custom.") {
            Some(key) if !key.is_empty() => FitField::Custom(key.to_string()),
            _ => {
                return fail(format!(
                    "{at}: unknown profile field {name:?} (expected job_title, job_function, \
                     seniority, industry, company, company_size, country, email_domain, \
                     email_domain_kind or custom.<name>)"
                ))
            }
        },
    })
}

fn fit_rule(raw: RawFitRule, at: &str) -> Result<FitRule, RulesError> {
    let at = format!("{at} ({})", raw.id);
    let field = fit_field(&raw.field, &at)?;
    let given = [
        raw.equals.is_some(),
        raw.one_of.is_some(),
        raw.contains.is_some(),
        raw.range.is_some(),
        raw.domains.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return fail(format!(
            "{at}: give exactly one of equals, one_of, contains, range, domains"
        ));
    }
    let matcher = if let Some(v) = raw.equals {
        Matcher::Equals(v.trim().to_lowercase())
    } else if let Some(list) = raw.one_of {
        Matcher::OneOf(list.iter().map(|v| v.trim().to_lowercase()).collect())
    } else if let Some(list) = raw.contains {
        let phrases: Vec<Vec<String>> = list.iter().map(|p| words(p)).collect();
        if phrases.iter().any(Vec::is_empty) {
            return fail(format!("{at}: contains has an empty phrase"));
        }
        Matcher::Contains(phrases)
    } else if let Some(r) = raw.range {
        if let (Some(min), Some(max)) = (r.min, r.max) {
            if min > max {
                return fail(format!("{at}: range min {min} is above max {max}"));
            }
        }
        if r.min.is_none() && r.max.is_none() {
            return fail(format!("{at}: range needs min, max or both"));
        }
        Matcher::Range {
            min: r.min,
            max: r.max,
        }
    } else {
        let list = raw.domains.unwrap_or_default();
        Matcher::Domains(domain_list(list, &at)?.into_iter().collect())
    };
    let numeric = field == FitField::CompanySize;
    match (&matcher, numeric) {
        (Matcher::Range { .. }, false) => {
            return fail(format!("{at}: range only applies to company_size"))
        }
        (Matcher::Contains(_) | Matcher::Domains(_), true) => {
            return fail(format!("{at}: company_size takes equals, one_of or range"))
        }
        (Matcher::Domains(_), false) if field != FitField::EmailDomain => {
            return fail(format!("{at}: domains only applies to email_domain"))
        }
        _ => {}
    }
    if field == FitField::EmailDomainKind {
        let values: Vec<&String> = match &matcher {
            Matcher::Equals(v) => vec![v],
            Matcher::OneOf(l) => l.iter().collect(),
            _ => vec![],
        };
        for v in values {
            if !["corporate", "free", "disposable", "competitor"].contains(&v.as_str()) {
                return fail(format!(
                    "{at}: email_domain_kind is one of corporate, free, disposable, competitor \
                     (got {v:?})"
                ));
            }
        }
    }
    Ok(FitRule {
        id: raw.id,
        field,
        matcher,
        points: raw.points,
    })
}

fn unique_id(seen: &mut BTreeSet<String>, id: &str, at: &str) -> Result<(), RulesError> {
    if id.trim().is_empty() {
        return fail(format!("{at}: a rule needs a non-empty id"));
    }
    if !seen.insert(id.to_string()) {
        return fail(format!("{at}: duplicate rule id {id:?}"));
    }
    Ok(())
}

fn signal_list(names: Vec<String>, at: &str) -> Result<BTreeSet<Signal>, RulesError> {
    names.iter().map(|n| signal(n, at)).collect()
}

impl Rules {
    /// Parses and validates a rules file.
    pub fn from_toml_str(text: &str) -> Result<Rules, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RulesError(e.to_string()))?;
        if raw.version != RULES_VERSION {
            return fail(format!(
                "version {} is not supported (this build reads version {RULES_VERSION})",
                raw.version
            ));
        }

        let mut groups = BTreeMap::new();
        for (name, g) in raw.groups {
            let at = format!("groups.{name}");
            groups.insert(
                name,
                GroupRule {
                    cap: cap(g.cap, &at)?,
                    half_life_ms: days(g.half_life_days, &at, "half_life_days")?,
                    expire_ms: days(g.expire_after_days, &at, "expire_after_days")?,
                },
            );
        }

        let mut signals = BTreeMap::new();
        for (name, s) in raw.signals {
            let at = format!("signals.{name}");
            let sig = signal(&name, &at)?;
            if let Some(g) = &s.group {
                if !groups.contains_key(g) {
                    return fail(format!("{at}: unknown group {g:?}"));
                }
            }
            let limit = match s.limit {
                None => None,
                Some(l) if l.count < 1 || l.count > u32::MAX as i64 => {
                    return fail(format!(
                        "{at}: limit count must be at least 1 (got {})",
                        l.count
                    ))
                }
                Some(l) => Some((l.count as u32, window(&l.window, &at)?)),
            };
            let group = s.group.as_ref().and_then(|g| groups.get(g));
            signals.insert(
                sig,
                SignalRule {
                    points: s.points,
                    half_life_ms: group.and_then(|g: &GroupRule| g.half_life_ms),
                    expire_ms: group.and_then(|g| g.expire_ms),
                    group: s.group,
                    cap: cap(s.cap, &at)?,
                    limit,
                },
            );
        }

        let mut ids = BTreeSet::new();
        let mut fit_rules = Vec::new();
        for (i, r) in raw.fit.rules.into_iter().enumerate() {
            let at = format!("fit.rules[{i}]");
            unique_id(&mut ids, &r.id, &at)?;
            fit_rules.push(fit_rule(r, &at)?);
        }
        let grades = match raw.fit.grades {
            None => [i64::MAX, i64::MAX, i64::MAX],
            Some(g) => {
                if !(g.a > g.b && g.b > g.c) {
                    return fail(format!(
                        "fit.grades: thresholds out of order: need A > B > C (got A = {}, B = {}, \
                         C = {})",
                        g.a, g.b, g.c
                    ));
                }
                [g.a, g.b, g.c]
            }
        };

        let mut criteria = Vec::new();
        for (i, c) in raw.mql.criteria.into_iter().enumerate() {
            let at = format!("mql.criteria[{i}] ({})", c.id);
            unique_id(&mut ids, &c.id, &at)?;
            if c.all.is_empty() {
                return fail(format!("{at}: `all` needs at least one signal condition"));
            }
            let mut all = Vec::new();
            for cond in c.all {
                let sig = signal(&cond.signal, &at)?;
                let n = cond.at_least.unwrap_or(1);
                if n < 1 || n > u32::MAX as i64 {
                    return fail(format!(
                        "{at}: at_least for {} must be at least 1 (got {n})",
                        cond.signal
                    ));
                }
                all.push((sig, n as u32));
            }
            criteria.push(Criterion {
                id: c.id,
                all,
                within_ms: days(c.within_days, &at, "within_days")?,
            });
        }
        if let Some(s) = raw.mql.engagement_at_least {
            if s <= 0 {
                return fail(format!(
                    "mql.engagement_at_least: threshold must be positive (got {s})"
                ));
            }
        }

        let hand_raises = signal_list(raw.sql.hand_raises, "sql.hand_raises")?;
        if let Some(s) = hand_raises
            .iter()
            .find(|s| matches!(s.kind(), SignalKind::SalesFeedback | SignalKind::Negative))
        {
            return fail(format!(
                "sql.hand_raises: {s} is not something a lead does to raise a hand"
            ));
        }

        let bant = raw.bant;
        if let Some(b) = bant.budget_at_least {
            if b < 0 {
                return fail(format!(
                    "bant.budget_at_least must not be negative (got {b})"
                ));
            }
        }
        if let Some(t) = bant.timeline_within_months {
            if !(0..=u32::MAX as i64).contains(&t) {
                return fail(format!(
                    "bant.timeline_within_months must not be negative (got {t})"
                ));
            }
        }
        let authority: Vec<Vec<String>> = bant.authority.iter().map(|a| words(a)).collect();
        if authority.iter().any(Vec::is_empty) {
            return fail("bant.authority has an empty role");
        }

        let lateness_days = raw.engine.lateness_days.unwrap_or(MIN_LATENESS_DAYS);
        if !(MIN_LATENESS_DAYS..=3650).contains(&lateness_days) {
            return fail(format!(
                "engine.lateness_days must be between {MIN_LATENESS_DAYS} and 3650 (got {lateness_days})"
            ));
        }
        let burst_window_ms = match raw.bots.burst_seconds {
            None => 2_000,
            Some(s) if s.is_finite() && (0.0..=60.0).contains(&s) => (s * 1000.0).round() as i64,
            Some(s) => {
                return fail(format!(
                    "bots.burst_seconds must be between 0 and 60 (got {s})"
                ))
            }
        };

        Ok(Rules {
            signals,
            groups,
            engagement_cap: cap(raw.engagement.cap, "engagement")?,
            fit: FitRules {
                rules: fit_rules,
                cap: cap(raw.fit.cap, "fit")?,
                grades,
            },
            domains: Domains {
                free: domain_list(raw.domains.free, "domains.free")?,
                disposable: domain_list(raw.domains.disposable, "domains.disposable")?,
                competitor: domain_list(raw.domains.competitor, "domains.competitor")?,
            },
            mql: MqlRules {
                score: raw.mql.engagement_at_least,
                criteria,
            },
            sql: SqlRules {
                hand_raises,
                require_sales_acceptance: raw.sql.require_sales_acceptance,
                bant_complete: raw.sql.bant_complete,
            },
            pql_signals: signal_list(raw.pql.signals, "pql.signals")?,
            evangelist_signals: signal_list(raw.evangelist.signals, "evangelist.signals")?,
            bant: BantRules {
                budget_at_least: bant.budget_at_least.map(|b| b as u64),
                timeline_within_months: bant.timeline_within_months.map(|t| t as u32),
                authority,
                need_required: bant.need_required,
            },
            burst_window_ms,
            click_without_open: raw.bots.click_without_open,
            lateness_ms: lateness_days * MILLIS_PER_DAY,
            fingerprint: String::new(),
        }
        .with_fingerprint())
    }

    /// A digest of everything that scores (the mapping aside): a lead's working state
    /// computed under other rules is rebuilt from its ledger.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn with_fingerprint(mut self) -> Self {
        use sha2::{Digest, Sha256};
        self.fingerprint.clear();
        let digest = Sha256::digest(format!("{}{self:?}", crate::STATE_FORMAT).as_bytes());
        self.fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        self
    }

    /// The lateness window: events older than the newest one by more than this are folded
    /// at the checkpoint instead of at their own time.
    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    /// How far back single hits of `signal` are still read one by one: its longest
    /// combination window, its frequency-limit window, and for email the burst window.
    pub(crate) fn lookback_ms(&self, signal: Signal) -> i64 {
        let criteria = self
            .mql
            .criteria
            .iter()
            .filter(|c| c.all.iter().any(|(s, _)| *s == signal))
            .filter_map(|c| c.within_ms);
        let limit = self
            .signals
            .get(&signal)
            .and_then(|r| r.limit.map(|(_, w)| w));
        let email = matches!(signal, Signal::EmailClicked | Signal::EmailOpened)
            .then_some(self.burst_window_ms);
        criteria.chain(limit).chain(email).max().unwrap_or(0)
    }

    /// How many of a signal's newest counted times a window reads at most (a combination's
    /// count, a frequency limit's): older times in the same window change no verdict.
    pub(crate) fn lookback_count(&self, signal: Signal) -> usize {
        let criteria = self
            .mql
            .criteria
            .iter()
            .filter(|c| c.within_ms.is_some())
            .flat_map(|c| c.all.iter().filter(|(s, _)| *s == signal).map(|(_, n)| *n));
        let limit = self
            .signals
            .get(&signal)
            .and_then(|r| r.limit.map(|(count, _)| count));
        criteria.chain(limit).max().unwrap_or(0) as usize
    }

    /// Signals whose counted hits must be kept one by one forever: those of a combination
    /// criterion without a time window (it counts every occurrence since a recycle).
    pub(crate) fn unbounded_signals(&self) -> BTreeSet<Signal> {
        self.mql
            .criteria
            .iter()
            .filter(|c| c.within_ms.is_none())
            .flat_map(|c| c.all.iter().map(|(s, _)| *s))
            .collect()
    }

    /// The shipped default rules (`infra/rules.toml`, compiled in and tested to be valid).
    pub fn default_rules() -> Rules {
        match Rules::from_toml_str(DEFAULT_RULES_TOML) {
            Ok(rules) => rules,
            // The default is a compile-time constant covered by a test; this cannot happen in a
            // build that passed its tests.
            Err(e) => panic!("the shipped default rules are invalid: {e}"),
        }
    }

    /// Whether a BANT record meets the completeness thresholds: every configured criterion is
    /// answered and within bounds.
    pub fn bant_complete(&self, bant: &Bant) -> bool {
        self.bant_status(bant).complete()
    }

    /// Each BANT criterion: met or not, per the rules.
    pub fn bant_status(&self, bant: &Bant) -> BantStatus {
        let b = &self.bant;
        let budget = match (b.budget_at_least, &bant.budget) {
            (Some(min), Some(a)) => a.value >= min,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let timeline = match (b.timeline_within_months, &bant.timeline_months) {
            (Some(max), Some(a)) => a.value <= max,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let authority = match &bant.authority {
            None => false,
            Some(a) if b.authority.is_empty() => !a.value.trim().is_empty(),
            Some(a) => {
                let said = words(&a.value);
                b.authority.iter().any(|role| contains_phrase(&said, role))
            }
        };
        let need = match &bant.need {
            Some(a) => !a.value.trim().is_empty(),
            None => !b.need_required,
        };
        BantStatus {
            budget,
            authority,
            need,
            timeline,
        }
    }

    /// How the rules classify an email domain for fit.
    pub fn domain_kind(&self, domain: &str) -> EmailDomainKind {
        let d = &self.domains;
        if in_domain_list(&d.competitor, domain) {
            EmailDomainKind::Competitor
        } else if in_domain_list(&d.disposable, domain) {
            EmailDomainKind::Disposable
        } else if in_domain_list(&d.free, domain) {
            EmailDomainKind::Free
        } else {
            EmailDomainKind::Corporate
        }
    }

    /// The cap on one signal's points, if any.
    pub fn signal_cap(&self, signal: Signal) -> Option<i64> {
        self.signals.get(&signal).and_then(|r| r.cap)
    }

    /// The group a signal's points belong to, if any.
    pub fn signal_group(&self, signal: Signal) -> Option<&str> {
        self.signals.get(&signal).and_then(|r| r.group.as_deref())
    }

    /// The cap on a group's points, if any.
    pub fn group_cap(&self, group: &str) -> Option<i64> {
        self.groups.get(group).and_then(|g| g.cap)
    }

    /// The cap on all behaviour points, if any.
    pub fn engagement_cap(&self) -> Option<i64> {
        self.engagement_cap
    }

    /// Signals that flag a lead as product-qualified.
    pub fn pql_signals(&self) -> &BTreeSet<Signal> {
        &self.pql_signals
    }
}

/// BANT completeness, criterion by criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BantStatus {
    pub budget: bool,
    pub authority: bool,
    pub need: bool,
    pub timeline: bool,
}

impl BantStatus {
    pub fn complete(self) -> bool {
        self.budget && self.authority && self.need && self.timeline
    }
}

/// `phrase` occurs in `said` as consecutive whole words.
pub(crate) fn contains_phrase(said: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase)
}

/// The domain or one of its parents is listed (`mail.acme.com` matches `acme.com`).
pub(crate) fn in_domain_list(list: &BTreeSet<String>, domain: &str) -> bool {
    let mut d = domain;
    loop {
        if list.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return false,
        }
    }
}
