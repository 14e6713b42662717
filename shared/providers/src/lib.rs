//! Provider adapters (skeleton).
