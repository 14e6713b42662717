//! Reading an export from S3 (`s3://bucket/prefix`). The endpoint and credentials are the
//! SDK's (`AWS_ENDPOINT_URL_S3` in tests, against moto's server).

use crate::export::{check_summary, data_files, relative_key, send_file, EXPORTS_DIR, SUMMARY};
use crate::HistoryError;
use aws_sdk_s3::Client;
use leadscore_store::Record;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

pub(crate) struct S3Export {
    client: Client,
    bucket: String,
    /// The export folder's key prefix, ending with '/'.
    folder: String,
}

fn s3_error(e: impl std::fmt::Display) -> HistoryError {
    HistoryError::S3(e.to_string())
}

/// The SDK's configuration; a local endpoint (moto, MinIO) needs path-style addressing.
async fn client() -> Client {
    let sdk = leadscore_store::aws::config("S3").await;
    // An endpoint override (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) is a local server.
    let local = sdk.endpoint_url().is_some();
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(local)
        .build();
    Client::from_conf(config)
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}/{rest}")
    }
}

impl S3Export {
    /// The export at `prefix`: the folder holding manifest-summary.json, or the one export
    /// under `<prefix>/AWSDynamoDB/`.
    pub(crate) async fn locate(bucket: &str, prefix: &str) -> Result<Self, HistoryError> {
        let client = client().await;
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(folder) = key.strip_suffix(SUMMARY) else {
                    continue;
                };
                let direct = folder.trim_end_matches('/') == prefix;
                let below = folder.starts_with(&join(prefix, &format!("{EXPORTS_DIR}/")));
                if direct || below {
                    found.push(folder.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        let place = format!("s3://{bucket}/{prefix}");
        let folder = match found.len() {
            1 => found.remove(0),
            0 => return Err(HistoryError::Format(format!("{place}: no {SUMMARY} there"))),
            n => match found.iter().find(|f| f.trim_end_matches('/') == prefix) {
                Some(f) => f.clone(),
                None => {
                    return Err(HistoryError::Format(format!(
                        "{place}: {n} exports: name one"
                    )))
                }
            },
        };
        Ok(S3Export {
            client,
            bucket: bucket.to_string(),
            folder,
        })
    }

    async fn get(&self, key: &str) -> Result<aws_sdk_s3::primitives::ByteStream, HistoryError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                s3_error(format!(
                    "{key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            })?;
        Ok(out.body)
    }

    async fn small(&self, name: &str) -> Result<Vec<u8>, HistoryError> {
        let body = self.get(&format!("{}{name}", self.folder)).await?;
        let bytes = body.collect().await.map_err(s3_error)?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Each data file is downloaded to a temporary file, checked and read, then removed.
    pub(crate) async fn read(
        &self,
        tx: &mpsc::Sender<Result<Record, HistoryError>>,
        progress: &(impl Fn(u64) + ?Sized),
    ) -> Result<(), HistoryError> {
        check_summary(&self.small(SUMMARY).await?)?;
        let mut items = 0u64;
        for file in data_files(&self.small("manifest-files.json").await?)? {
            let key = format!("{}{}", self.folder, relative_key(&file.data_file_s3_key)?);
            let temp = tempfile::NamedTempFile::new()
                .map_err(crate::io_error(std::path::Path::new("temporary file")))?;
            let path = temp.path().to_path_buf();
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(crate::io_error(&path))?;
            let mut body = self.get(&key).await?;
            while let Some(chunk) = body.try_next().await.map_err(s3_error)? {
                out.write_all(&chunk)
                    .await
                    .map_err(crate::io_error(&path))?;
            }
            out.flush().await.map_err(crate::io_error(&path))?;
            drop(out);
            let tx = tx.clone();
            let (more, n) = tokio::task::spawn_blocking(move || {
                let sent = send_file(temp.path(), &file, &tx);
                drop(temp);
                sent
            })
            .await
            .map_err(|e| HistoryError::S3(format!("reader stopped: {e}")))??;
            items += n;
            progress(items);
            if !more {
                break;
            }
        }
        Ok(())
    }
}
