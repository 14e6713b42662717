//! Where lead histories come from, for the analysis commands (`leadscore insights|replay|
//! learn`): a store's records (`leadscore_store::Record`), read from a live store
//! (`Embedded::records`, `Dynamo::scan_records`) or from DynamoDB's native export to S3
//! (`export.rs`, local folder or `s3://`), grouped into one `leadscore_insights::History` per
//! lead with bounded memory (`group.rs`).

#[cfg(feature = "export")]
mod ddb_json;
#[cfg(feature = "export")]
mod export;
mod group;
#[cfg(feature = "export")]
mod s3;

#[cfg(feature = "export")]
pub use export::{read_export, write_export, write_export_with, ExportOptions, ExportSource};
pub use group::{analyse, group, GroupOptions, GroupStats};

use leadscore_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A local file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The export is not what DynamoDB writes (a missing manifest, a bad line, a checksum or
    /// item count that does not match).
    #[error("export {0}")]
    Format(String),
    /// S3 could not be read.
    #[error("S3: {0}")]
    S3(String),
    /// A record could not be read (an item this version does not know, a store error).
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> HistoryError {
    let path = path.display().to_string();
    move |source| HistoryError::Io { path, source }
}
