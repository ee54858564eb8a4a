//! Image acquisition: references, registry client, archives, streaming layer walk.
//!
//! API boundary: this crate only ever *reads* from registries (GET/HEAD) and never writes
//! image content to disk; layers are walked as streams.

pub mod budget;
pub mod cache;
pub mod credentials;
pub mod enumerate;
mod framing;
pub mod image;
pub mod local;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod walk;
