//! The service's configuration: one TOML file, then environment overrides, then flags.
//!
//! Every value is checked while the file is read, so a bad duration, glob, address or
//! credential reference is an error naming the key and the line (the `toml` crate
//! attaches the span of the value whose `Deserialize` failed). Unknown keys are errors
//! too: a misspelt `registry_pol` must not silently fall back to a default.
//!
//! Credentials are *references* (`env:VAR`, `file:PATH`): the configuration never holds
//! a secret, and [`CredentialRef::resolve`] reads it only when a job needs it. The
//! database URL may carry a password; its `Debug` output redacts it.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crowsnest_acquire::credentials::{AuthFileLookup, Credentials};
use crowsnest_acquire::manifest::Platform;
use serde::{Deserialize, Deserializer};

/// Largest configuration file read (it is a handful of tables, never megabytes).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Largest credentials file read through a `file:` reference.
const MAX_CREDENTIALS_BYTES: u64 = 1 << 20;

/// Where the API listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The environment variables that override the file, in the order they are applied.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("CROWSNEST_DATA_DIR", "data_dir"),
    ("CROWSNEST_DATABASE_URL", "database_url"),
    ("CROWSNEST_LISTEN", "listen"),
    ("CROWSNEST_WORKERS", "workers"),
    ("CROWSNEST_TLS_CERT", "tls.cert"),
    ("CROWSNEST_TLS_KEY", "tls.key"),
    ("CROWSNEST_FEEDS_MIRROR", "feeds.mirror"),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading configuration {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge { path: PathBuf },
    /// The `toml` crate's message names the line, the column and the key.
    #[error("configuration {path}: {message}")]
    Parse { path: String, message: String },
    #[error("configuration {path}: {key}: {reason}")]
    Invalid {
        path: String,
        key: String,
        reason: String,
    },
    #[error("--{flag}: {reason}")]
    Flag { flag: &'static str, reason: String },
    #[error("environment variable {var} (overrides {key}): {reason}")]
    Env {
        var: &'static str,
        key: &'static str,
        reason: String,
    },
}

/// Values given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub workers: Option<usize>,
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Feeds database, SQLite store and layer cache live here.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite store.
    #[serde(default)]
    pub database_url: Option<DatabaseUrl>,
    #[serde(default = "default_listen", deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// In-process workers run by `crowsnest serve`.
    #[serde(default = "default_workers", deserialize_with = "worker_count")]
    pub workers: usize,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub extensions: Extensions,
    #[serde(default)]
    pub schedules: Schedules,
    #[serde(default)]
    pub feeds: Feeds,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub registries: Vec<Registry>,
    /// What scanning one image may cost (`[scan]`, see [`crate::scan_limits`]).
    #[serde(default)]
    pub scan: crate::scan_limits::ScanLimits,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("the default address parses")
}

fn default_workers() -> usize {
    2
}

/// Most in-process workers: each holds one job (and a pull) at a time.
const MAX_WORKERS: usize = 64;

fn parse_workers(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?} is not a worker count from 1 to {MAX_WORKERS}"
        )),
    }
}

fn worker_count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = u64::deserialize(d)?;
    parse_workers(&n.to_string()).map_err(serde::de::Error::custom)
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("{s:?} is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:8080)")
    })
}

fn listen_address<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    parse_listen(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// The API's certificate and key (PEM files).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The two extensions, each on or off for everything unless a cluster or registry says
/// otherwise.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Extensions {
    #[serde(default = "yes")]
    pub kubernetes_discovery: bool,
    #[serde(default = "yes")]
    pub registry_assessment: bool,
}

fn yes() -> bool {
    true
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            kubernetes_discovery: true,
            registry_assessment: true,
        }
    }
}

/// How often things happen.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Schedules {
    #[serde(default = "Schedules::default_registry_poll")]
    pub registry_poll: Interval,
    #[serde(default = "Schedules::default_feed_sync")]
    pub feed_sync: Interval,
    #[serde(default = "Schedules::default_cluster_snapshot")]
    pub cluster_snapshot: Interval,
    /// Images pushed within this window are re-assessed after each feed sync.
    #[serde(default = "Schedules::default_reassess_window")]
    pub reassess_window: Interval,
    /// First wait after a failed job; doubles per failed attempt up to `retry_max`.
    #[serde(default = "Schedules::default_retry_base")]
    pub retry_base: Interval,
    #[serde(default = "Schedules::default_retry_max")]
    pub retry_max: Interval,
    /// How long a worker holds a job without renewing its lease (it renews every third
    /// of this): a killed worker's job is picked up again after at most this long.
    #[serde(default = "Schedules::default_job_lease")]
    pub job_lease: Interval,
}

