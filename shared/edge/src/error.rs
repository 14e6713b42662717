//! The one error type of the HTTP edge, mapped to a status once, here.
//! 4xx bodies say exactly what was wrong; 5xx bodies are generic and the cause goes to the log.

use leadscore_providers::AdapterError;
use leadscore_scoring::{Signal, Stage};
use leadscore_store::StoreError;
use serde_json::{json, Value};

/// Seconds a provider or sales tool should wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0} is not allowed")]
    MethodNotAllowed(String),
    #[error("{action} is not allowed while the lead is {current}")]
    Conflict {
        action: String,
        current: Stage,
        allowed: Vec<String>,
    },
    #[error("the body is over the {limit} bytes accepted")]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests from this client; retry in {retry_after} s")]
    TooManyRequests { retry_after: u32 },
    /// Storage is down or throttling: the sender should retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict { .. } => 409,
            ApiError::TooLarge { .. } => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict { .. } => "invalid_transition",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "storage_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Seconds for the Retry-After header, where the status calls for one.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Unavailable(_) => Some(RETRY_AFTER_SECONDS),
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The JSON body: `{"error":{"code":..,"message":..}}`, plus the current stage and the
    /// allowed actions for a 409.
    pub fn body(&self) -> Value {
        let message = match self {
            // The cause goes to the log, not to the caller.
            ApiError::Internal(_) => "internal error".to_string(),
            // Storage, or a service a request needs (human verification, SNS certificates):
            // the code stays `storage_unavailable`, a contract; the words say what is meant.
            ApiError::Unavailable(_) => {
                "temporarily unavailable (storage or a service it needs); retry later".to_string()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let ApiError::Conflict {
            current, allowed, ..
        } = self
        {
            error["current_stage"] = json!(current);
            error["allowed"] = json!(allowed);
        }
        json!({ "error": error })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::NotFound => ApiError::NotFound("no such lead".to_string()),
            StoreError::InvalidCursor => {
                ApiError::BadRequest("cursor is not one this API issued".to_string())
            }
            StoreError::InvalidLimit(_) => ApiError::BadRequest(e.to_string()),
            StoreError::InvalidTransition(t) => ApiError::Conflict {
                action: action_name(t.signal).to_string(),
                current: t.current,
                allowed: t
                    .allowed
                    .into_iter()
                    .map(|s| action_name(s).to_string())
                    .collect(),
            },
            // Many writers on one lead at once: worth a retry, like throttling.
            StoreError::Contention => ApiError::Unavailable(e.to_string()),
            StoreError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<AdapterError> for ApiError {
    fn from(e: AdapterError) -> Self {
        let message = e.to_string();
        match e {
            AdapterError::UnknownSource(_) => ApiError::NotFound(message),
            AdapterError::NotConfigured { .. }
            | AdapterError::Unauthorized(_)
            | AdapterError::Stale(_) => ApiError::Unauthorized(message),
            AdapterError::OriginNotAllowed(_) => ApiError::Forbidden(message),
            AdapterError::Malformed(_) => ApiError::BadRequest(message),
            AdapterError::UnsupportedMediaType(_) => ApiError::UnsupportedMediaType(message),
            AdapterError::NeedCertificate(_) => {
                ApiError::Unavailable("the SNS signing certificate could not be fetched".into())
            }
            AdapterError::InvalidMapping(m) => ApiError::Internal(m),
        }
    }
}

/// The qualification API's name for a sales-feedback signal.
pub fn action_name(signal: Signal) -> &'static str {
    match signal {
        Signal::SalesAccepted => "accept",
        Signal::SalesRejected => "reject",
        Signal::BantReported => "bant",
        Signal::OpportunityOpened => "opportunity",
        Signal::DealWon => "won",
        Signal::DealLost => "lost",
        Signal::Disqualified => "disqualify",
        Signal::EvangelistConfirmed => "evangelist",
        other => other.as_str(),
    }
}
