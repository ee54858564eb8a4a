//! Where feed files come from: a directory laid out like the mirror, or HTTP (upstream
//! URLs or a mirror's base URL) with conditional requests, retries and size caps.

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::feed::{EPSS_UPSTREAM, EXPLOITDB_UPSTREAM, FeedFile, KEV_UPSTREAM, OSV_UPSTREAM_BASE};

/// What a server said about a file's version, kept for the next conditional request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A file a source delivered, on local disk.
#[derive(Clone, Debug)]
pub struct FetchedFile {
    /// The mirror's own file for a directory source, else a scratch file in the data dir.
    pub path: PathBuf,
    pub bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub validators: Validators,
}

#[derive(Clone, Debug)]
pub enum Fetched {
    /// The server answered 304 to the conditional request.
    NotModified,
    File(FetchedFile),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{location}: not found")]
    NotFound { location: String },
    #[error("{location}: HTTP status {status} (after {attempts} attempts)")]
    Status {
        location: String,
        status: u16,
        attempts: u32,
    },
    #[error("{location}: {detail} (after {attempts} attempts)")]
    Transport {
        location: String,
        detail: String,
        attempts: u32,
    },
    #[error("{location}: larger than the limit of {max} bytes")]
    TooLarge { location: String, max: u64 },
    #[error("{location}: {source}")]
    Read {
        location: String,
        source: std::io::Error,
    },
    #[error("writing the download to {path}: {source}")]
    Scratch {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid URL for {location}: {detail}")]
    Url { location: String, detail: String },
}

/// A place feed files come from.
pub trait FeedSource: Send + Sync {
    /// The URL or path of a file, for messages and the status table.
    fn location(&self, file: &FeedFile) -> String;

    /// Fetches one file, at most `max_bytes` long. With `previous` validators an HTTP
    /// source asks conditionally and may answer [`Fetched::NotModified`]. Downloads go
    /// to a file in `scratch_dir`, which the caller owns and removes.
    fn fetch(
        &self,
        file: &FeedFile,
        previous: Option<&Validators>,
        scratch_dir: &Path,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
}

/// A local directory in the mirror layout (`osv/<Eco>/all.zip`, `kev/…`, `epss/…`,
/// `exploitdb/files_exploits.csv`). Files are read in place, never copied.
#[derive(Clone, Debug)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }

    fn path(&self, file: &FeedFile) -> PathBuf {
        let mut p = self.root.clone();
        for segment in file.mirror_segments() {
            p.push(segment);
        }
        p
    }
}

impl FeedSource for DirSource {
    fn location(&self, file: &FeedFile) -> String {
        self.path(file).display().to_string()
    }

