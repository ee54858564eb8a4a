//! Exceptions to findings: ignore rules and VEX statements, read from their documents
//! and applied to an image's findings.
//!
//! - [`read_ignore_file`]: `.crowsnestignore.yaml` / `.trivyignore.yaml` rules.
//! - [`read_vex`]: one OpenVEX 0.2, CycloneDX (standalone VEX or a BOM with
//!   vulnerabilities) or CSAF 2.0 VEX document, format detected from its content;
//!   [`load_vex_path`] reads a file or every `*.json` under a directory.
//! - [`Exceptions::apply`]: splits findings into open and suppressed ones, with notes
//!   (`under_investigation`, expired rules) and the list of expired rules.
//!
//! Applying never edits a finding: severity, advisory data and priority stay as the
//! matcher made them. Signed documents (in-toto attestations, CSAF signatures) are read
//! as plain documents; their signatures are not verified.

mod csaf;
mod cyclonedx;
mod fields;
pub mod glob;
mod ignore;
mod openvex;
pub mod purl;
mod statement;

use std::path::Path;

use crowsnest_model::Package;
use crowsnest_model::exception::{
    ExpiredRule, FindingNote, NoteKind, SuppressedFinding, Suppression, SuppressionKind, Triage,
};
use crowsnest_model::finding::Finding;
use time::OffsetDateTime;

pub use ignore::{
    Expiry, IgnoreRule, ImageSelector, MAX_IGNORE_FILE, PackageSelector, VersionRange,
    read_ignore_file,
};
pub use purl::{PurlError, PurlPattern};
pub use statement::{ImageId, ImageTarget, Product, ProductId, Statement, Status};

/// Largest VEX document read.
pub const MAX_VEX_DOCUMENT: u64 = 32 << 20;
/// Most files read from one VEX directory.
pub const MAX_VEX_FILES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum VexError {
    /// The document is not what it claims to be; `field` is a JSON path
    /// (`statements[2].status`) or `(file)` for the document as a whole.
    #[error("{document}: {field}: {message}")]
    Invalid {
        document: String,
        field: String,
        message: String,
    },
    #[error("{document}: {source}")]
    Read {
        document: String,
        source: std::io::Error,
    },
}

/// Reads one VEX document; `name` names it in errors and in the suppressions it makes.
pub fn read_vex(bytes: &[u8], name: &str) -> Result<Vec<Statement>, VexError> {
    let doc = fields::Doc { name };
    if bytes.len() as u64 > MAX_VEX_DOCUMENT {
        return Err(doc.error("(file)", format!("larger than {MAX_VEX_DOCUMENT} bytes")));
    }
    let document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| doc.error("(file)", format!("not JSON: {e}")))?;
    if openvex::is_openvex(&document) {
        openvex::read(doc, &document)
    } else if cyclonedx::is_cyclonedx(&document) {
        cyclonedx::read(doc, &document)
    } else if csaf::is_csaf(&document) {
        csaf::read(doc, &document)
    } else {
        Err(doc.error(
            "(file)",
            "not an OpenVEX (@context), CycloneDX (bomFormat) or CSAF (document.csaf_version) document",
        ))
    }
}

fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, VexError> {
    use std::io::Read;
    let document = path.display().to_string();
    let read_error = |source| VexError::Read {
        document: document.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(VexError::Invalid {
            document,
            field: "(file)".into(),
            message: format!("larger than {limit} bytes"),
        });
    }
    Ok(bytes)
}

/// Reads an ignore file from disk.
pub fn load_ignore_file(path: &Path) -> Result<Vec<IgnoreRule>, VexError> {
    let bytes = read_file(path, MAX_IGNORE_FILE as u64)?;
    read_ignore_file(&bytes, &path.display().to_string())
}

