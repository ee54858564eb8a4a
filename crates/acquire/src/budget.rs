//! What scanning one image may cost: per-layer limits, per-image budgets shared by the
//! layers walked in parallel, a wall-time limit and a cancellation flag.
//!
//! Every bound fails the image with an error that says what was counted and the limit
//! ("2,000,001 tar entries, limit 2,000,000"); nothing is silently truncated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bounds on what one layer and one image may cost. The defaults admit every genuine
/// image we know of (the largest public images have < 1M files and < 30 GiB) while
/// keeping a hostile one from exhausting memory, disk or time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum uncompressed bytes of one layer.
    pub max_layer_bytes: u64,
    /// Maximum number of tar entries in one layer.
    pub max_entries: usize,
    /// Largest GNU long-name/long-link or PAX extended-header record; the tar reader
    /// buffers these whole, so they are checked before it sees them.
    pub max_extension_record: u64,
    /// Maximum layers in one image (overlayfs itself stops at 128 lower directories).
    pub max_layers: usize,
    /// Maximum uncompressed bytes of all the layers of an image together.
    pub max_image_bytes: u64,
    /// Maximum tar entries of all the layers of an image together.
    pub max_image_entries: u64,
    /// Maximum bytes of file content handed to analyzers for one image.
    pub max_analyzed_bytes: u64,
    /// Wall-time limit for walking the layers of one image.
    pub max_scan_time: Duration,
}

impl Limits {
    /// The defaults, usable in `const` items (`..Limits::DEFAULT`).
    pub const DEFAULT: Limits = Limits {
        max_layer_bytes: 32 << 30,
        max_entries: 2_000_000,
        max_extension_record: 64 << 10,
        max_layers: 128,
        max_image_bytes: 64 << 30,
        max_image_entries: 4_000_000,
        max_analyzed_bytes: 8 << 30,
        max_scan_time: Duration::from_secs(30 * 60),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why the image budget stopped a walk.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BudgetExceeded {
    #[error("{} {what} across the image's layers, limit {}", grouped(*used), grouped(*limit))]
    Image {
        what: &'static str,
        used: u64,
        limit: u64,
    },
    #[error("the scan took longer than its wall-time limit of {} s", limit.as_secs())]
    Time { limit: Duration },
    #[error("the scan was cancelled (its job was handed to another worker or shut down)")]
    Cancelled,
}

/// The running totals of one image's scan, shared by the threads walking its layers.
#[derive(Debug)]
pub struct ImageBudget {
    limits: Limits,
    bytes: AtomicU64,
    entries: AtomicU64,
    analyzed: AtomicU64,
    deadline: Instant,
    cancel: Arc<AtomicBool>,
}

impl ImageBudget {
    /// A fresh budget whose clock starts now.
    pub fn new(limits: &Limits) -> ImageBudget {
        let now = Instant::now();
        ImageBudget {
            limits: *limits,
            bytes: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            analyzed: AtomicU64::new(0),
            deadline: now.checked_add(limits.max_scan_time).unwrap_or(now),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stops the walk at its next read or entry once `flag` is set (by a worker whose
    /// job lease was lost, or on shutdown).
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> ImageBudget {
        self.cancel = flag;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fails once the deadline passed or the scan was cancelled.
    pub fn check(&self) -> Result<(), BudgetExceeded> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(BudgetExceeded::Cancelled);
        }
        if Instant::now() >= self.deadline {
            return Err(BudgetExceeded::Time {
                limit: self.limits.max_scan_time,
            });
        }
        Ok(())
    }

    /// Counts uncompressed layer bytes.
    pub fn charge_bytes(&self, n: u64) -> Result<(), BudgetExceeded> {
        charge(
            &self.bytes,
            n,
            self.limits.max_image_bytes,
            "uncompressed bytes",
        )?;
        self.check()
    }

    /// Counts tar entries (walked, or taken from the cache or another copy of a layer:
    /// they cost memory all the same).
    pub fn charge_entries(&self, n: u64) -> Result<(), BudgetExceeded> {
        charge(
            &self.entries,
            n,
            self.limits.max_image_entries,
            "tar entries",
        )
    }

    /// Counts bytes of file content read by an analyzer.
    pub fn charge_analyzed(&self, n: u64) -> Result<(), BudgetExceeded> {
        charge(
            &self.analyzed,
            n,
            self.limits.max_analyzed_bytes,
            "bytes handed to analyzers",
        )
    }
}

fn charge(
    counter: &AtomicU64,
    n: u64,
    limit: u64,
    what: &'static str,
) -> Result<(), BudgetExceeded> {
    let used = counter.fetch_add(n, Ordering::Relaxed).saturating_add(n);
    if used > limit {
        return Err(BudgetExceeded::Image { what, used, limit });
    }
    Ok(())
}

/// `2000001` → `2,000,001`: limits are read by people deciding whether to raise them.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(2_000_001), "2,000,001");
    }

    #[test]
    fn budget_counts_across_charges_and_names_the_total() {
        let limits = Limits {
            max_image_entries: 3,
            ..Limits::default()
        };
        let budget = ImageBudget::new(&limits);
        for _ in 0..3 {
            budget.charge_entries(1).unwrap();
        }
        let err = budget.charge_entries(1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "4 tar entries across the image's layers, limit 3"
        );
    }

    #[test]
    fn cancellation_and_deadline_stop_the_scan() {
        let flag = Arc::new(AtomicBool::new(false));
        let budget = ImageBudget::new(&Limits::default()).with_cancel(Arc::clone(&flag));
        budget.check().unwrap();
        flag.store(true, Ordering::Relaxed);
        assert_eq!(budget.check(), Err(BudgetExceeded::Cancelled));
        let expired = ImageBudget::new(&Limits {
            max_scan_time: Duration::ZERO,
            ..Limits::default()
        });
        assert!(matches!(expired.check(), Err(BudgetExceeded::Time { .. })));
    }
}
