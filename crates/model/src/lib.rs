//! Shared vocabulary of Crowsnest.
//!
//! Every stage (acquire, catalog, feeds, matcher, discover, graph, store, server) speaks
//! in these types so that stages never import each other sideways. This crate does no
//! I/O: it holds data types and pure functions over them.

pub mod advisory;
pub mod digest;
pub mod exception;
pub mod finding;
pub mod intel;
pub mod layer;
pub mod names;
pub mod package;
pub mod path;
pub mod severity;

pub use digest::{Digest, DigestError};
pub use package::{
    Confidence, CoordinateEvidence, Distro, Identity, Package, PackageKind, SourcePackage,
};
pub use severity::Severity;
