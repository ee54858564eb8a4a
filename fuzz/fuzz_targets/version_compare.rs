//! Any two strings under every version scheme: never a panic, and the order must be
//! antisymmetric. `scripts/fuzz version_compare` runs it (see that script).
#![no_main]

use std::cmp::Ordering;

use crowsnest_matcher::VersionScheme;
use libfuzzer_sys::fuzz_target;

const SCHEMES: [VersionScheme; 11] = [
    VersionScheme::Dpkg,
    VersionScheme::Apk,
    VersionScheme::Rpm,
    VersionScheme::Pep440,
    VersionScheme::Npm,
    VersionScheme::Cargo,
    VersionScheme::Go,
    VersionScheme::Maven,
    VersionScheme::RubyGems,
    VersionScheme::NuGet,
    VersionScheme::Composer,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The input is two versions separated by the first newline.
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    for scheme in SCHEMES {
        match (scheme.compare(a, b), scheme.compare(b, a)) {
            (Ok(x), Ok(y)) => assert_eq!(x, y.reverse(), "{scheme:?} {a:?} {b:?}"),
            (Err(_), Err(_)) => {}
            (x, y) => panic!("{scheme:?} {a:?} {b:?}: {x:?} vs {y:?}"),
        }
        if scheme.parse_ok(a).is_ok() {
            assert_eq!(scheme.compare(a, a), Ok(Ordering::Equal));
        }
    }
});
