//! What the store keeps, as Rust values. Both back ends read and write exactly these.

use std::time::Duration;

use crowsnest_model::finding::Finding;
use crowsnest_model::{Digest, Distro, Package};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Result, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegistryId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepositoryId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub i64);

/// One image seen in one repository during a registry poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSighting {
    /// The manifest digest: images are content-addressed by it.
    pub digest: Digest,
    pub media_type: String,
    /// `linux/amd64`, when the manifest is for one platform.
    pub platform: Option<String>,
    /// `created` from the image config.
    pub created: Option<OffsetDateTime>,
    /// When the registry says it was pushed, if it says.
    pub pushed: Option<OffsetDateTime>,
    /// Every tag of the repository that points at this digest now.
    pub tags: Vec<String>,
}

/// An image and every place it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDetails {
    pub digest: Digest,
    pub media_type: String,
    pub platform: Option<String>,
    pub created: Option<OffsetDateTime>,
    pub first_seen: OffsetDateTime,
    /// Sorted by registry URL, then repository name.
    pub locations: Vec<ImageLocation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLocation {
    pub registry_url: String,
    pub repository: String,
    /// Sorted.
    pub tags: Vec<String>,
    pub pushed: Option<OffsetDateTime>,
    pub last_seen: OffsetDateTime,
}

/// The packages of one image, as one cataloger version extracted them. An image has at
/// most one inventory per cataloger version; a new cataloger version means re-extraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inventory {
    pub cataloger_version: String,
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// Set by the store when it writes the inventory; ignored on input.
    pub created: Option<OffsetDateTime>,
}

/// The result of matching one image's inventory against the advisory database.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The inventory it was computed from.
    pub cataloger_version: String,
    /// Identifies the advisory database state (for example the feed sync time), so
    /// stale assessments can be found after a feed update.
    pub feed_version: String,
    pub assessed: OffsetDateTime,
    pub findings: Vec<Finding>,
}

/// A cluster as discovery saw it at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSnapshot {
    pub cluster_id: String,
    pub taken: OffsetDateTime,
    /// `ok`, `unreachable`, `forbidden`, ...: what the cluster page shows.
    pub status: String,
    pub snapshot: serde_json::Value,
}

/// A job to put in the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    /// What to do (`scan-image`, `sync-feeds`, `snapshot-cluster`, ...).
    pub kind: String,
    /// What to do it to: at most one job per (kind, key) is queued or running at a time.
    pub key: String,
    pub payload: serde_json::Value,
    /// Not to be claimed before this time (`None`: at once).
    pub not_before: Option<OffsetDateTime>,
    /// Attempts before the job is given up as failed (at least 1).
    pub max_attempts: u32,
}

impl JobSpec {
    pub fn new(
        kind: impl Into<String>,
        key: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        JobSpec {
            kind: kind.into(),
            key: key.into(),
            payload,
            not_before: None,
            max_attempts: 5,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.kind.is_empty() || self.key.is_empty() {
            return Err(StoreError::Invalid {
                what: "job",
                reason: "kind and key must not be empty".into(),
            });
        }
        if self.max_attempts == 0 {
            return Err(StoreError::Invalid {
                what: "job",
                reason: format!(
                    "{}/{}: max_attempts must be at least 1",
                    self.kind, self.key
                ),
            });
        }
        Ok(())
    }
}

/// What `enqueue` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    New(JobId),
    /// A job with the same kind and key is already queued or running: nothing was added.
    AlreadyActive(JobId),
}

impl Enqueued {
    pub fn id(self) -> JobId {
        match self {
            Enqueued::New(id) | Enqueued::AlreadyActive(id) => id,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub(crate) fn parse(job: i64, s: &str) -> Result<JobState> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => {
                return Err(StoreError::corrupt(
                    format!("job {job}"),
                    format!("unknown state {other:?}"),
                ));
            }
        })
    }
}

/// A job as the store holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub not_before: OffsetDateTime,
    pub attempts: u32,
    pub max_attempts: u32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// A claimed job. Only the holder of the current lease can renew, complete or fail it;
/// `attempt` tells one claim of a job from a later one after a lease expired.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    pub job: JobId,
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
    pub worker: String,
    pub attempt: u32,
    pub until: OffsetDateTime,
}

/// How long a failed job waits before its next attempt: `base`, doubling per attempt,
/// never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// Jobs waiting and running, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Queued jobs whose `not_before` has passed.
    pub ready: u64,
    /// Queued jobs waiting for their `not_before` (retries in backoff, scheduled work).
    pub delayed: u64,
    pub running: u64,
}

/// Milliseconds since the Unix epoch: how both back ends store times.
pub(crate) fn to_millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

pub(crate) fn from_millis(object: &str, ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt(object, format!("time {ms} ms: {e}")))
}

pub(crate) fn now_millis() -> i64 {
    to_millis(OffsetDateTime::now_utc())
}

pub(crate) fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn parse_digest(object: &str, s: &str) -> Result<Digest> {
    s.parse()
        .map_err(|e| StoreError::corrupt(object, format!("digest: {e}")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(object: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(object, format!("JSON: {e}")))
}

pub(crate) fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid {
        what,
        reason: format!("cannot be written as JSON: {e}"),
    })
}

pub(crate) fn count_u32(object: &str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| StoreError::corrupt(object, format!("count {n} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        assert_eq!(p.delay(1), Duration::from_secs(10));
        assert_eq!(p.delay(2), Duration::from_secs(20));
        assert_eq!(p.delay(3), Duration::from_secs(40));
        assert_eq!(p.delay(4), Duration::from_secs(60));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn hostile_times_are_errors() {
        assert!(from_millis("x", i64::MAX).is_err());
        assert!(from_millis("x", i64::MIN).is_err());
        let t = from_millis("x", 1_700_000_000_123).unwrap();
        assert_eq!(to_millis(t), 1_700_000_000_123);
    }
}
