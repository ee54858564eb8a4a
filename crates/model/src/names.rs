//! Package names as ecosystems compare them, so that a name found in an image and the
//! name in an advisory meet. One definition, used by the catalogers (PURLs), the advisory
//! index (feeds) and the matcher.

/// The ecosystem before any `:release` suffix: `Debian:12` → `Debian`.
pub fn base_ecosystem(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// A Python distribution name normalized as PEP 503 says: lowercase, runs of `-`, `_`
/// and `.` collapsed to one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// Normalizes a package name for comparison within an OSV ecosystem:
/// - PyPI: PEP 503;
/// - NuGet and Packagist: lower-case (both registries compare names case-insensitively);
/// - Maven: `groupId:artifactId` with whitespace around the parts removed;
/// - everything else as-is: npm names are case-sensitive (legacy packages such as
///   `JSONStream` differ from a lower-case namesake), and Go module paths, crate names,
///   gems and distro source packages are compared exactly.
pub fn normalize_package_name(ecosystem: &str, name: &str) -> String {
    let name = name.trim();
    match base_ecosystem(ecosystem) {
        "PyPI" => pep503(name),
        "NuGet" | "Packagist" => name.to_lowercase(),
        "Maven" => match name.split_once(':') {
            Some((group, artifact)) => format!("{}:{}", group.trim(), artifact.trim()),
            None => name.to_owned(),
        },
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_per_ecosystem() {
        assert_eq!(
            normalize_package_name("PyPI", "Foo__Bar.baz"),
            "foo-bar-baz"
        );
        assert_eq!(normalize_package_name("PyPI", "PyYAML"), "pyyaml");
        assert_eq!(pep503("Foo.._-Bar"), "foo-bar");
        assert_eq!(normalize_package_name("npm", "JSONStream"), "JSONStream");
        assert_eq!(
            normalize_package_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_package_name("Maven", " org.x : y "), "org.x:y");
        assert_eq!(normalize_package_name("Debian:12", "openssl"), "openssl");
        assert_eq!(base_ecosystem("Ubuntu:22.04:LTS"), "Ubuntu");
    }
}
