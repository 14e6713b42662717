//! Accounts: the leads of one corporate email domain, summed up for sales.
//!
//! A lead belongs to the account of its email's domain unless that domain is free mail or
//! disposable (built-in lists in `data/`, the rules' `[domains]` lists and
//! `[accounts].free_domains`). Each lead leaves a [`MemberSummary`] in the account's index, so
//! the account is aggregated ([`Account::of`]) without loading its leads.

use leadscore_scoring::{
    EmailDomainKind, Grade, LeadId, LeadState, Profile, Rules, ScoreBreakdown, Stage, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Free-mail providers: one domain a line, `#` comments.
const FREE_DOMAINS: &str = include_str!("../data/free.txt");
/// Disposable (throw-away) address providers, same format.
const DISPOSABLE_DOMAINS: &str = include_str!("../data/disposable.txt");

fn domain_list(text: &'static str) -> BTreeSet<&'static str> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect()
}

static BUILTIN_FREE: LazyLock<BTreeSet<&'static str>> = LazyLock::new(|| domain_list(FREE_DOMAINS));
static BUILTIN_DISPOSABLE: LazyLock<BTreeSet<&'static str>> =
    LazyLock::new(|| domain_list(DISPOSABLE_DOMAINS));

/// The domain or one of its parents satisfies `listed` (`mail.yahoo.com` is yahoo.com's).
fn listed(domain: &str, listed: impl Fn(&str) -> bool) -> bool {
    let mut d = domain;
    loop {
        if listed(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return false,
        }
    }
}

/// Whether the built-in lists call `domain` (lower case) free mail or disposable.
pub fn builtin_personal_domain(domain: &str) -> bool {
    listed(domain, |d| {
        BUILTIN_FREE.contains(d) || BUILTIN_DISPOSABLE.contains(d)
    })
}

/// The `[accounts]` section, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRules {
    engagement_cap: i64,
    engaged_min_score: i64,
    free_domains: BTreeSet<String>,
}

impl AccountRules {
    pub(crate) fn new(
        engagement_cap: i64,
        engaged_min_score: i64,
        free_domains: BTreeSet<String>,
    ) -> Self {
        AccountRules {
            engagement_cap,
            engaged_min_score,
            free_domains,
        }
    }

    /// Only a fallback should the shipped file lack the section (a test says it does not).
    pub(crate) fn builtin() -> Self {
        AccountRules::new(300, 10, BTreeSet::new())
    }

    pub fn engagement_cap(&self) -> i64 {
        self.engagement_cap
    }

    pub fn engaged_min_score(&self) -> i64 {
        self.engaged_min_score
    }

    /// The account domain of an email address: its domain (already lower case in an
    /// `Email`), or `None` for free mail and disposable addresses (built-in lists, this
    /// section's `free_domains`, and what the rules' `[domains]` call free or disposable).
    /// Sub-domains are their own account (`eu.acme.com` is not `acme.com`).
    pub fn corporate_domain(
        &self,
        email: &leadscore_scoring::Email,
        rules: &Rules,
    ) -> Option<String> {
        let domain = email.domain();
        let personal = builtin_personal_domain(domain)
            || listed(domain, |d| self.free_domains.contains(d))
            || matches!(
                rules.domain_kind(domain),
                EmailDomainKind::Free | EmailDomainKind::Disposable
            );
        (!personal && !domain.is_empty()).then(|| domain.to_string())
    }
}

/// A person's part in a buying group, read from their job title, department and seniority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DecisionMaker,
    Finance,
    Technical,
    /// Anyone else who told us what they do.
    User,
}

impl Role {
    /// The buying group an account should cover: every role.
    pub const BUYING_GROUP: [Role; 4] = [
        Role::DecisionMaker,
        Role::Finance,
        Role::Technical,
        Role::User,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::DecisionMaker => "decision_maker",
            Role::Finance => "finance",
            Role::Technical => "technical",
            Role::User => "user",
        }
    }
}

use Role::{DecisionMaker as DM, Finance as FI, Technical as TE};