    async fn fetch(
        &self,
        file: &FeedFile,
        _previous: Option<&Validators>,
        _scratch_dir: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, FetchError> {
        let path = self.path(file);
        let location = path.display().to_string();
        let hashed =
            tokio::task::spawn_blocking(move || hash_file(&path, max_bytes).map(|h| (path, h)))
                .await
                .map_err(|e| FetchError::Read {
                    location: location.clone(),
                    source: std::io::Error::other(e.to_string()),
                })?;
        match hashed {
            Ok((path, (bytes, sha256))) => Ok(Fetched::File(FetchedFile {
                path,
                bytes,
                sha256,
                validators: Validators::default(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(FetchError::NotFound { location })
            }
            Err(e) if e.to_string().contains("(the size limit)") => Err(FetchError::TooLarge {
                location,
                max: max_bytes,
            }),
            Err(source) => Err(FetchError::Read { location, source }),
        }
    }
}

fn hash_file(path: &Path, max_bytes: u64) -> std::io::Result<(u64, String)> {
    let file = std::fs::File::open(path)?;
    let mut reader = crate::limits::CappedReader::new(file, max_bytes);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// Timeouts and retries of the HTTP source.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// Longest pause between two reads of a body.
    pub read_timeout: Duration,
    /// Longest time one attempt at one file may take.
    pub file_timeout: Duration,
    /// Attempts per file (the first included).
    pub attempts: u32,
    /// Pause before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
            file_timeout: Duration::from_secs(30 * 60),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// HTTP(S) through reqwest with rustls: upstream URLs, or a mirror's base URL.
#[derive(Clone, Debug)]
pub struct HttpSource {
    client: reqwest::Client,
    /// `None` means the real upstream locations.
    mirror_base: Option<Url>,
    options: HttpOptions,
}

impl HttpSource {
    pub fn upstream(options: HttpOptions) -> Result<Self, reqwest::Error> {
        Ok(HttpSource {
            client: client(&options)?,
            mirror_base: None,
            options,
        })
    }

    /// A mirror at `base` (a trailing `/` is added when missing).
    pub fn mirror(mut base: Url, options: HttpOptions) -> Result<Self, reqwest::Error> {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(HttpSource {
            client: client(&options)?,
            mirror_base: Some(base),
            options,
        })
    }

    fn url(&self, file: &FeedFile) -> Result<Url, String> {
        let (base, segments) = match (&self.mirror_base, file) {
            (Some(base), _) => (base.clone(), file.mirror_segments()),
            (None, FeedFile::OsvEcosystemList | FeedFile::Osv(_)) => (
                Url::parse(OSV_UPSTREAM_BASE).map_err(|e| e.to_string())?,
                file.mirror_segments()[1..].to_vec(),
            ),
            (None, FeedFile::Kev) => return Url::parse(KEV_UPSTREAM).map_err(|e| e.to_string()),
            (None, FeedFile::Epss) => return Url::parse(EPSS_UPSTREAM).map_err(|e| e.to_string()),
            (None, FeedFile::ExploitDb) => {
                return Url::parse(EXPLOITDB_UPSTREAM).map_err(|e| e.to_string());
            }
        };
        let mut url = base;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| "the base URL cannot have a path".to_owned())?;
            path.pop_if_empty();
            for segment in segments {
                // push() percent-encodes, so `Rocky Linux` and odd names stay one segment.
                path.push(segment);
            }
        }
        Ok(url)
    }

    async fn attempt(
        &self,
        url: &Url,
        location: &str,
        previous: Option<&Validators>,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, AttemptError> {
        let mut request = self.client.get(url.clone());
        if let Some(v) = previous {
            if let Some(etag) = &v.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut response = request
            .timeout(self.options.file_timeout)
            .send()
            .await
            .map_err(|e| AttemptError::Retry(Transient::Transport(error_chain(&e))))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(AttemptError::Fatal(FetchError::NotFound {
                location: location.to_owned(),
            }));
        }
        if !status.is_success() {
            let retryable = status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT;
            let transient = Transient::Status(status.as_u16());
            return Err(if retryable {
                AttemptError::Retry(transient)
            } else {
                AttemptError::Fatal(FetchError::Status {
                    location: location.to_owned(),
                    status: status.as_u16(),
                    attempts: 1,
                })
            });
        }
        let too_large = || {
            AttemptError::Fatal(FetchError::TooLarge {
                location: location.to_owned(),
                max: max_bytes,
            })
        };
        let expected = response.content_length();
        if expected.is_some_and(|n| n > max_bytes) {
            return Err(too_large());
        }
        let validators = Validators {
            etag: header(&response, reqwest::header::ETAG),
            last_modified: header(&response, reqwest::header::LAST_MODIFIED),
        };
        let scratch = |source| {
            AttemptError::Fatal(FetchError::Scratch {
                path: dest.to_owned(),
                source,
            })
        };
        let mut out = tokio::fs::File::create(dest).await.map_err(scratch)?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| AttemptError::Retry(Transient::Transport(error_chain(&e))))?;
            let Some(chunk) = chunk else { break };
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(too_large());
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(scratch)?;
        }
        out.flush().await.map_err(scratch)?;
        out.sync_all().await.map_err(scratch)?;
        if let Some(expected) = expected
            && expected != written
        {
            return Err(AttemptError::Retry(Transient::Transport(format!(
                "the body ended after {written} of {expected} bytes"
            ))));
        }
        Ok(Fetched::File(FetchedFile {
            path: dest.to_owned(),
            bytes: written,
            sha256: hex::encode(hasher.finalize()),
            validators,
        }))
    }
}

enum Transient {
    Status(u16),
    Transport(String),
}

enum AttemptError {
    Retry(Transient),
    Fatal(FetchError),
}

fn client(options: &HttpOptions) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("crowsnest/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .build()
}

/// Longest validator kept; longer ones are ignored rather than stored.
const MAX_VALIDATOR_LEN: usize = 512;

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_VALIDATOR_LEN)
        .map(str::to_owned)
}

/// reqwest's own message is terse ("error sending request"); the causes say why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

impl FeedSource for HttpSource {
    fn location(&self, file: &FeedFile) -> String {
        self.url(file)
            .map(String::from)
            .unwrap_or_else(|_| file.name())
    }

