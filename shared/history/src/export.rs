//! DynamoDB's native export to S3 (format `DYNAMODB_JSON`), as AWS writes it:
//!
//! ```text
//! <prefix>/AWSDynamoDB/<export id>/manifest-summary.json    one JSON object
//! <prefix>/AWSDynamoDB/<export id>/manifest-summary.checksum MD5 (hex) of it
//! <prefix>/AWSDynamoDB/<export id>/manifest-files.json      per data file, one line:
//!     {"itemCount":N,"md5Checksum":"<base64 MD5>","etag":"<hex MD5>","dataFileS3Key":"..."}
//! <prefix>/AWSDynamoDB/<export id>/manifest-files.checksum
//! <prefix>/AWSDynamoDB/<export id>/data/<name>.json.gz      per line: {"Item":{...}}
//! ```
//!
//! `write_export` makes such a folder from items (tests, `leadscore simulate --export`);
//! `read_export` streams the records (`Dynamo::record_of_item`) of one, from a local folder
//! or from `s3://bucket/prefix`, checking each data file's MD5 and item count.

use crate::ddb_json::{item_from_json, item_to_json, Item};
use crate::s3::S3Export;
use crate::{io_error, HistoryError};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use leadscore_store::{Dynamo, Record};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

pub(crate) const SUMMARY: &str = "manifest-summary.json";
pub(crate) const EXPORTS_DIR: &str = "AWSDynamoDB";

/// One line of manifest-files.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataFile {
    pub item_count: u64,
    pub md5_checksum: String,
    pub etag: String,
    pub data_file_s3_key: String,
}

/// Where an export is: a local folder (the one holding manifest-summary.json, or a prefix
/// above `AWSDynamoDB/<export id>/` holding exactly one export), or the same in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportSource {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl ExportSource {
    /// `s3://bucket/prefix` or a local path.
    pub fn parse(raw: &str) -> Result<Self, HistoryError> {
        match raw.strip_prefix("s3://") {
            None => Ok(ExportSource::Local(PathBuf::from(raw))),
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(HistoryError::Format(format!(
                        "location {raw:?} names no bucket"
                    )));
                }
                let prefix = prefix.trim_end_matches('/').to_string();
                Ok(ExportSource::S3 {
                    bucket: bucket.to_string(),
                    prefix,
                })
            }
        }
    }
}

/// How `write_export_with` names and splits an export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The table named in the summary's ARNs.
    pub table: String,
    /// Items per data file (AWS writes at least one file per partition).
    pub items_per_file: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            table: "leadscore".to_string(),
            items_per_file: 10_000,
        }
    }
}

/// Writes `items` as a DynamoDB export under `dir` (the S3 prefix's place); returns the
/// export's folder (`dir/AWSDynamoDB/<export id>`). Blocking file I/O.
pub fn write_export(
    dir: &Path,
    items: impl IntoIterator<Item = Item>,
) -> Result<PathBuf, HistoryError> {
    write_export_with(dir, items, &ExportOptions::default())
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    leadscore_scoring::Timestamp::from_millis(ms).to_rfc3339()
}

