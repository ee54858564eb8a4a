//! Package names as the advisory index stores them: the shared definitions from
//! `crowsnest_model::names`, so that the index, the catalogers and the matcher agree.

pub use crowsnest_model::names::{base_ecosystem, normalize_package_name};
