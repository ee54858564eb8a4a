//! Version comparison per ecosystem, vulnerability matching and risk priority.
//!
//! This is a core crate: it does no I/O. Callers hand it strings and advisory records.

pub mod cvss;
pub mod range;
pub mod version;

pub use range::{RangeError, Verdict, evaluate};
pub use version::{VersionError, VersionScheme};