    async fn fetch(
        &self,
        file: &FeedFile,
        previous: Option<&Validators>,
        scratch_dir: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, FetchError> {
        let url = self.url(file).map_err(|detail| FetchError::Url {
            location: file.name(),
            detail,
        })?;
        let location = url.to_string();
        let dest = scratch_dir.join(file.scratch_name());
        let mut delay = self.options.backoff;
        let attempts = self.options.attempts.max(1);
        let mut attempt = 1;
        loop {
            let last = match self
                .attempt(&url, &location, previous, &dest, max_bytes)
                .await
            {
                Ok(fetched) => return Ok(fetched),
                Err(AttemptError::Fatal(e)) => return Err(e),
                Err(AttemptError::Retry(t)) => t,
            };
            tracing::debug!(%location, attempt, "download failed, retrying");
            if attempt >= attempts {
                return Err(match last {
                    Transient::Status(status) => FetchError::Status {
                        location,
                        status,
                        attempts,
                    },
                    Transient::Transport(detail) => FetchError::Transport {
                        location,
                        detail,
                        attempts,
                    },
                });
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
            attempt += 1;
        }
    }
}

/// The sources a sync can use, chosen at run time.
#[derive(Clone, Debug)]
pub enum Source {
    Dir(DirSource),
    Http(HttpSource),
}

impl FeedSource for Source {
    fn location(&self, file: &FeedFile) -> String {
        match self {
            Source::Dir(s) => s.location(file),
            Source::Http(s) => s.location(file),
        }
    }

    async fn fetch(
        &self,
        file: &FeedFile,
        previous: Option<&Validators>,
        scratch_dir: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, FetchError> {
        match self {
            Source::Dir(s) => s.fetch(file, previous, scratch_dir, max_bytes).await,
            Source::Http(s) => s.fetch(file, previous, scratch_dir, max_bytes).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_and_mirror_urls() {
        let up = HttpSource::upstream(HttpOptions::default()).unwrap();
        assert_eq!(
            up.location(&FeedFile::Osv("Rocky Linux".into())),
            "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip"
        );
        assert_eq!(up.location(&FeedFile::Kev), crate::feed::KEV_UPSTREAM);
        let mirror = HttpSource::mirror(
            Url::parse("http://127.0.0.1:8080/feeds").unwrap(),
            HttpOptions::default(),
        )
        .unwrap();
        assert_eq!(
            mirror.location(&FeedFile::Osv("crates.io".into())),
            "http://127.0.0.1:8080/feeds/osv/crates.io/all.zip"
        );
        assert_eq!(
            mirror.location(&FeedFile::Epss),
            "http://127.0.0.1:8080/feeds/epss/epss_scores-current.csv.gz"
        );
    }
}
