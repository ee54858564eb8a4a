//! The `[scan]` section of the configuration: what scanning one image may cost.
//!
//! ```toml
//! [scan]
//! max_layers = 128
//! max_layer_size_mib = 32768
//! max_image_size_mib = 65536
//! max_layer_entries = 2000000
//! max_image_entries = 4000000
//! max_analyzed_mib = 8192
//! max_scan_time = "30m"
//! layer_cache_mib = 4096
//! ```
//!
//! An image over a limit fails with a status naming the count and the limit; the
//! defaults (those of [`Limits::default`]) admit every genuine image we know of.

use crowsnest_acquire::walk::Limits;
use serde::Deserialize;

use crate::config::Interval;

const MIB: u64 = 1 << 20;

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScanLimits {
    #[serde(default)]
    pub max_layers: Option<usize>,
    #[serde(default)]
    pub max_layer_size_mib: Option<u64>,
    #[serde(default)]
    pub max_image_size_mib: Option<u64>,
    #[serde(default)]
    pub max_layer_entries: Option<usize>,
    #[serde(default)]
    pub max_image_entries: Option<u64>,
    #[serde(default)]
    pub max_analyzed_mib: Option<u64>,
    #[serde(default)]
    pub max_scan_time: Option<Interval>,
    /// Bound on the layer cache under the data directory.
    #[serde(default)]
    pub layer_cache_mib: Option<u64>,
}

impl ScanLimits {
    /// The walk's limits: each setting given, the default for the rest.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        let mib = |v: Option<u64>, default: u64| v.map_or(default, |m| m.saturating_mul(MIB));
        Limits {
            max_layers: self.max_layers.unwrap_or(d.max_layers),
            max_layer_bytes: mib(self.max_layer_size_mib, d.max_layer_bytes),
            max_image_bytes: mib(self.max_image_size_mib, d.max_image_bytes),
            max_entries: self.max_layer_entries.unwrap_or(d.max_entries),
            max_image_entries: self.max_image_entries.unwrap_or(d.max_image_entries),
            max_analyzed_bytes: mib(self.max_analyzed_mib, d.max_analyzed_bytes),
            max_scan_time: self.max_scan_time.map_or(d.max_scan_time, |i| i.0),
            ..d
        }
    }

    pub fn layer_cache_bytes(&self) -> u64 {
        self.layer_cache_mib
            .map_or(crowsnest_acquire::cache::DEFAULT_MAX_BYTES, |m| {
                m.saturating_mul(MIB)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_settings_override_the_defaults() {
        let scan: ScanLimits =
            toml::from_str("max_layers = 10\nmax_scan_time = \"5m\"\nlayer_cache_mib = 100\n")
                .unwrap();
        let limits = scan.limits();
        assert_eq!(limits.max_layers, 10);
        assert_eq!(limits.max_scan_time.as_secs(), 300);
        assert_eq!(limits.max_entries, Limits::default().max_entries);
        assert_eq!(scan.layer_cache_bytes(), 100 << 20);
        assert!(toml::from_str::<ScanLimits>("max_layerz = 1").is_err());
    }
}
