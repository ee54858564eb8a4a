//! Checking rows read back from either back end: every field is decoded and validated,
//! and a bad one is a [`StoreError::Corrupt`] naming the row.

use crowsnest_model::{Distro, Package};
use time::OffsetDateTime;

use crate::error::{Result, StoreError};
use crate::records::{count_u32, from_millis, parse_digest, parse_json};
use crate::views::{
    ApiToken, ClusterSummary, FindingKey, ImageSummary, RegistrySummary, StoredFinding, TargetKind,
    TargetStatus, TokenRole,
};
use crate::{Assessment, ClusterSnapshot, Inventory, Job, JobId, JobState, Lease, RegistryId};

pub(crate) fn opt_time(object: &str, ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(|ms| from_millis(object, ms)).transpose()
}

/// A jobs row as read, before checking.
pub(crate) struct JobColumns {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub state: String,
    pub not_before: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
}

impl JobColumns {
    pub(crate) fn decode(self) -> Result<Job> {
        let object = format!("job {}", self.id);
        Ok(Job {
            id: JobId(self.id),
            state: JobState::parse(self.id, &self.state)?,
            payload: parse_json(&object, &self.payload)?,
            not_before: from_millis(&object, self.not_before)?,
            attempts: count_u32(&object, self.attempts)?,
            max_attempts: count_u32(&object, self.max_attempts)?,
            lease_until: opt_time(&object, self.lease_until)?,
            kind: self.kind,
            key: self.key,
            lease_owner: self.lease_owner,
            last_error: self.last_error,
        })
    }
}

pub(crate) fn decode_lease(
    id: i64,
    kind: String,
    key: String,
    payload: &str,
    worker: String,
    attempt: i64,
    until: i64,
) -> Result<Lease> {
    let object = format!("job {id}");
    Ok(Lease {
        job: JobId(id),
        payload: parse_json(&object, payload)?,
        attempt: count_u32(&object, attempt)?,
        until: from_millis(&object, until)?,
        kind,
        key,
        worker,
    })
}

pub(crate) fn decode_inventory(
    object: &str,
    cataloger_version: String,
    distro: Option<String>,
    count: i64,
    created: i64,
    jsons: &[String],
) -> Result<Inventory> {
    if usize::try_from(count).ok() != Some(jsons.len()) {
        return Err(StoreError::corrupt(
            object,
            format!(
                "records {count} packages but has {} package rows",
                jsons.len()
            ),
        ));
    }
    let distro: Option<Distro> = distro
        .map(|d| parse_json(&format!("distro of the {object}"), &d))
        .transpose()?;
    let packages = jsons
        .iter()
        .enumerate()
        .map(|(i, j)| parse_json::<Package>(&format!("package #{i} of the {object}"), j))
        .collect::<Result<Vec<_>>>()?;
    Ok(Inventory {
        cataloger_version,
        distro,
        packages,
        created: Some(from_millis(object, created)?),
    })
}

pub(crate) fn decode_assessment(
    object: &str,
    cataloger_version: String,
    feed_version: String,
    assessed: i64,
    count: i64,
    jsons: &[String],
) -> Result<Assessment> {
    if usize::try_from(count).ok() != Some(jsons.len()) {
        return Err(StoreError::corrupt(
            object,
            format!(
                "records {count} findings but has {} finding rows",
                jsons.len()
            ),
        ));
    }
    let findings = jsons
        .iter()
        .enumerate()
        .map(|(i, j)| parse_json(&format!("finding #{i} of the {object}"), j))
        .collect::<Result<Vec<_>>>()?;
    Ok(Assessment {
        cataloger_version,
        feed_version,
        assessed: from_millis(object, assessed)?,
        findings,
    })
}

pub(crate) fn decode_snapshot(
    cluster_id: String,
    id: i64,
    taken: i64,
    status: String,
    json: &str,
) -> Result<ClusterSnapshot> {
    let object = format!("snapshot {id} of cluster {cluster_id}");
    Ok(ClusterSnapshot {
        taken: from_millis(&object, taken)?,
        snapshot: parse_json(&object, json)?,
        cluster_id,
        status,
    })
}

/// A target_status row as read, before checking.
pub(crate) struct TargetColumns {
    pub kind: String,
    pub id: String,
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub next_attempt: Option<i64>,
}

impl TargetColumns {
    pub(crate) fn decode(self) -> Result<TargetStatus> {
        let object = format!("status of {} {}", self.kind, self.id);
        Ok(TargetStatus {
            kind: TargetKind::parse(&object, &self.kind)?,
            last_attempt: opt_time(&object, self.last_attempt)?,
            last_success: opt_time(&object, self.last_success)?,
            consecutive_failures: count_u32(&object, self.consecutive_failures)?,
            next_attempt: opt_time(&object, self.next_attempt)?,
            last_error: self.last_error,
            id: self.id,
        })
    }
}

