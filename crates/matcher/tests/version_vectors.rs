//! Every line of ../shared/testvectors/versions that belongs to an ecosystem Crowsnest
//! orders: `A <op> B` must hold, and so must the mirrored `B <op'> A`.

use std::cmp::Ordering;

use crowsnest_matcher::VersionScheme;

/// Which schemes each vector file applies to. The CRAN, Hackage and Pub files are for
/// ecosystems Crowsnest does not match.
const FILES: &[(&str, &[VersionScheme])] = &[
    ("alpine-versions.txt", &[VersionScheme::Apk]),
    ("alpine-versions-generated.txt", &[VersionScheme::Apk]),
    ("debian-versions.txt", &[VersionScheme::Dpkg]),
    ("debian-versions-generated.txt", &[VersionScheme::Dpkg]),
    ("redhat-versions.txt", &[VersionScheme::Rpm]),
    ("pypi-versions.txt", &[VersionScheme::Pep440]),
    ("pypi-versions-generated.txt", &[VersionScheme::Pep440]),
    (
        "semver-versions.txt",
        &[VersionScheme::Npm, VersionScheme::Cargo, VersionScheme::Go],
    ),
    ("maven-versions.txt", &[VersionScheme::Maven]),
    ("maven-versions-generated.txt", &[VersionScheme::Maven]),
    ("rubygems-versions.txt", &[VersionScheme::RubyGems]),
    (
        "rubygems-versions-generated.txt",
        &[VersionScheme::RubyGems],
    ),
    ("nuget-versions.txt", &[VersionScheme::NuGet]),
    ("packagist-versions.txt", &[VersionScheme::Composer]),
    (
        "packagist-versions-generated.txt",
        &[VersionScheme::Composer],
    ),
];

fn run_file(file: &str, scheme: VersionScheme) -> (usize, Vec<String>) {
    let path = crowsnest_testbed::shared()
        .join("testvectors/versions")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = fields[..] else {
            panic!("{file}:{}: not `A op B`: {line:?}", number + 1);
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator {op:?}", number + 1),
        };
        checked += 1;
        for (x, y, want) in [(a, b, want), (b, a, want.reverse())] {
            match scheme.compare(x, y) {
                Ok(got) if got == want => {}
                got => failures.push(format!(
                    "{file}:{} [{}] {x} vs {y}: want {want:?}, got {got:?}",
                    number + 1,
                    scheme.name()
                )),
            }
        }
    }
    (checked, failures)
}

#[test]
fn every_vector_line_holds() {
    let mut all_failures = Vec::new();
    for (file, schemes) in FILES {
        for scheme in *schemes {
            let (checked, failures) = run_file(file, *scheme);
            assert!(checked > 0, "{file} has no vectors");
            eprintln!(
                "{file} [{}]: {checked} lines, {} failures",
                scheme.name(),
                failures.len()
            );
            all_failures.extend(failures);
        }
    }
    for f in all_failures.iter().take(200) {
        eprintln!("{f}");
    }
    assert!(
        all_failures.is_empty(),
        "{} vector comparisons failed",
        all_failures.len()
    );
}
