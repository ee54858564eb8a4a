//! Test-only access to the test bed that `scripts/testenv/up` builds and starts.
//!
//! Integration tests that need a real part ask for it here. Under `scripts/test`
//! (`CROWSNEST_TESTBED=required`) a missing part fails the test; in a developer's ad-hoc
//! `cargo test` it is skipped with a message, so unit tests stay runnable anywhere.

use std::path::PathBuf;

/// Whether the test bed must be present (set by `scripts/test`).
pub fn required() -> bool {
    std::env::var("CROWSNEST_TESTBED").is_ok_and(|v| v == "required")
}

/// Reads a test-bed variable. Returns `None` (after printing why) when it is missing
/// and the test bed is optional; panics when it is required.
pub fn var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if required() => panic!(
            "test bed variable {name} is not set: run the suite with `bash scripts/test` \
             (or `bash scripts/testenv/up && source ~/.cache/crowsnest/testbed/env.sh`)"
        ),
        _ => {
            eprintln!("skipping: test bed variable {name} is not set (run bash scripts/test)");
            None
        }
    }
}

/// The fixture that `scripts/fixtures/<script>` builds into `$CROWSNEST_CACHE/fixtures/<dir>`,
/// built on demand (the script returns at once when it is up to date); `marker` is a
/// file the finished build holds. `None` (after saying why) when it cannot be built and
/// the test bed is optional; panics when it is required.
pub fn fixture(script: &str, dir: &str, marker: &str) -> Option<PathBuf> {
    let cache = std::env::var("CROWSNEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/crowsnest")
        });
    let out = cache.join("fixtures").join(dir);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/fixtures")
        .join(script);
    let built = std::process::Command::new("bash")
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    if built && out.join(marker).is_file() {
        return Some(out);
    }
    assert!(
        !required(),
        "fixtures could not be built by {}",
        path.display()
    );
    eprintln!(
        "skipping: fixtures could not be built (run bash {})",
        path.display()
    );
    None
}

/// A path-valued test-bed variable.
pub fn path(name: &str) -> Option<PathBuf> {
    var(name).map(PathBuf::from)
}

/// `../shared` beside the clone: feeds and test vectors. Always required: it is part of
/// every checkout's layout, not of the test bed.
pub fn shared() -> PathBuf {
    if let Ok(p) = std::env::var("CROWSNEST_SHARED") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidate = here.join("../../../shared");
    assert!(
        candidate.join("feeds").is_dir(),
        "../shared (feeds, test vectors) not found beside the clone at {}",
        candidate.display()
    );
    candidate
}
