//! A cluster snapshot: what discovery saw, when, and what it could not read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::kinds::{self, Read};

/// Format version of the saved snapshot JSON.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Annotation that `kubectl apply` fills with a copy of the whole object — for a secret
/// that includes its data, so it is dropped from every object.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Origin {
    /// A kubeconfig context (or the in-cluster service account, context "in-cluster").
    Cluster { context: String, server: String },
    /// Manifest files read offline.
    Manifests { paths: Vec<String> },
}

/// A per-kind hole in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// Plural resource name (the snapshot key).
    pub kind: String,
    pub reason: GapReason,
    /// The API server's message, or the client error.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GapReason {
    /// 403: the identity may not list this kind.
    Forbidden,
    /// The request timed out.
    TimedOut,
    /// Any other error (server error, bad response, too many 410 restarts).
    Failed,
}

/// How a cluster's discovery went, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ClusterStatus {
    /// Every kind read.
    Ok,
    /// Some kinds could not be read; `gaps` in the snapshot say which and why.
    Partial { kinds: Vec<String> },
    /// The identity is known but may read nothing discovery needs.
    Forbidden { message: String },
    /// The credentials were refused (401) or could not be loaded.
    AuthenticationFailed { message: String },
    /// No answer: connection refused, timed out, name not resolved, TLS failure.
    Unreachable {
        reason: Unreachable,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unreachable {
    Refused,
    TimedOut,
    Other,
}

impl ClusterStatus {
    /// Short label for tables: ok, partial, forbidden, authentication-failed, unreachable.
    pub fn label(&self) -> &'static str {
        match self {
            ClusterStatus::Ok => "ok",
            ClusterStatus::Partial { .. } => "partial",
            ClusterStatus::Forbidden { .. } => "forbidden",
            ClusterStatus::AuthenticationFailed { .. } => "authentication-failed",
            ClusterStatus::Unreachable { .. } => "unreachable",
        }
    }
}

/// One snapshot of one cluster (or of a set of manifests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub format: u32,
    /// UID of the kube-system namespace; `server:<url>` when that cannot be read;
    /// `manifests` for an offline snapshot.
    pub cluster_id: String,
    pub origin: Origin,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// `gitVersion` of the API server, when it answered.
    pub version: Option<String>,
    pub status: ClusterStatus,
    pub gaps: Vec<Gap>,
    /// Objects by plural resource name ("pods", "deployments", ...), each list sorted by
    /// namespace and name. Kinds that were not served (absent CRDs) have no entry.
    pub objects: BTreeMap<String, Vec<Value>>,
    /// Manifest objects of kinds a snapshot does not hold ("apiVersion Kind name").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Errors reading or writing a snapshot file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    #[error("cannot read snapshot {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write snapshot {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("snapshot {path} is not valid snapshot JSON: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("snapshot {path} has format {found}; this version reads format {SNAPSHOT_FORMAT}")]
    Format { path: String, found: u32 },
}

/// Largest snapshot file read back (a 10,000-pod cluster is tens of MiB).
pub const MAX_SNAPSHOT_FILE: u64 = 1 << 30;