/// Reads a VEX file, or every `*.json` file under a directory (sorted by path, at most
/// [`MAX_VEX_FILES`], symbolic links not followed).
pub fn load_vex_path(path: &Path) -> Result<Vec<Statement>, VexError> {
    let mut files = Vec::new();
    let meta = std::fs::metadata(path).map_err(|source| VexError::Read {
        document: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        let mut pending = vec![path.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| VexError::Read {
                document: dir.display().to_string(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| VexError::Read {
                    document: dir.display().to_string(),
                    source,
                })?;
                let kind = entry.file_type().map_err(|source| VexError::Read {
                    document: entry.path().display().to_string(),
                    source,
                })?;
                let p = entry.path();
                if kind.is_dir() {
                    pending.push(p);
                } else if kind.is_file() && p.extension().is_some_and(|e| e == "json") {
                    files.push(p);
                }
                if files.len() > MAX_VEX_FILES {
                    return Err(VexError::Invalid {
                        document: path.display().to_string(),
                        field: "(directory)".into(),
                        message: format!("more than {MAX_VEX_FILES} VEX files"),
                    });
                }
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut statements = Vec::new();
    for file in files {
        let bytes = read_file(&file, MAX_VEX_DOCUMENT)?;
        statements.extend(read_vex(&bytes, &file.display().to_string())?);
    }
    Ok(statements)
}

/// Everything that can hide a finding in a scan: ignore rules and VEX statements.
#[derive(Clone, Debug, Default)]
pub struct Exceptions {
    pub rules: Vec<IgnoreRule>,
    /// In load order: among statements of equal time about a finding, the last wins.
    pub statements: Vec<Statement>,
}

impl Exceptions {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.statements.is_empty()
    }

    /// Splits `findings` into the open ones and the [`Triage`] (suppressed findings,
    /// notes, expired rules). VEX decides first (the newest statement about a finding
    /// wins: `not_affected`/`fixed` suppress, `affected` keeps, `under_investigation`
    /// keeps with a note); an open finding is then hidden by the first ignore rule that
    /// selects it and has not expired. `packages`: the image's inventory (for the paths
    /// rules select on).
    pub fn apply(
        &self,
        findings: Vec<Finding>,
        packages: &[Package],
        target: &ImageTarget,
        now: OffsetDateTime,
    ) -> (Vec<Finding>, Triage) {
        let mut triage = Triage {
            expired: self
                .rules
                .iter()
                .filter_map(|r| {
                    let e = r.expires.as_ref().filter(|e| e.passed(now))?;
                    Some(ExpiredRule {
                        source: r.source.clone(),
                        expired: e.text.clone(),
                        statement: r.statement.clone(),
                    })
                })
                .collect(),
            ..Triage::default()
        };
        let mut open = Vec::new();
        for finding in findings {
            match self.decide(&finding, packages, target, now, &mut triage.notes) {
                Some(suppression) => triage.suppressed.push(SuppressedFinding {
                    finding,
                    suppression,
                }),
                None => open.push(finding),
            }
        }
        (open, triage)
    }

    fn decide(
        &self,
        finding: &Finding,
        packages: &[Package],
        target: &ImageTarget,
        now: OffsetDateTime,
        notes: &mut Vec<FindingNote>,
    ) -> Option<Suppression> {
        let note = |kind, text: String| FindingNote {
            kind,
            vulnerability: finding.id.clone(),
            purl: finding.package.purl.clone(),
            text,
        };
        let newest = self
            .statements
            .iter()
            .enumerate()
            .filter(|(_, s)| s.applies(finding, target))
            .max_by_key(|(order, s)| (s.timestamp, *order))
            .map(|(_, s)| s);
        if let Some(s) = newest {
            let kind = match s.status {
                Status::NotAffected => Some(SuppressionKind::VexNotAffected),
                Status::Fixed => Some(SuppressionKind::VexFixed),
                Status::Affected => None,
                Status::UnderInvestigation => {
                    let mut text = format!("under investigation ({})", s.source);
                    if let Some(st) = &s.statement {
                        text.push_str(&format!(": {st}"));
                    }
                    notes.push(note(NoteKind::UnderInvestigation, text));
                    None
                }
            };
            if let Some(kind) = kind {
                return Some(Suppression {
                    kind,
                    source: s.source.clone(),
                    justification: s.justification,
                    statement: s.statement.clone(),
                    expires: None,
                    author: s.author.clone(),
                });
            }
        }
        let evidence: Vec<String> = finding
            .package
            .find_in(packages)
            .map(|p| p.evidence.clone())
            .unwrap_or_default();
        for rule in &self.rules {
            if !rule.selects(finding, &evidence, target) {
                continue;
            }
            match &rule.expires {
                Some(e) if e.passed(now) => notes.push(note(
                    NoteKind::Expired,
                    format!(
                        "{} expired on {}: back at its priority",
                        rule.source, e.text
                    ),
                )),
                expires => {
                    return Some(Suppression {
                        kind: SuppressionKind::IgnoreRule,
                        source: rule.source.clone(),
                        justification: None,
                        statement: rule.statement.clone(),
                        expires: expires.as_ref().map(|e| e.text.clone()),
                        author: None,
                    });
                }
            }
        }
        None
    }
}
