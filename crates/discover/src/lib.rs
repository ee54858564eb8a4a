//! Agentless Kubernetes discovery: snapshots through the API, manifests, doctor.
//!
//! Architecture invariant: no secret or config map value crosses this crate. Secrets and
//! config maps are listed with metadata-only requests, manifests lose their data on read,
//! and every object loses its last-applied annotation (a full copy of the object).
//!
//! Entry points for the CLI:
//! - `crowsnest discover`: [`targets`] then [`discover`] → [`Snapshot`]s
//!   ([`Snapshot::to_json`], [`Snapshot::write_to`]); `--manifests`: [`from_manifests`].
//! - `crowsnest doctor`: [`targets`] then [`doctor()`] → [`DoctorReport`]s.
//! - `crowsnest snapshot diff A B`: [`Snapshot::read_from`] twice, then [`diff()`].

pub mod cluster;
pub mod diff;
pub mod doctor;
pub mod kinds;
pub mod manifests;
pub mod snapshot;

pub use cluster::{
    DiscoverOptions, Source, SourceError, Target, discover, discover_target, targets,
};
pub use diff::{Changed, ObjectRef, SnapshotDiff, diff};
pub use doctor::{
    DoctorReport, Permission, doctor, doctor_target, needed_permissions, rbac_manifest,
};
pub use manifests::{ManifestError, from_manifests};
pub use snapshot::{
    ClusterStatus, Gap, GapReason, Origin, Snapshot, SnapshotFileError, Unreachable,
};