impl Schedules {
    fn default_registry_poll() -> Interval {
        Interval(Duration::from_secs(15 * 60))
    }
    fn default_feed_sync() -> Interval {
        Interval(Duration::from_secs(24 * 3600))
    }
    fn default_cluster_snapshot() -> Interval {
        Interval(Duration::from_secs(3600))
    }
    fn default_reassess_window() -> Interval {
        Interval(Duration::from_secs(90 * 24 * 3600))
    }
    fn default_retry_base() -> Interval {
        Interval(Duration::from_secs(30))
    }
    fn default_retry_max() -> Interval {
        Interval(Duration::from_secs(3600))
    }
    fn default_job_lease() -> Interval {
        Interval(Duration::from_secs(60))
    }
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            registry_poll: Self::default_registry_poll(),
            feed_sync: Self::default_feed_sync(),
            cluster_snapshot: Self::default_cluster_snapshot(),
            reassess_window: Self::default_reassess_window(),
            retry_base: Self::default_retry_base(),
            retry_max: Self::default_retry_max(),
            job_lease: Self::default_job_lease(),
        }
    }
}

/// Where vulnerability feeds come from.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Feeds {
    /// A mirror of the upstream layout: an `http(s)://` base URL or a directory. `None`:
    /// the real upstream URLs.
    #[serde(default)]
    pub mirror: Option<String>,
}

/// One Kubernetes cluster to snapshot.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The cluster's name in the service: its job key, its status and its snapshots'
    /// cluster id in the store.
    #[serde(deserialize_with = "target_name")]
    pub name: String,
    /// `None`: `$KUBECONFIG` or `~/.kube/config`.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// `None`: the kubeconfig's current context.
    #[serde(default)]
    pub context: Option<String>,
    /// Use the pod's service account (the service runs inside this cluster).
    #[serde(default)]
    pub in_cluster: bool,
    /// Overrides `extensions.kubernetes_discovery` for this cluster.
    #[serde(default)]
    pub kubernetes_discovery: Option<bool>,
}

/// One registry to poll.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(deserialize_with = "target_name")]
    pub name: String,
    /// `host[:port]`, optionally with `https://` (or `http://` together with
    /// `insecure = true`).
    pub url: String,
    #[serde(default)]
    pub credentials: Option<CredentialRef>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Plain HTTP. Never implied.
    #[serde(default)]
    pub insecure: bool,
    /// Repositories polled: those matching any `include` pattern (all when empty) and no
    /// `exclude` pattern.
    #[serde(default)]
    pub include: Vec<Glob>,
    #[serde(default)]
    pub exclude: Vec<Glob>,
    /// The platform picked from multi-platform images.
    #[serde(default = "default_platform", deserialize_with = "platform")]
    pub platform: Platform,
    /// Overrides `extensions.registry_assessment` for this registry.
    #[serde(default)]
    pub registry_assessment: Option<bool>,
}

fn default_platform() -> Platform {
    Platform::linux_amd64()
}

fn platform<'de, D: Deserializer<'de>>(d: D) -> Result<Platform, D::Error> {
    let s = String::deserialize(d)?;
    s.parse()
        .map_err(|e| serde::de::Error::custom(format!("platform {s:?}: {e}")))
}

/// Names of clusters and registries end up in job keys, URLs of the API and log lines.
fn target_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "name {s:?}: 1 to 63 characters of A-Z a-z 0-9 - _ ."
        )))
    }
}

impl Registry {
    /// The registry host as the registry client takes it (`host[:port]`).
    pub fn host(&self) -> &str {
        self.url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))
            .unwrap_or(&self.url)
            .trim_end_matches('/')
    }

    /// Whether `repository` is polled.
    pub fn selects(&self, repository: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(repository)))
            && !self.exclude.iter().any(|g| g.matches(repository))
    }

    pub fn assessment_enabled(&self, extensions: &Extensions) -> bool {
        self.registry_assessment
            .unwrap_or(extensions.registry_assessment)
    }
}

