//! Version comparison per ecosystem, vulnerability matching and risk priority.
//!
//! This is a core crate: it does no I/O. Callers hand it strings and advisory records,
//! or an [`AdvisorySource`] that answers lookups (the feeds crate's database).
//!
//! Entry point for scanning: [`match_packages`] (inventory → findings sorted by
//! priority) against an [`AdvisoryIndex`], which compiles each package's advisories
//! once per feed version (see [`matching`] for re-assessing stored inventories after a
//! feed update); [`priority::reassess`] re-scores findings once the runtime is known.

pub mod cvss;
mod finding;
mod index;
pub mod matching;
pub mod priority;
pub mod range;
pub mod version;

pub use matching::{
    AdvisoryIndex, AdvisorySource, Intel, MatchError, MatchProblem, MatchReport, match_in_context,
    match_packages, normalize_name,
};
pub use range::{RangeError, Verdict, evaluate};
pub use version::{VersionError, VersionScheme};