pub fn write_export_with(
    dir: &Path,
    items: impl IntoIterator<Item = Item>,
    options: &ExportOptions,
) -> Result<PathBuf, HistoryError> {
    use base64::Engine;
    let started = now_rfc3339();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let export_id = format!(
        "{:014}-{:08x}",
        nanos / 1_000_000,
        (nanos % 1_000_000) as u32 ^ std::process::id()
    );
    let rel = format!("{EXPORTS_DIR}/{export_id}");
    let folder = dir.join(&rel);
    let data = folder.join("data");
    std::fs::create_dir_all(&data).map_err(io_error(&data))?;
    std::fs::write(folder.join("_started"), b"").map_err(io_error(&folder))?;
    let mut files: Vec<DataFile> = Vec::new();
    let mut total = 0u64;
    let mut billed = 0u64;
    let mut items = items.into_iter().peekable();
    while files.is_empty() || items.peek().is_some() {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut count = 0u64;
        for item in items.by_ref().take(options.items_per_file.max(1)) {
            let line = serde_json::json!({ "Item": item_to_json(&item) }).to_string();
            billed += line.len() as u64;
            gz.write_all(line.as_bytes())
                .and_then(|_| gz.write_all(b"\n"))
                .map_err(io_error(&data))?;
            count += 1;
        }
        let bytes = gz.finish().map_err(io_error(&data))?;
        let md5 = md5_of(&bytes);
        let name = format!("{}-{:04}.json.gz", export_id, files.len());
        let path = data.join(&name);
        std::fs::write(&path, &bytes).map_err(io_error(&path))?;
        files.push(DataFile {
            item_count: count,
            md5_checksum: base64::engine::general_purpose::STANDARD.encode(md5),
            etag: hex::encode(md5),
            data_file_s3_key: format!("{rel}/data/{name}"),
        });
        total += count;
    }
    let mut manifest = String::new();
    for f in &files {
        manifest
            .push_str(&serde_json::to_string(f).map_err(|e| HistoryError::Format(e.to_string()))?);
        manifest.push('\n');
    }
    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:000000000000:table/{}",
        options.table
    );
    let ended = now_rfc3339();
    let summary = serde_json::json!({
        "version": "2020-06-30",
        "exportArn": format!("{table_arn}/export/{export_id}"),
        "startTime": started,
        "endTime": ended,
        "tableArn": table_arn,
        "tableId": format!("{:032x}", nanos),
        "exportTime": started,
        "s3Bucket": "local",
        "s3Prefix": null,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": null,
        "manifestFilesS3Key": format!("{rel}/manifest-files.json"),
        "billedSizeBytes": billed,
        "itemCount": total,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    })
    .to_string();
    for (name, body) in [("manifest-files", manifest), ("manifest-summary", summary)] {
        let json = folder.join(format!("{name}.json"));
        std::fs::write(&json, &body).map_err(io_error(&json))?;
        let sum = folder.join(format!("{name}.checksum"));
        std::fs::write(&sum, hex::encode(md5_of(body.as_bytes()))).map_err(io_error(&sum))?;
    }
    Ok(folder)
}

/// The export folder under a local location: itself if it holds the summary, else the one
/// export under `<dir>/AWSDynamoDB/`.
fn local_export(dir: &Path) -> Result<PathBuf, HistoryError> {
    if dir.join(SUMMARY).is_file() {
        return Ok(dir.to_path_buf());
    }
    let exports = dir.join(EXPORTS_DIR);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&exports).map_err(io_error(&exports))? {
        let path = entry.map_err(io_error(&exports))?.path();
        if path.join(SUMMARY).is_file() {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(HistoryError::Format(format!(
            "{}: no {SUMMARY} here or under {EXPORTS_DIR}/",
            dir.display()
        ))),
        n => Err(HistoryError::Format(format!(
            "{}: {n} exports under {EXPORTS_DIR}/: name one",
            dir.display()
        ))),
    }
}

/// A data file's place relative to its export folder: keys carry the prefix the export was
/// written under, which need not be where it is read from now.
pub(crate) fn relative_key(key: &str) -> Result<&str, HistoryError> {
    let bad = || {
        HistoryError::Format(format!(
            "data file key {key:?} is not under {EXPORTS_DIR}/<export id>/"
        ))
    };
    let at = key.find(&format!("{EXPORTS_DIR}/")).ok_or_else(bad)?;
    let rest = &key[at + EXPORTS_DIR.len() + 1..];
    let (_, rel) = rest.split_once('/').ok_or_else(bad)?;
    if rel.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(bad());
    }
    Ok(rel)
}

pub(crate) fn data_files(manifest: &[u8]) -> Result<Vec<DataFile>, HistoryError> {
    let text = std::str::from_utf8(manifest)
        .map_err(|_| HistoryError::Format("manifest-files.json is not UTF-8".into()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| HistoryError::Format(format!("manifest-files.json: {e}")))
        })
        .collect()
}