/// Words (lower case, matched as whole words in order, any case, `-` and `_` split words)
/// and the roles they give. English and French. A person matching none of them but with a
/// title, department or seniority is a `user`.
pub const ROLE_KEYWORDS: &[(&str, &[Role])] = &[
    // decision makers
    ("ceo", &[DM]),
    ("coo", &[DM]),
    ("cmo", &[DM]),
    ("cro", &[DM]),
    ("cpo", &[DM]),
    ("chief", &[DM]),
    ("founder", &[DM]),
    ("cofounder", &[DM]),
    ("owner", &[DM]),
    ("president", &[DM]),
    ("vp", &[DM]),
    ("svp", &[DM]),
    ("evp", &[DM]),
    ("vice president", &[DM]),
    ("director", &[DM]),
    ("head", &[DM]),
    ("general manager", &[DM]),
    ("gm", &[DM]),
    ("c level", &[DM]),
    ("executive director", &[DM]),
    ("directeur", &[DM]),
    ("directrice", &[DM]),
    ("fondateur", &[DM]),
    ("fondatrice", &[DM]),
    ("gérant", &[DM]),
    ("gérante", &[DM]),
    ("gerant", &[DM]),
    ("président", &[DM]),
    ("présidente", &[DM]),
    ("pdg", &[DM]),
    ("dg", &[DM]),
    ("dirigeant", &[DM]),
    ("dirigeante", &[DM]),
    // finance and purchasing; a CFO decides too
    ("cfo", &[DM, FI]),
    ("daf", &[DM, FI]),
    ("finance", &[FI]),
    ("financial", &[FI]),
    ("financier", &[FI]),
    ("financière", &[FI]),
    ("procurement", &[FI]),
    ("purchasing", &[FI]),
    ("buyer", &[FI]),
    ("controller", &[FI]),
    ("comptroller", &[FI]),
    ("controlling", &[FI]),
    ("accountant", &[FI]),
    ("accounting", &[FI]),
    ("accounts payable", &[FI]),
    ("treasurer", &[FI]),
    ("treasury", &[FI]),
    ("achats", &[FI]),
    ("acheteur", &[FI]),
    ("acheteuse", &[FI]),
    ("comptable", &[FI]),
    ("comptabilité", &[FI]),
    ("contrôleur de gestion", &[FI]),
    ("controleur de gestion", &[FI]),
    // technical; a CTO, CIO or CISO decides too
    ("cto", &[DM, TE]),
    ("cio", &[DM, TE]),
    ("ciso", &[DM, TE]),
    ("dsi", &[DM, TE]),
    ("engineer", &[TE]),
    ("engineering", &[TE]),
    ("developer", &[TE]),
    ("programmer", &[TE]),
    ("software", &[TE]),
    ("devops", &[TE]),
    ("sre", &[TE]),
    ("it", &[TE]),
    ("architect", &[TE]),
    ("sysadmin", &[TE]),
    ("system administrator", &[TE]),
    ("systems administrator", &[TE]),
    ("infrastructure", &[TE]),
    ("security", &[TE]),
    ("technical", &[TE]),
    ("technology", &[TE]),
    ("tech", &[TE]),
    ("data", &[TE]),
    ("r d", &[TE]),
    ("qa", &[TE]),
    ("ingénieur", &[TE]),
    ("ingénieure", &[TE]),
    ("ingenieur", &[TE]),
    ("développeur", &[TE]),
    ("développeuse", &[TE]),
    ("developpeur", &[TE]),
    ("informatique", &[TE]),
    ("technique", &[TE]),
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The roles a profile's job title, job function (department) and seniority give, by
/// [`ROLE_KEYWORDS`]; `user` when they say something and match none; nothing when empty.
pub fn roles_of(profile: &Profile) -> BTreeSet<Role> {
    let texts: Vec<Vec<String>> = [
        &profile.job_title,
        &profile.job_function,
        &profile.seniority,
    ]
    .into_iter()
    .flatten()
    .map(|t| words(t))
    .filter(|w| !w.is_empty())
    .collect();
    let mut roles: BTreeSet<Role> = ROLE_KEYWORDS
        .iter()
        .filter(|(phrase, _)| {
            let phrase: Vec<&str> = phrase.split(' ').collect();
            texts.iter().any(|said| {
                said.windows(phrase.len())
                    .any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
            })
        })
        .flat_map(|(_, roles)| roles.iter().copied())
        .collect();
    if roles.is_empty() && !texts.is_empty() {
        roles.insert(Role::User);
    }
    roles
}

/// What an account needs of one of its leads, stored with each of the lead's index entries
/// (JSON; no email address: the index is read by listings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub lead: LeadId,
    pub stage: Stage,
    pub fit: i64,
    pub engagement: i64,
    /// `fit + engagement`, as of the hand-off that wrote it.
    pub total: i64,
    pub grade: Grade,
    #[serde(default)]
    pub roles: BTreeSet<Role>,
    /// Engagement at least `[accounts].engaged_min_score`.
    pub engaged: bool,
    pub last_seen: Timestamp,
}

