//! Properties every scheme must keep on arbitrary input: no panics, reflexivity,
//! antisymmetry, and transitivity on triples that parse.

use std::cmp::Ordering;

use crowsnest_matcher::VersionScheme;
use proptest::prelude::*;

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

/// Version-shaped strings: digits, the letters and separators ecosystems use, and a
/// little of everything else.
fn versionish() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[0-9a-zA-Z.+~^:_!#-]{0,24}",
        2 => "v?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}([-_.~+]?(alpha|beta|rc|pre|dev|post|sp|ga|final|snapshot|p|r)[0-9]{0,2}){0,2}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn reflexive_and_antisymmetric(a in versionish(), b in versionish()) {
        for scheme in SCHEMES {
            let ab = scheme.compare(&a, &b);
            let ba = scheme.compare(&b, &a);
            match (ab, ba) {
                (Ok(x), Ok(y)) => prop_assert_eq!(x, y.reverse(), "{:?}: {:?} vs {:?}", scheme, a, b),
                (Err(_), Err(_)) => {}
                (x, y) => prop_assert!(false, "{scheme:?}: {a:?} vs {b:?} gave {x:?} but reversed {y:?}"),
            }
            if scheme.parse_ok(&a).is_ok() {
                prop_assert_eq!(scheme.compare(&a, &a), Ok(Ordering::Equal));
            }
        }
    }

    #[test]
    fn transitive(a in versionish(), b in versionish(), c in versionish()) {
        // apk orders two versions outside its grammar as plain strings but compares
        // such a version with a conforming one part by part (as `apk version -t` and
        // the shared vectors do), which cannot be transitive; apk is checked on
        // conforming versions below.
        // PHP's `version_compare` makes a `#` part equal to every number (the shared
        // vectors check `1.2.3.# = 1.2.3.1`), which is not transitive either.
        let has_hash = [&a, &b, &c].iter().any(|v| v.contains('#'));
        for scheme in SCHEMES.into_iter().filter(|s| *s != VersionScheme::Apk) {
            if scheme == VersionScheme::Composer && has_hash {
                continue;
            }
            check_transitive(scheme, &a, &b, &c)?;
        }
    }

    #[test]
    fn apk_transitive_on_conforming_versions(a in apk_version(), b in apk_version(), c in apk_version()) {
        check_transitive(VersionScheme::Apk, &a, &b, &c)?;
    }
}

/// Versions in apk's grammar: numbers, an optional letter, suffixes, a hash, `-r#`.
fn apk_version() -> impl Strategy<Value = String> {
    "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(~[0-9a-f]{1,4})?(-r[0-9]{1,2})?"
}

fn check_transitive(scheme: VersionScheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    let (Ok(ab), Ok(bc), Ok(ac)) = (
        scheme.compare(a, b),
        scheme.compare(b, c),
        scheme.compare(a, c),
    ) else {
        return Ok(());
    };
    if ab != Ordering::Greater && bc != Ordering::Greater {
        prop_assert_ne!(
            ac,
            Ordering::Greater,
            "{:?}: {:?} <= {:?} <= {:?}",
            scheme,
            a,
            b,
            c
        );
    }
    if ab == Ordering::Equal && bc == Ordering::Equal {
        prop_assert_eq!(
            ac,
            Ordering::Equal,
            "{:?}: {:?} = {:?} = {:?}",
            scheme,
            a,
            b,
            c
        );
    }
    Ok(())
}
