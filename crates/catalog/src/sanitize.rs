//! Package data is text from hostile files. Rust strings are valid UTF-8 already (the
//! parsers decode lossily, so invalid bytes arrive as U+FFFD), but a NUL byte or other
//! control character is valid UTF-8 that PostgreSQL's TEXT cannot hold and that no
//! package manager allows in a name. One such package must not make the whole
//! inventory unstorable: it is dropped, and reported, here.

use crowsnest_model::path::shorten;
use crowsnest_model::{Distro, Package};

/// What is wrong with a package's identity, if anything.
fn identity_problem(field: &str, value: &str) -> Option<String> {
    if value.contains('\0') {
        Some(format!("its {field} contains a NUL byte"))
    } else if value.chars().any(char::is_control) {
        Some(format!("its {field} contains a control character"))
    } else if value.contains(char::REPLACEMENT_CHARACTER) {
        Some(format!("its {field} is not valid UTF-8"))
    } else {
        None
    }
}

/// Removes control characters (NUL included) from descriptive text.
fn clean(value: &mut String) {
    if value.chars().any(char::is_control) {
        value.retain(|c| !c.is_control());
    }
}

/// Keeps the packages whose name and version are clean text, with control characters
/// removed from their other fields; each dropped package is added to `unreadable`
/// under its evidence path.
pub(crate) fn packages(
    packages: Vec<Package>,
    unreadable: &mut Vec<(String, String)>,
) -> Vec<Package> {
    packages
        .into_iter()
        .filter_map(|mut p| {
            let problem = identity_problem("name", &p.name)
                .or_else(|| identity_problem("version", &p.version));
            if let Some(problem) = problem {
                let shown: String = shorten(&p.name)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                let file = p.evidence.first().map_or("", String::as_str);
                let mut file = file.to_string();
                clean(&mut file);
                unreadable.push((file, format!("package {shown:?} dropped: {problem}")));
                return None;
            }
            clean(&mut p.purl);
            p.arch.as_mut().map(clean);
            p.licenses.iter_mut().for_each(clean);
            p.evidence.iter_mut().for_each(clean);
            if let Some(source) = &mut p.source {
                clean(&mut source.name);
                clean(&mut source.version);
            }
            Some(p)
        })
        .collect()
}

/// Removes control characters from the distro's fields.
pub(crate) fn distro(distro: &mut Distro) {
    clean(&mut distro.id);
    clean(&mut distro.version_id);
    distro.codename.as_mut().map(clean);
    distro.pretty_name.as_mut().map(clean);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowsnest_model::PackageKind;

    fn package(name: &str, version: &str) -> Package {
        Package {
            kind: PackageKind::Deb,
            name: name.into(),
            version: version.into(),
            epoch: None,
            arch: Some("amd\u{0}64".into()),
            source: None,
            purl: format!("pkg:deb/debian/{name}@{version}"),
            licenses: vec!["MIT\u{7}".into()],
            layer: None,
            evidence: vec!["/var/lib/dpkg/status".into()],
            identity: None,
        }
    }

    #[test]
    fn bad_identities_are_dropped_and_reported_the_rest_cleaned() {
        let mut unreadable = Vec::new();
        let kept = packages(
            vec![
                package("good", "1.0"),
                package("nul\0name", "1.0"),
                package("ctl", "1.0\u{1b}[31m"),
                package("bad\u{fffd}utf8", "1"),
            ],
            &mut unreadable,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].arch.as_deref(), Some("amd64"));
        assert_eq!(kept[0].licenses, ["MIT"]);
        let reasons: Vec<&str> = unreadable.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "package \"nulname\" dropped: its name contains a NUL byte",
                "package \"ctl\" dropped: its version contains a control character",
                "package \"bad\u{fffd}utf8\" dropped: its name is not valid UTF-8",
            ]
        );
        assert!(unreadable.iter().all(|(f, _)| f == "/var/lib/dpkg/status"));
    }
}