impl MemberSummary {
    /// The lead's summary, given its score as of now.
    pub fn of(lead: &LeadState, score: &ScoreBreakdown, rules: &AccountRules) -> Self {
        MemberSummary {
            lead: lead.id.clone(),
            stage: lead.stage,
            fit: score.fit,
            engagement: score.engagement,
            total: score.total,
            grade: score.grade,
            roles: roles_of(&lead.profile),
            engaged: score.engagement >= rules.engaged_min_score,
            last_seen: lead.last_seen,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// One lead as an account lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLead {
    pub lead: LeadId,
    pub stage: Stage,
    /// The lead's total score.
    pub score: i64,
    pub grade: Grade,
    pub roles: BTreeSet<Role>,
    pub engaged: bool,
}

/// An account lists at most this many leads (its best-scored), so that its stored item stays
/// small; `contacts` counts them all.
pub const MAX_ACCOUNT_LEADS: usize = 100;

/// The account of one corporate domain, as stored and served (`GET /accounts/{domain}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub domain: String,
    /// `fit + engagement`.
    pub score: i64,
    /// The best fit among its leads: the account is as good a fit as its best contact.
    pub fit: i64,
    /// The leads' engagement summed (each from 0 up: one contact's unsubscribe says nothing
    /// of the others' interest), capped at `[accounts].engagement_cap`.
    pub engagement: i64,
    pub contacts: u32,
    pub engaged_contacts: u32,
    /// The buying-group roles its contacts cover, and those none does.
    pub roles: BTreeSet<Role>,
    pub missing_roles: BTreeSet<Role>,
    /// The furthest stage of its leads.
    pub stage: Stage,
    /// Its best-scored leads (ties by lead id), at most [`MAX_ACCOUNT_LEADS`].
    pub leads: Vec<AccountLead>,
}

impl Account {
    /// The account from its members' summaries (one per lead). With none, every figure is
    /// zero and the stage `visitor`: the caller deletes such an account.
    pub fn of(domain: &str, members: &[MemberSummary], rules: &AccountRules) -> Account {
        let fit = members.iter().map(|m| m.fit).max().unwrap_or(0);
        let engagement = members
            .iter()
            .map(|m| m.engagement.max(0))
            .fold(0_i64, i64::saturating_add)
            .min(rules.engagement_cap);
        let roles: BTreeSet<Role> = members
            .iter()
            .flat_map(|m| m.roles.iter().copied())
            .collect();
        let missing_roles = Role::BUYING_GROUP
            .into_iter()
            .filter(|r| !roles.contains(r))
            .collect();
        let mut ranked: Vec<&MemberSummary> = members.iter().collect();
        ranked.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.lead.cmp(&b.lead)));
        Account {
            domain: domain.to_string(),
            score: fit.saturating_add(engagement),
            fit,
            engagement,
            contacts: u32::try_from(members.len()).unwrap_or(u32::MAX),
            engaged_contacts: u32::try_from(members.iter().filter(|m| m.engaged).count())
                .unwrap_or(u32::MAX),
            roles,
            missing_roles,
            stage: members
                .iter()
                .map(|m| m.stage)
                .max()
                .unwrap_or(Stage::Visitor),
            leads: ranked
                .into_iter()
                .take(MAX_ACCOUNT_LEADS)
                .map(|m| AccountLead {
                    lead: m.lead.clone(),
                    stage: m.stage,
                    score: m.total,
                    grade: m.grade,
                    roles: m.roles.clone(),
                    engaged: m.engaged,
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