/// A row of the image list as read, before checking.
pub(crate) struct ImageColumns {
    pub digest: String,
    pub media_type: String,
    pub platform: Option<String>,
    pub created: Option<i64>,
    pub first_seen: i64,
    pub last_pushed: Option<i64>,
    pub repositories: i64,
    pub findings: Option<i64>,
    pub assessed: Option<i64>,
}

impl ImageColumns {
    pub(crate) fn decode(self) -> Result<ImageSummary> {
        let object = format!("image {}", self.digest);
        Ok(ImageSummary {
            digest: parse_digest(&object, &self.digest)?,
            created: opt_time(&object, self.created)?,
            first_seen: from_millis(&object, self.first_seen)?,
            last_pushed: opt_time(&object, self.last_pushed)?,
            repositories: self.repositories.max(0) as u64,
            findings: self.findings.map(|n| n.max(0) as u64),
            assessed: opt_time(&object, self.assessed)?,
            media_type: self.media_type,
            platform: self.platform,
        })
    }
}

/// An api_tokens row as read, before checking.
pub(crate) struct TokenColumns {
    pub name: String,
    pub role: String,
    pub created: i64,
    pub last_used: Option<i64>,
}

impl TokenColumns {
    pub(crate) fn decode(self) -> Result<ApiToken> {
        let object = format!("API token {}", self.name);
        Ok(ApiToken {
            role: TokenRole::parse(&self.role)
                .ok_or_else(|| StoreError::corrupt(&object, format!("role {:?}", self.role)))?,
            created: from_millis(&object, self.created)?,
            last_used: opt_time(&object, self.last_used)?,
            name: self.name,
        })
    }
}

pub(crate) fn token_taken(name: &str) -> StoreError {
    StoreError::Invalid {
        what: "API token",
        reason: format!("a token named {name:?} exists (revoke it first)"),
    }
}

pub(crate) fn decode_registry(
    id: i64,
    url: String,
    created: i64,
    n: i64,
) -> Result<RegistrySummary> {
    Ok(RegistrySummary {
        id: RegistryId(id),
        created: from_millis(&format!("registry {url}"), created)?,
        url,
        repositories: n.max(0) as u64,
    })
}

pub(crate) fn decode_cluster(
    cluster_id: String,
    id: i64,
    taken: i64,
    status: String,
    n: i64,
) -> Result<ClusterSummary> {
    Ok(ClusterSummary {
        taken: from_millis(&format!("snapshot {id} of cluster {cluster_id}"), taken)?,
        cluster_id,
        latest_snapshot: id,
        status,
        snapshots: n.max(0) as u64,
    })
}

pub(crate) fn decode_stored_finding(
    digest: &str,
    ordinal: i64,
    json: &str,
) -> Result<StoredFinding> {
    let object = format!("finding #{ordinal} of {digest}");
    Ok(StoredFinding {
        key: FindingKey {
            digest: parse_digest(&object, digest)?,
            ordinal,
        },
        finding: parse_json(&object, json)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a damaged database hands back, decoding returns (an error or a
        /// value) and never panics.
        #[test]
        fn decoding_never_panics(
            json in ".{0,64}",
            count in proptest::num::i64::ANY,
            time in proptest::num::i64::ANY,
            state in "[a-z]{0,8}",
        ) {
            let rows = vec![json.clone(), "{}".to_string()];
            let _ = decode_inventory("inventory", "c".into(), Some(json.clone()), count, time, &rows);
            let _ = decode_assessment("assessment", "c".into(), "f".into(), time, count, &rows);
            let _ = decode_snapshot("prod".into(), 1, time, "ok".into(), &json);
            let _ = decode_lease(1, "k".into(), "key".into(), &json, "w".into(), count, time);
            let _ = JobColumns {
                id: count,
                kind: "k".into(),
                key: "key".into(),
                payload: json.clone(),
                state,
                not_before: time,
                attempts: count,
                max_attempts: count,
                lease_owner: None,
                lease_until: Some(time),
                last_error: None,
            }
            .decode();
        }
    }

    #[test]
    fn counts_must_match_rows() {
        let err =
            decode_inventory("inventory of x", "c".into(), None, 2, 0, &["{}".into()]).unwrap_err();
        assert!(
            err.to_string().contains("records 2 packages but has 1"),
            "{err}"
        );
        let err = decode_inventory("inventory of x", "c".into(), None, -1, 0, &[]).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
    }
}