impl Cluster {
    pub fn discovery_enabled(&self, extensions: &Extensions) -> bool {
        self.kubernetes_discovery
            .unwrap_or(extensions.kubernetes_discovery)
    }
}

/// A duration written `30s`, `15m`, `1h` or `90d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(pub Duration);

impl Interval {
    pub fn parse(s: &str) -> Result<Interval, String> {
        let bad = || format!("{s:?} is not a duration like 30s, 15m, 1h or 90d");
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = s.split_at(split);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        // Ten years is more than any schedule needs and keeps every sum of times finite.
        let secs = n
            .checked_mul(unit_secs)
            .filter(|s| (1..=10 * 365 * 86_400).contains(s))
            .ok_or_else(|| format!("{s:?}: a duration from 1s to 3650d"))?;
        Ok(Interval(Duration::from_secs(secs)))
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Interval::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        match s {
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// A repository name pattern: `*` matches within one path segment, `**` across
/// segments, `?` one character other than `/`.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

/// Longest pattern accepted; matching costs pattern × name steps.
const MAX_GLOB_LEN: usize = 256;

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() || pattern.len() > MAX_GLOB_LEN {
            return Err(format!(
                "pattern {pattern:?}: 1 to {MAX_GLOB_LEN} characters"
            ));
        }
        // Repository names are lower-case letters, digits and . _ - / (OCI distribution);
        // anything else in a pattern is a mistake that would never match.
        if let Some(c) = pattern.chars().find(|c| {
            !(c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, '.' | '_' | '-' | '/' | '*' | '?'))
        }) {
            return Err(format!(
                "pattern {pattern:?}: {c:?} cannot appear in a repository name"
            ));
        }
        if pattern.contains("***") {
            return Err(format!("pattern {pattern:?}: use * or **, not ***"));
        }
        Ok(Glob {
            pattern: pattern.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `name` matches the whole pattern. Dynamic programming over (pattern
    /// position, name position): time pattern × name, memory name + 1, no recursion.
    pub fn matches(&self, name: &str) -> bool {
        let p = self.pattern.as_bytes();
        let n = name.as_bytes();
        // reach[j]: the pattern prefix consumed so far matches name[..j].
        let mut reach = vec![false; n.len() + 1];
        reach[0] = true;
        let mut i = 0;
        while i < p.len() {
            let mut next = vec![false; n.len() + 1];
            if p[i] == b'*' {
                let across = p.get(i + 1) == Some(&b'*');
                let mut on = false;
                for j in 0..=n.len() {
                    // A single star cannot extend over the `/` just consumed.
                    if j > 0 && !across && n[j - 1] == b'/' {
                        on = false;
                    }
                    on |= reach[j];
                    next[j] = on;
                }
                i += if across { 2 } else { 1 };
            } else {
                for j in 0..n.len() {
                    if reach[j] && (p[i] == n[j] || (p[i] == b'?' && n[j] != b'/')) {
                        next[j + 1] = true;
                    }
                }
                i += 1;
            }
            reach = next;
        }
        reach[n.len()]
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Glob::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Where a registry's credentials are: `env:VAR` (the variable holds `user:password`) or
/// `file:PATH` (the file holds `user:password`, or is a docker/podman `config.json`).
/// Only the reference is kept; the secret is read by [`CredentialRef::resolve`] when a
/// job needs it and is never stored or logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialRef {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("credentials env:{0}: the variable is not set")]
    EnvMissing(String),
    #[error("credentials env:{0}: expected USER:PASSWORD")]
    EnvMalformed(String),
    #[error("credentials file:{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

impl CredentialRef {
    pub fn parse(s: &str) -> Result<CredentialRef, String> {
        if let Some(var) = s.strip_prefix("env:") {
            let ok = !var.is_empty()
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !var.starts_with(|c: char| c.is_ascii_digit());
            return if ok {
                Ok(CredentialRef::Env(var.to_string()))
            } else {
                Err(format!("env:{var}: not an environment variable name"))
            };
        }
        if let Some(path) = s.strip_prefix("file:") {
            return if path.is_empty() {
                Err("file: needs a path".into())
            } else {
                Ok(CredentialRef::File(PathBuf::from(path)))
            };
        }
        // The value is deliberately not echoed: it may be a password pasted by mistake.
        Err("a credentials reference is env:VARIABLE or file:PATH (never the secret itself)".into())
    }

    /// Reads the credentials for `registry_host` now.
    pub fn resolve(&self, registry_host: &str) -> Result<Credentials, CredentialError> {
        match self {
            CredentialRef::Env(var) => {
                let value =
                    std::env::var(var).map_err(|_| CredentialError::EnvMissing(var.clone()))?;
                Credentials::from_creds_arg(value.trim_end_matches(['\r', '\n']))
                    .map_err(|_| CredentialError::EnvMalformed(var.clone()))
            }
            CredentialRef::File(path) => resolve_file(path, registry_host),
        }
    }
}

fn resolve_file(path: &Path, registry_host: &str) -> Result<Credentials, CredentialError> {
    let fail = |reason: String| CredentialError::File {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_bounded(path, MAX_CREDENTIALS_BYTES).map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    if text.trim_start().starts_with('{') {
        // A docker/podman auth file: the same lookup `--authfile` uses.
        let lookup = AuthFileLookup {
            authfile: Some(path.to_path_buf()),
        };
        return lookup
            .lookup(registry_host)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail(format!("no entry for {registry_host}")));
    }
    let line = text.lines().next().unwrap_or_default();
    Credentials::from_creds_arg(line.trim_end_matches('\r'))
        .map_err(|_| fail("expected USER:PASSWORD on the first line, or a config.json".into()))
}

impl<'de> Deserialize<'de> for CredentialRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CredentialRef::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A PostgreSQL URL. `Debug` and `Display` hide the password it may carry.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<DatabaseUrl, String> {
        if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
            return Err("expected a postgres:// or postgresql:// URL".into());
        }
        url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        Ok(DatabaseUrl(s.to_string()))
    }

    /// The URL with its password, for opening the store. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("redacted"));
                }
                // A password can also ride in the query (`?password=`): drop the query.
                u.set_query(None);
                f.write_str(u.as_str())
            }
            Err(_) => f.write_str("<unparsable database URL>"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DatabaseUrl::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

impl Config {
    /// Reads `path`, then applies the environment overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = read_bounded(path, MAX_CONFIG_BYTES).map_err(|source| {
            if source.kind() == std::io::ErrorKind::Other {
                ConfigError::TooLarge {
                    path: path.to_path_buf(),
                }
            } else {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let name = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| ConfigError::Parse {
            path: name.clone(),
            message: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        })?;
        let mut config = Config::parse(&text, &name)?;
        config.apply_env(|var| std::env::var(var).ok())?;
        Ok(config)
    }

    /// Parses and checks a configuration text; `name` names it in errors.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.check(name)?;
        Ok(config)
    }

    /// Checks what spans several keys.
    fn check(&self, name: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, reason: String| ConfigError::Invalid {
            path: name.to_string(),
            key,
            reason,
        };
        let mut seen = BTreeSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            if !seen.insert(c.name.as_str()) {
                return Err(invalid(
                    format!("clusters[{i}].name"),
                    format!("{:?} is used by an earlier cluster", c.name),
                ));
            }
            if c.in_cluster && (c.kubeconfig.is_some() || c.context.is_some()) {
                return Err(invalid(
                    format!("clusters[{i}] ({})", c.name),
                    "in_cluster = true takes no kubeconfig or context".into(),
                ));
            }
        }
        let mut seen = BTreeSet::new();
        let mut hosts = BTreeSet::new();
        for (i, r) in self.registries.iter().enumerate() {
            // The store and the status pages know a registry by its host.
            if !hosts.insert(r.host()) {
                return Err(invalid(
                    format!("registries[{i}].url ({})", r.name),
                    format!("{} is configured by an earlier registry", r.host()),
                ));
            }
            if !seen.insert(r.name.as_str()) {
                return Err(invalid(
                    format!("registries[{i}].name"),
                    format!("{:?} is used by an earlier registry", r.name),
                ));
            }
            let host = r.host();
            if host.is_empty() || host.contains(['/', '@', ' ', '?', '#']) {
                return Err(invalid(
                    format!("registries[{i}].url ({})", r.name),
                    format!("{:?} is not host[:port] (optionally with https://)", r.url),
                ));
            }
            if r.url.starts_with("http://") && !r.insecure {
                return Err(invalid(
                    format!("registries[{i}].url ({})", r.name),
                    "http:// needs insecure = true (plain HTTP is never implied)".into(),
                ));
            }
        }
        if self.schedules.retry_base > self.schedules.retry_max {
            return Err(invalid(
                "schedules.retry_base".into(),
                format!(
                    "{} is longer than schedules.retry_max ({})",
                    self.schedules.retry_base, self.schedules.retry_max
                ),
            ));
        }
        Ok(())
    }

    /// Applies `CROWSNEST_*` overrides (see [`ENV_OVERRIDES`]); `lookup` reads a variable.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        for &(var, key) in ENV_OVERRIDES {
            let Some(value) = lookup(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            let env_err = |reason: String| ConfigError::Env { var, key, reason };
            match var {
                "CROWSNEST_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "CROWSNEST_DATABASE_URL" => {
                    self.database_url = Some(DatabaseUrl::parse(&value).map_err(env_err)?)
                }
                "CROWSNEST_LISTEN" => self.listen = parse_listen(&value).map_err(env_err)?,
                "CROWSNEST_WORKERS" => self.workers = parse_workers(&value).map_err(env_err)?,
                "CROWSNEST_TLS_CERT" | "CROWSNEST_TLS_KEY" => {
                    let tls = self.tls.get_or_insert_with(|| Tls {
                        cert: PathBuf::new(),
                        key: PathBuf::new(),
                    });
                    if var == "CROWSNEST_TLS_CERT" {
                        tls.cert = PathBuf::from(value);
                    } else {
                        tls.key = PathBuf::from(value);
                    }
                }
                "CROWSNEST_FEEDS_MIRROR" => self.feeds.mirror = Some(value),
                _ => unreachable!("every variable in ENV_OVERRIDES has an arm"),
            }
        }
        if let Some(tls) = &self.tls
            && (tls.cert.as_os_str().is_empty() || tls.key.as_os_str().is_empty())
        {
            return Err(ConfigError::Env {
                var: "CROWSNEST_TLS_CERT",
                key: "tls",
                reason: "TLS needs both a certificate (CROWSNEST_TLS_CERT) and a key (CROWSNEST_TLS_KEY)".into(),
            });
        }
        Ok(())
    }

    /// Applies command-line flags, which win over the file and the environment.
    pub fn apply_overrides(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        if let Some(d) = &o.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(u) = &o.database_url {
            self.database_url =
                Some(DatabaseUrl::parse(u).map_err(|reason| ConfigError::Flag {
                    flag: "database-url",
                    reason,
                })?);
        }
        if let Some(l) = &o.listen {
            self.listen = parse_listen(l).map_err(|reason| ConfigError::Flag {
                flag: "listen",
                reason,
            })?;
        }
        if let Some(n) = o.workers {
            self.workers = parse_workers(&n.to_string()).map_err(|reason| ConfigError::Flag {
                flag: "workers",
                reason,
            })?;
        }
        Ok(())
    }

    /// The registry with this configured name, or else this host (`host[:port]`, with or
    /// without a scheme): how an API caller may name it.
    pub fn registry_by_name_or_url(&self, target: &str) -> Option<&Registry> {
        let host = target
            .strip_prefix("https://")
            .or_else(|| target.strip_prefix("http://"))
            .unwrap_or(target)
            .trim_end_matches('/');
        self.registry(target)
            .or_else(|| self.registries.iter().find(|r| r.host() == host))
    }

    /// The effective configuration for the settings page: no credential reference, no
    /// database password (the URL is shown redacted), no TLS key path.
    pub fn settings(&self) -> serde_json::Value {
        let s = &self.schedules;
        serde_json::json!({
            "dataDir": self.data_dir,
            "database": self.database_url.as_ref().map_or_else(|| "sqlite".to_string(), ToString::to_string),
            "listen": self.listen.to_string(),
            "workers": self.workers,
            "tls": self.tls.is_some(),
            "extensions": {
                "kubernetesDiscovery": self.extensions.kubernetes_discovery,
                "registryAssessment": self.extensions.registry_assessment,
            },
            "schedules": {
                "registryPoll": s.registry_poll.to_string(),
                "feedSync": s.feed_sync.to_string(),
                "clusterSnapshot": s.cluster_snapshot.to_string(),
                "reassessWindow": s.reassess_window.to_string(),
                "retryBase": s.retry_base.to_string(),
                "retryMax": s.retry_max.to_string(),
                "jobLease": s.job_lease.to_string(),
            },
            "feeds": { "mirror": self.feeds.mirror },
            "clusters": self.clusters.iter().map(|c| serde_json::json!({
                "name": c.name,
                "context": c.context,
                "inCluster": c.in_cluster,
                "kubernetesDiscovery": c.discovery_enabled(&self.extensions),
            })).collect::<Vec<_>>(),
            "registries": self.registries.iter().map(|r| serde_json::json!({
                "name": r.name,
                "url": r.host(),
                "insecure": r.insecure,
                "credentialsConfigured": r.credentials.is_some(),
                "include": r.include.iter().map(Glob::as_str).collect::<Vec<_>>(),
                "exclude": r.exclude.iter().map(Glob::as_str).collect::<Vec<_>>(),
                "platform": r.platform.to_string(),
                "registryAssessment": r.assessment_enabled(&self.extensions),
            })).collect::<Vec<_>>(),
        })
    }

    pub fn registry(&self, name: &str) -> Option<&Registry> {
        self.registries.iter().find(|r| r.name == name)
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/crowsnest.toml");

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.toml")
    }

    #[test]
    fn the_example_file_parses_with_every_section() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/crowsnest"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.schedules.registry_poll.0, Duration::from_secs(900));
        assert_eq!(c.schedules.reassess_window.to_string(), "90d");
        assert_eq!(c.clusters[0].name, "prod");
        assert_eq!(c.scan.limits().max_scan_time, Duration::from_secs(1800));
        assert_eq!(c.scan.layer_cache_bytes(), 4096 << 20);
        let r = &c.registries[0];
        assert_eq!(
            r.credentials,
            Some(CredentialRef::Env("CROWSNEST_REGISTRY_INTERNAL".into()))
        );
        assert!(r.selects("shop/web"));
        assert!(r.selects("shop/team/api"));
        assert!(r.selects("platform/proxy"));
        assert!(!r.selects("platform/a/b"));
        assert!(!r.selects("shop/scratch-1"));
        assert!(!r.selects("other"));
    }

    #[test]
    fn defaults_are_loopback_and_the_documented_schedules() {
        let c = parse("data_dir = \"/d\"").unwrap();
        assert_eq!(c.listen, default_listen());
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.schedules, Schedules::default());
        assert_eq!(c.schedules.feed_sync.to_string(), "1d");
        assert_eq!(c.schedules.cluster_snapshot.to_string(), "1h");
        assert!(c.extensions.kubernetes_discovery && c.extensions.registry_assessment);
        assert!(c.database_url.is_none() && c.tls.is_none());
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it_and_its_line() {
        let text = "data_dir = \"/d\"\n[schedules]\nregistry_pol = \"5m\"\n";
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains("registry_pol"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_line() {
        let cases = [
            ("[schedules]\nfeed_sync = \"daily\"", "daily"),
            ("[schedules]\nfeed_sync = \"0s\"", "from 1s"),
            ("listen = \"localhost\"", "ADDR:PORT"),
            ("workers = 0", "worker count"),
            (
                "[[registries]]\nname = \"r\"\nurl = \"h\"\ninclude = [\"Shop/*\"]",
                "'S'",
            ),
            (
                "[[registries]]\nname = \"r\"\nurl = \"h\"\ncredentials = \"hunter2\"",
                "env:",
            ),
            (
                "[[registries]]\nname = \"r\"\nurl = \"h\"\nplatform = \"x\"",
                "platform",
            ),
            ("[[clusters]]\nname = \"a b\"", "name \"a b\""),
            ("database_url = \"mysql://x\"", "postgres://"),
        ];
        for (body, expect) in cases {
            let text = format!("data_dir = \"/d\"\n{body}\n");
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(expect), "{body}: {e}");
            assert!(
                e.contains("line 2")
                    || e.contains("line 3")
                    || e.contains("line 4")
                    || e.contains("line 5"),
                "{body}: {e}"
            );
        }
    }

    #[test]
    fn a_password_given_instead_of_a_reference_is_not_echoed() {
        let text = "data_dir = \"/d\"\n[[registries]]\nname = \"r\"\nurl = \"h\"\ncredentials = \"hunter2-secret\"\n";
        let e = parse(text).unwrap_err().to_string();
        // toml quotes the offending line in its message; the reason itself never does.
        let reason = e.lines().last().unwrap();
        assert!(!reason.contains("hunter2"), "{e}");
    }

    #[test]
    fn cross_key_mistakes_are_errors_naming_the_key() {
        let cases = [
            (
                "[[registries]]\nname = \"r\"\nurl = \"h\"\n[[registries]]\nname = \"r\"\nurl = \"g\"",
                "registries[1].name",
            ),
            (
                "[[registries]]\nname = \"r\"\nurl = \"h\"\n[[registries]]\nname = \"s\"\nurl = \"https://h/\"",
                "h is configured by an earlier",
            ),
            (
                "[[registries]]\nname = \"r\"\nurl = \"http://h\"",
                "insecure = true",
            ),
            (
                "[[registries]]\nname = \"r\"\nurl = \"h/path\"",
                "registries[0].url",
            ),
            (
                "[[clusters]]\nname = \"c\"\nin_cluster = true\ncontext = \"x\"",
                "clusters[0]",
            ),
            (
                "[schedules]\nretry_base = \"2h\"\nretry_max = \"1h\"",
                "retry_base",
            ),
        ];
        for (body, expect) in cases {
            let e = parse(&format!("data_dir = \"/d\"\n{body}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{body}: {e}");
        }
    }

    #[test]
    fn debug_and_display_never_show_a_password() {
        let text = "data_dir = \"/d\"\ndatabase_url = \"postgres://svc:s3cret-pw@db:5432/cn?password=other-secret\"\n[[registries]]\nname = \"r\"\nurl = \"h\"\ncredentials = \"env:REG_CREDS\"\n";
        let c = parse(text).unwrap();
        let shown = format!("{c:?} {}", c.database_url.as_ref().unwrap());
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(!shown.contains("other-secret"), "{shown}");
        assert!(shown.contains("svc:redacted@db:5432/cn"), "{shown}");
        assert_eq!(
            c.database_url.unwrap().expose(),
            "postgres://svc:s3cret-pw@db:5432/cn?password=other-secret"
        );
    }

    #[test]
    fn credentials_are_read_only_when_resolved_and_stay_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("creds");
        std::fs::write(&plain, "reader:pa55word\n").unwrap();
        let c = CredentialRef::File(plain.clone())
            .resolve("h:5000")
            .unwrap();
        assert_eq!((c.username.as_str(), c.secret()), ("reader", "pa55word"));
        assert!(!format!("{c:?} {c}").contains("pa55word"));

        let docker = dir.path().join("config.json");
        // "reader:fromjson" in base64.
        std::fs::write(
            &docker,
            r#"{"auths":{"h:5000":{"auth":"cmVhZGVyOmZyb21qc29u"}}}"#,
        )
        .unwrap();
        let c = CredentialRef::File(docker.clone())
            .resolve("h:5000")
            .unwrap();
        assert_eq!(c.secret(), "fromjson");
        let e = CredentialRef::File(docker).resolve("other:1").unwrap_err();
        assert!(e.to_string().contains("no entry for other:1"), "{e}");

        let missing = CredentialRef::File(dir.path().join("nope")).resolve("h");
        assert!(missing.unwrap_err().to_string().contains("nope"));
        let unset = CredentialRef::Env("CROWSNEST_TEST_UNSET_VARIABLE_X".into()).resolve("h");
        assert!(matches!(unset, Err(CredentialError::EnvMissing(_))));
    }

    #[test]
    fn environment_overrides_replace_file_values_and_are_checked() {
        let mut c = parse("data_dir = \"/d\"\nlisten = \"127.0.0.1:1\"").unwrap();
        let env = |var: &str| match var {
            "CROWSNEST_DATA_DIR" => Some("/other".to_string()),
            "CROWSNEST_LISTEN" => Some("0.0.0.0:9000".to_string()),
            "CROWSNEST_WORKERS" => Some("7".to_string()),
            "CROWSNEST_DATABASE_URL" => Some("postgres://u@h/db".to_string()),
            "CROWSNEST_FEEDS_MIRROR" => Some("/mirror".to_string()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/other"));
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.workers, 7);
        assert_eq!(c.database_url.unwrap().expose(), "postgres://u@h/db");
        assert_eq!(c.feeds.mirror.as_deref(), Some("/mirror"));

        let mut c = parse("data_dir = \"/d\"").unwrap();
        let e = c
            .apply_env(|v| (v == "CROWSNEST_LISTEN").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(e.to_string().contains("CROWSNEST_LISTEN"), "{e}");
        let e = c
            .apply_env(|v| (v == "CROWSNEST_TLS_CERT").then(|| "/c.pem".to_string()))
            .unwrap_err();
        assert!(e.to_string().contains("CROWSNEST_TLS_KEY"), "{e}");
    }

    #[test]
    fn settings_show_no_secret_and_no_credential_reference() {
        let text = "data_dir = \"/d\"\ndatabase_url = \"postgres://svc:pw-77@db/cn\"\n[tls]\ncert = \"/c\"\nkey = \"/tls-key-path\"\n[[registries]]\nname = \"r\"\nurl = \"https://h:5000\"\ncredentials = \"env:REG_SECRET_VAR\"\n";
        let c = parse(text).unwrap();
        let shown = c.settings().to_string();
        for hidden in ["pw-77", "REG_SECRET_VAR", "tls-key-path"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
        assert!(shown.contains("\"credentialsConfigured\":true"), "{shown}");
        assert_eq!(
            c.registry_by_name_or_url("https://h:5000/").unwrap().name,
            "r"
        );
        assert_eq!(c.registry_by_name_or_url("r").unwrap().name, "r");
        assert!(c.registry_by_name_or_url("other").is_none());
    }

    #[test]
    fn extensions_switch_per_scope() {
        let text = "data_dir = \"/d\"\n[extensions]\nregistry_assessment = false\n\
                    [[registries]]\nname = \"a\"\nurl = \"h\"\n\
                    [[registries]]\nname = \"b\"\nurl = \"g\"\nregistry_assessment = true\n\
                    [[clusters]]\nname = \"c\"\nkubernetes_discovery = false\n";
        let c = parse(text).unwrap();
        assert!(!c.registry("a").unwrap().assessment_enabled(&c.extensions));
        assert!(c.registry("b").unwrap().assessment_enabled(&c.extensions));
        assert!(!c.cluster("c").unwrap().discovery_enabled(&c.extensions));
    }

    #[test]
    fn globs_match_segments_and_across() {
        let g = |p: &str| Glob::new(p).unwrap();
        assert!(g("shop/*").matches("shop/web"));
        assert!(!g("shop/*").matches("shop/a/b"));
        assert!(g("shop/**").matches("shop/a/b"));
        assert!(g("**").matches("a/b/c"));
        assert!(g("*").matches("a"));
        assert!(!g("*").matches("a/b"));
        assert!(g("**/web").matches("x/y/web"));
        assert!(g("a?c").matches("abc"));
        assert!(!g("a?c").matches("a/c"));
        assert!(!g("shop").matches("shop/web"));
        assert!(g("*-test").matches("web-test"));
        assert!(!g("*-test").matches("web-test2"));
        assert!(Glob::new("").is_err());
        assert!(Glob::new("***").is_err());
        assert!(Glob::new(&"a".repeat(300)).is_err());
    }

    #[test]
    fn hostile_configuration_text_is_an_error_not_a_panic() {
        let long_key = format!("{} = 1", "k".repeat(100_000));
        let deep = format!("x = {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let hostile = [
            "",
            "\0",
            "data_dir = ",
            "data_dir = 5",
            "[[registries]]\nname = 5",
            "data_dir = \"/d\"\n[schedules]\nregistry_poll = \"99999999999999999999d\"",
            "data_dir = \"/d\"\n[schedules]\nregistry_poll = \"18446744073709551615d\"",
            "data_dir = \"/d\"\nworkers = -1",
            "data_dir = \"/d\"\nworkers = 99999999999",
            long_key.as_str(),
            deep.as_str(),
        ];
        for text in hostile {
            assert!(parse(text).is_err(), "{:?}", &text[..text.len().min(40)]);
        }
    }

    #[test]
    fn oversized_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; (MAX_CONFIG_BYTES + 1) as usize]).unwrap();
        assert!(matches!(
            Config::load(&big),
            Err(ConfigError::TooLarge { .. })
        ));
        let e = Config::load(&dir.path().join("absent.toml")).unwrap_err();
        assert!(e.to_string().contains("absent.toml"), "{e}");
    }
}