pub(crate) fn check_summary(summary: &[u8]) -> Result<(), HistoryError> {
    let v: serde_json::Value = serde_json::from_slice(summary)
        .map_err(|e| HistoryError::Format(format!("{SUMMARY}: {e}")))?;
    match v.get("outputFormat").and_then(|f| f.as_str()) {
        None | Some("DYNAMODB_JSON") => Ok(()),
        Some(other) => Err(HistoryError::Format(format!(
            "is in {other}; only DYNAMODB_JSON is read"
        ))),
    }
}

/// Checks a data file against its manifest line, then sends its records. Blocking.
pub(crate) fn send_file(
    path: &Path,
    file: &DataFile,
    tx: &mpsc::Sender<Result<Record, HistoryError>>,
) -> Result<(bool, u64), HistoryError> {
    use base64::Engine;
    let mut hasher = Md5::new();
    let mut raw = std::fs::File::open(path).map_err(io_error(path))?;
    std::io::copy(&mut raw, &mut hasher).map_err(io_error(path))?;
    let md5 = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());
    if md5 != file.md5_checksum {
        return Err(HistoryError::Format(format!(
            "{}: MD5 does not match the manifest",
            file.data_file_s3_key
        )));
    }
    let reader = BufReader::new(GzDecoder::new(
        std::fs::File::open(path).map_err(io_error(path))?,
    ));
    let mut count = 0u64;
    for line in reader.lines() {
        let line = line.map_err(io_error(path))?;
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            HistoryError::Format(format!("{} line {count}: {e}", file.data_file_s3_key))
        })?;
        let item = item_from_json(value.get("Item").unwrap_or(&serde_json::Value::Null))?;
        if let Some(record) = Dynamo::record_of_item(&item)? {
            if tx.blocking_send(Ok(record)).is_err() {
                return Ok((false, count));
            }
        }
    }
    if count != file.item_count {
        return Err(HistoryError::Format(format!(
            "{}: {count} items, the manifest says {}",
            file.data_file_s3_key, file.item_count
        )));
    }
    Ok((true, count))
}

async fn read_local(
    dir: PathBuf,
    tx: &mpsc::Sender<Result<Record, HistoryError>>,
    progress: &(impl Fn(u64) + ?Sized),
) -> Result<(), HistoryError> {
    let folder = local_export(&dir)?;
    let summary = std::fs::read(folder.join(SUMMARY)).map_err(io_error(&folder))?;
    check_summary(&summary)?;
    let manifest_path = folder.join("manifest-files.json");
    let manifest = std::fs::read(&manifest_path).map_err(io_error(&manifest_path))?;
    let mut items = 0u64;
    for file in data_files(&manifest)? {
        let path = folder.join(relative_key(&file.data_file_s3_key)?);
        let tx = tx.clone();
        let (more, n) = tokio::task::spawn_blocking(move || send_file(&path, &file, &tx))
            .await
            .map_err(|e| HistoryError::Format(format!("reader stopped: {e}")))??;
        items += n;
        progress(items);
        if !more {
            break;
        }
    }
    Ok(())
}

/// Streams the records of the export at `source`, file by file (bounded memory: an S3
/// data file is downloaded to a temporary file first). An error is the stream's last item.
/// `progress` is called with the items read so far, after each data file. Call within a
/// Tokio runtime.
pub fn read_export(
    source: ExportSource,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> mpsc::Receiver<Result<Record, HistoryError>> {
    let (tx, rx) = mpsc::channel(512);
    tokio::spawn(async move {
        let read = match source {
            ExportSource::Local(dir) => read_local(dir, &tx, &progress).await,
            ExportSource::S3 { bucket, prefix } => match S3Export::locate(&bucket, &prefix).await {
                Ok(export) => export.read(&tx, &progress).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = read {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}
