//! Python distributions installed by pip and friends: the core-metadata header block of
//! `*.dist-info/METADATA` (wheels), `*.egg-info/PKG-INFO` (setuptools directories) and
//! `*.egg-info` files (distutils' single-file form).
//!
//! Core metadata is an RFC 822-style header block, then a blank line, then a free-form
//! description that can be megabytes long. Only the header block is read, and at most
//! [`HEADER_CAP`] bytes of it.

use std::io::{BufRead, BufReader, Read};

use crowsnest_model::{Package, PackageKind};

/// Longest header block read; real ones are a few kilobytes.
pub const HEADER_CAP: u64 = 1 << 20;

/// Longest `License:` value reported as a licence; longer ones are the full licence text,
/// which some projects paste into the field.
const LICENSE_FIELD_MAX: usize = 100;

pub(crate) fn wants(path: &str) -> bool {
    if let Some(dir) = path.strip_suffix("/METADATA") {
        return dir.ends_with(".dist-info");
    }
    if let Some(dir) = path.strip_suffix("/PKG-INFO") {
        return dir.ends_with(".egg-info");
    }
    path.ends_with(".egg-info")
}

/// The header fields this cataloger uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub license: Option<String>,
    pub license_expression: Option<String>,
    /// Last component of each `Classifier: License :: ...` value.
    pub license_classifiers: Vec<String>,
}

/// Reads the header block of a core-metadata file: up to the first blank line or the end,
/// whichever comes first. A block longer than [`HEADER_CAP`] is an error.
pub fn read_headers(content: &mut dyn Read) -> Result<CoreMetadata, String> {
    let mut reader = BufReader::new(content.take(HEADER_CAP + 1));
    let mut meta = CoreMetadata::default();
    let mut consumed: u64 = 0;
    let mut line = Vec::new();
    // The field being read, so continuation lines (leading whitespace) can extend it.
    let mut current: Option<(String, String)> = None;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading metadata headers: {e}"))?;
        consumed += n as u64;
        if consumed > HEADER_CAP {
            return Err(format!(
                "metadata header block is longer than {HEADER_CAP} bytes"
            ));
        }
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            break;
        }
        if text.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push('\n');
                value.push_str(text.trim());
            }
            continue;
        }
        if let Some((key, value)) = current.take() {
            meta.absorb(&key, value);
        }
        match text.split_once(':') {
            Some((key, value)) => {
                current = Some((key.trim().to_string(), value.trim().to_string()))
            }
            None => {
                return Err(format!(
                    "metadata header line without a colon: {:?}",
                    truncate(text)
                ));
            }
        }
    }
    if let Some((key, value)) = current.take() {
        meta.absorb(&key, value);
    }
    Ok(meta)
}

impl CoreMetadata {
    fn absorb(&mut self, key: &str, value: String) {
        // Header names are case-insensitive; the first Name/Version wins, as in pip.
        if key.eq_ignore_ascii_case("Name") {
            self.name.get_or_insert(value);
        } else if key.eq_ignore_ascii_case("Version") {
            self.version.get_or_insert(value);
        } else if key.eq_ignore_ascii_case("License") {
            self.license.get_or_insert(value);
        } else if key.eq_ignore_ascii_case("License-Expression") {
            self.license_expression.get_or_insert(value);
        } else if key.eq_ignore_ascii_case("Classifier")
            && let Some(rest) = value.strip_prefix("License ::")
            && let Some(last) = rest.rsplit("::").next()
        {
            let last = last.trim();
            if !last.is_empty() && last != "OSI Approved" {
                self.license_classifiers.push(last.to_string());
            }
        }
    }

    /// The licences worth reporting: the SPDX expression when there is one, else a short
    /// `License:` value, else the classifiers.
    fn licenses(&self) -> Vec<String> {
        if let Some(expr) = self.license_expression.as_ref().filter(|e| !e.is_empty()) {
            return vec![expr.clone()];
        }
        if let Some(license) = self.license.as_ref()
            && !license.is_empty()
            && license.len() <= LICENSE_FIELD_MAX
            && !license.contains('\n')
            && !license.eq_ignore_ascii_case("UNKNOWN")
        {
            return vec![license.clone()];
        }
        self.license_classifiers.clone()
    }
}

/// A distribution name normalized as PEP 503 says (the shared definition).
pub use crowsnest_model::names::pep503 as normalize_name;

