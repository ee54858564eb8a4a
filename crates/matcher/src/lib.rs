//! Version comparison per ecosystem, vulnerability matching and risk priority.
//!
//! This is a core crate: it does no I/O. Callers hand it strings and advisory records.

pub mod version;

pub use version::{VersionError, VersionScheme};
