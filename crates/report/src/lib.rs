//! Report formats of Crowsnest.
//!
//! - SBOMs of an image's inventory: [`cyclonedx::sbom`] (CycloneDX 1.6 JSON) and
//!   [`spdx::sbom`] (SPDX 2.3 JSON), with layer and source-package information.
//! - Findings renderers: [`findings::table`], [`findings::json`], [`findings::sarif`]
//!   (SARIF 2.1.0), [`findings::cyclonedx`] (CycloneDX 1.6 with vulnerabilities, or a
//!   standalone CycloneDX VEX) and [`findings::openvex`] (OpenVEX 0.2); suppressed
//!   findings are shown in each format's own vocabulary.
//! - SBOM input: [`sbom_input::read_sbom`] turns a CycloneDX or SPDX JSON document made
//!   elsewhere back into packages.
//!
//! Every writer is deterministic: the same input gives byte-identical output. Nothing here
//! does I/O; callers hand in bytes and get strings.

pub mod cyclonedx;
pub mod findings;
mod licenses;
pub mod sbom_input;
pub mod spdx;
mod subject;

pub use subject::{DocumentOptions, ImageSubject};