pub(crate) fn analyze(path: &str, content: &mut dyn Read) -> Result<Vec<Package>, String> {
    let meta = read_headers(content)?;
    let name = meta.name.clone().filter(|n| !n.is_empty());
    let version = meta.version.clone().filter(|v| !v.is_empty());
    let (Some(name), Some(version)) = (name, version) else {
        return Err("metadata has no Name or no Version header".to_string());
    };
    let purl = super::purl(PackageKind::Python, None, &normalize_name(&name), &version)?;
    let licenses = meta.licenses();
    Ok(vec![super::package(
        PackageKind::Python,
        name,
        version,
        purl,
        licenses,
        path.to_string(),
    )])
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The header block of PyYAML 6.0.1's METADATA as pip installs it (abridged description).
    const PYYAML: &str = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\nSummary: YAML parser and emitter for Python\nHome-page: https://pyyaml.org/\nAuthor: Kirill Simonov\nLicense: MIT\nClassifier: Development Status :: 5 - Production/Stable\nClassifier: License :: OSI Approved :: MIT License\nRequires-Python: >=3.6\nLicense-File: LICENSE\n\nYAML is a data serialization format designed for human readability\nName: NotAHeader\n";

    fn run(path: &str, text: &str) -> Result<Vec<Package>, String> {
        analyze(path, &mut text.as_bytes())
    }

    #[test]
    fn dist_info_metadata() {
        let path = "/usr/local/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA";
        assert!(wants(path));
        let pkgs = run(path, PYYAML).unwrap();
        assert_eq!(pkgs.len(), 1);
        let p = &pkgs[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("PyYAML", "6.0.1"));
        assert_eq!(p.purl, "pkg:pypi/pyyaml@6.0.1");
        assert_eq!(p.licenses, vec!["MIT"]);
        assert_eq!(p.evidence, vec![path]);
    }

    #[test]
    fn continuation_lines_and_long_license_text() {
        let text = "Name: zope.interface\nVersion: 6.1\nLicense: ZPL 2.1\n  second line of licence\nClassifier: License :: OSI Approved :: Zope Public License\n\n";
        let p = &run("/x/zope.interface-6.1.egg-info/PKG-INFO", text).unwrap()[0];
        assert_eq!(p.purl, "pkg:pypi/zope-interface@6.1");
        // The License field is multi-line, so the classifier is reported instead.
        assert_eq!(p.licenses, vec!["Zope Public License"]);
    }

    #[test]
    fn license_expression_wins() {
        let text = "Name: Foo__Bar.baz\nVersion: 1\nLicense-Expression: Apache-2.0 OR MIT\nLicense: whatever\n";
        let p = &run("/x/foo.egg-info", text).unwrap()[0];
        assert_eq!(p.licenses, vec!["Apache-2.0 OR MIT"]);
        assert_eq!(p.purl, "pkg:pypi/foo-bar-baz@1");
    }

    #[test]
    fn wants_only_metadata_files() {
        assert!(wants("/usr/lib/python3/dist-packages/foo.egg-info"));
        assert!(wants("/x/foo-1.0.egg-info/PKG-INFO"));
        assert!(!wants("/x/foo-1.0.dist-info/RECORD"));
        assert!(!wants("/x/METADATA"));
        assert!(!wants("/x/foo/PKG-INFO"));
    }

    #[test]
    fn pep503_normalization() {
        assert_eq!(normalize_name("Foo.._-Bar"), "foo-bar");
        assert_eq!(normalize_name("typing_extensions"), "typing-extensions");
    }

    #[test]
    fn hostile_missing_fields_and_garbage() {
        assert!(
            run("/x/a.egg-info", "Version: 1\n\n")
                .unwrap_err()
                .contains("no Name")
        );
        assert!(run("/x/a.egg-info", "").is_err());
        assert!(
            run("/x/a.egg-info", "\u{0}\u{1}binary junk")
                .unwrap_err()
                .contains("without a colon")
        );
    }

    #[test]
    fn hostile_100_mb_metadata_reads_only_the_headers() {
        // 100 MB of description after the headers: only the header block is consumed.
        let headers = b"Name: big\nVersion: 1.0\n\n".to_vec();
        let mut body = std::io::repeat(b'x').take(100 << 20);
        let mut counting = Counting {
            inner: headers.chain(&mut body),
            read: 0,
        };
        let pkgs = analyze("/x/big-1.0.dist-info/METADATA", &mut counting).unwrap();
        assert_eq!(pkgs[0].version, "1.0");
        assert!(counting.read < 64 << 10, "read {} bytes", counting.read);

        // 100 MB of one endless header: an error after the cap, not 100 MB in memory.
        let mut endless = b"Name: ".chain(std::io::repeat(b'y').take(100 << 20));
        let mut counting = Counting {
            inner: &mut endless,
            read: 0,
        };
        let err = analyze("/x/big-1.0.dist-info/METADATA", &mut counting).unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        assert!(
            counting.read <= HEADER_CAP + (64 << 10),
            "read {} bytes",
            counting.read
        );
    }

    struct Counting<R> {
        inner: R,
        read: u64,
    }
    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = analyze("/x/a.dist-info/METADATA", &mut bytes.as_slice());
        }
    }
}
