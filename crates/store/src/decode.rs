//! Checking rows read back from either back end: every field is decoded and validated,
//! and a bad one is a [`StoreError::Corrupt`] naming the row.

use crowsnest_model::{Distro, Package};
use time::OffsetDateTime;

use crate::error::{Result, StoreError};
use crate::records::{count_u32, from_millis, parse_json};
use crate::{Assessment, ClusterSnapshot, Inventory, Job, JobId, JobState, Lease};

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
