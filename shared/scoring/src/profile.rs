//! Profile (fit) fields: who the person is, as opposed to what they did.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What we know of a person. Every field is optional; later non-empty values win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Department or function: marketing, engineering, finance...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_function: Option<String>,
    /// c_level, vp, director, manager, individual...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seniority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Number of employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<u32>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Anything else a form collects, by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

impl Profile {
    /// Overlays `update` on `self`: fields present in the update replace ours.
    pub fn merge(&mut self, update: &Profile) {
        fn take<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
            if src.is_some() {
                dst.clone_from(src);
            }
        }
        take(&mut self.first_name, &update.first_name);
        take(&mut self.last_name, &update.last_name);
        take(&mut self.job_title, &update.job_title);
        take(&mut self.job_function, &update.job_function);
        take(&mut self.seniority, &update.seniority);
        take(&mut self.industry, &update.industry);
        take(&mut self.company, &update.company);
        take(&mut self.company_size, &update.company_size);
        take(&mut self.country, &update.country);
        take(&mut self.phone, &update.phone);
        for (k, v) in &update.custom {
            self.custom.insert(k.clone(), v.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Profile::default()
    }
}

/// How an email's domain counts for fit. Decided by the rules' domain lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailDomainKind {
    Corporate,
    Free,
    Disposable,
    Competitor,
}
