//! Image acquisition: references, registry client, archives, streaming layer walk.

pub mod walk;