impl Snapshot {
    /// An empty snapshot of `origin` taken now.
    pub fn new(cluster_id: String, origin: Origin) -> Self {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            cluster_id,
            origin,
            taken_at: OffsetDateTime::now_utc(),
            version: None,
            status: ClusterStatus::Ok,
            gaps: Vec::new(),
            objects: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    /// Objects of one kind (empty when absent).
    pub fn objects_of(&self, plural: &str) -> &[Value] {
        self.objects.get(plural).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Total number of objects.
    pub fn object_count(&self) -> usize {
        self.objects.values().map(Vec::len).sum()
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot is plain JSON data")
    }

    /// Writes the snapshot as JSON to `path` (through a temporary file in the same
    /// directory, so a reader never sees half a snapshot).
    pub fn write_to(&self, path: &Path) -> Result<(), SnapshotFileError> {
        let err = |source| SnapshotFileError::Write {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp-crowsnest");
        std::fs::write(&tmp, self.to_json()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Reads a snapshot written by [`Snapshot::write_to`].
    pub fn read_from(path: &Path) -> Result<Snapshot, SnapshotFileError> {
        use std::io::Read as _;
        let name = || path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| SnapshotFileError::Read {
            path: name(),
            source,
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_SNAPSHOT_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| SnapshotFileError::Read {
                path: name(),
                source,
            })?;
        if bytes.len() as u64 > MAX_SNAPSHOT_FILE {
            return Err(SnapshotFileError::Read {
                path: name(),
                source: std::io::Error::other(format!("larger than {MAX_SNAPSHOT_FILE} bytes")),
            });
        }
        Self::from_json_bytes(&bytes).map_err(|e| match e {
            FromJson::Parse(source) => SnapshotFileError::Parse {
                path: name(),
                source,
            },
            FromJson::Format(found) => SnapshotFileError::Format {
                path: name(),
                found,
            },
        })
    }

    fn from_json_bytes(bytes: &[u8]) -> Result<Snapshot, FromJson> {
        #[derive(Deserialize)]
        struct FormatOnly {
            format: u32,
        }
        let format = serde_json::from_slice::<FormatOnly>(bytes)
            .map_err(FromJson::Parse)?
            .format;
        if format != SNAPSHOT_FORMAT {
            return Err(FromJson::Format(format));
        }
        serde_json::from_slice(bytes).map_err(FromJson::Parse)
    }

    /// Sorts every kind's objects by namespace and name, so that two snapshots of the same
    /// state serialize the same way.
    pub fn sort(&mut self) {
        for list in self.objects.values_mut() {
            list.sort_by_cached_key(object_key);
        }
    }
}

enum FromJson {
    Parse(serde_json::Error),
    Format(u32),
}

/// `namespace/name` (or `name` for cluster-scoped objects).
pub fn object_key(object: &Value) -> String {
    let meta = object.get("metadata");
    let field = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (ns, name) = (field("namespace"), field("name"));
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// Removes what a snapshot must not keep: `metadata.managedFields` (bulky, no posture
/// value), the last-applied annotation (a full copy, with a secret's data), and for
/// secrets and metadata-only kinds everything but type information and metadata.
pub fn slim(plural: &str, object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED_ANNOTATION);
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if kinds::by_plural(plural).is_some_and(|k| k.read == Read::MetadataOnly) {
        // Keep the secret type (it says what kind of credential it is), never its values.
        map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "type"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slim_drops_secret_values_and_copies_of_them() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "s", "namespace": "n",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {LAST_APPLIED_ANNOTATION: "{\"data\":{\"k\":\"c2VjcmV0\"}}"}},
            "data": {"k": "c2VjcmV0"}, "stringData": {"k": "secret"}
        });
        slim("secrets", &mut secret);
        assert_eq!(
            secret,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                   "metadata": {"name": "s", "namespace": "n"}})
        );
    }

    #[test]
    fn slim_keeps_pod_specs() {
        let mut pod = json!({"kind": "Pod", "metadata": {"name": "p", "managedFields": []},
                             "spec": {"nodeName": "n1"}});
        slim("pods", &mut pod);
        assert_eq!(
            pod,
            json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"nodeName": "n1"}})
        );
    }

    #[test]
    fn round_trip_and_hostile_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = Snapshot::new("id".into(), Origin::Manifests { paths: vec![] });
        snap.objects.insert(
            "pods".into(),
            vec![
                json!({"metadata": {"name": "b"}}),
                json!({"metadata": {"name": "a"}}),
            ],
        );
        snap.sort();
        assert_eq!(object_key(&snap.objects["pods"][0]), "a");
        let path = dir.path().join("s.json");
        snap.write_to(&path).unwrap();
        assert_eq!(Snapshot::read_from(&path).unwrap(), snap);

        std::fs::write(&path, b"{\"format\": 99}").unwrap();
        let err = Snapshot::read_from(&path).unwrap_err().to_string();
        assert!(err.contains("format 99"), "{err}");
        std::fs::write(&path, b"\x00\xff[[[[").unwrap();
        let err = Snapshot::read_from(&path).unwrap_err().to_string();
        assert!(
            err.contains("not valid snapshot JSON") && err.contains("s.json"),
            "{err}"
        );
        let deep = "[".repeat(100_000);
        std::fs::write(&path, deep).unwrap();
        assert!(Snapshot::read_from(&path).is_err());
    }
}
