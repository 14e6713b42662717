//! Validation: the file as written (`raw`) becomes [`Rules`], or an error that names the rule
//! and the problem.

use super::raw::{RawFitRule, RawRules};
use super::{
    words, BantRules, Criterion, Domains, FitField, FitRule, FitRules, GroupRule, Matcher,
    MqlRules, Rules, RulesError, SignalRule, SqlRules, MIN_LATENESS_DAYS, RULES_VERSION,
};
use crate::{Signal, SignalKind, MILLIS_PER_DAY};
use std::collections::{BTreeMap, BTreeSet};

fn fail<T>(msg: impl Into<String>) -> Result<T, RulesError> {
    Err(RulesError(msg.into()))
}

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

/// Points per occurrence or per fit rule, bounded so that no sum of them can overflow (a
/// score adds up every counted hit and every fit rule).
const MAX_POINTS: i64 = 1_000_000;

fn points(value: i64, at: &str) -> Result<i64, RulesError> {
    if (-MAX_POINTS..=MAX_POINTS).contains(&value) {
        Ok(value)
    } else {
        fail(format!(
            "{at}: points must be between -{MAX_POINTS} and {MAX_POINTS} (got {value})"
        ))
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
        points: points(raw.points, &at)?,
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
        Rules::from_raw(toml::from_str(text).map_err(|e| RulesError(e.to_string()))?)
    }

    /// Validates the file as written (its other crates' sections left aside).
    pub(super) fn from_raw(raw: RawRules) -> Result<Rules, RulesError> {
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
                    points: points(s.points, &at)?,
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
}
