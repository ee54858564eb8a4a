//! The feeds Crowsnest syncs, where each lives upstream and in a mirror.

use std::fmt;

/// Where OSV publishes its per-ecosystem archives and `ecosystems.txt`.
pub const OSV_UPSTREAM_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com/";
pub const KEV_UPSTREAM: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
pub const EPSS_UPSTREAM: &str = "https://epss.cyentia.com/epss_scores-current.csv.gz";
pub const EXPLOITDB_UPSTREAM: &str =
    "https://gitlab.com/exploit-database/exploitdb/-/raw/main/files_exploits.csv";

/// The OSV ecosystems synced by default: those whose versions the matcher compares and
/// whose packages the catalogers find. The source's `ecosystems.txt` is intersected with
/// this list (or this list is used as is when the source has no `ecosystems.txt`).
pub const DEFAULT_OSV_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Debian",
    "Go",
    "Maven",
    "NuGet",
    "Packagist",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "Ubuntu",
    "crates.io",
    "npm",
];

/// One file a sync downloads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedFile {
    OsvEcosystemList,
    /// `all.zip` of one OSV ecosystem.
    Osv(String),
    Kev,
    Epss,
    ExploitDb,
}

impl FeedFile {
    /// The feed's name in the database and in messages: `osv/Go`, `kev`, `epss`, `exploitdb`.
    pub fn name(&self) -> String {
        match self {
            FeedFile::OsvEcosystemList => "osv/ecosystems.txt".into(),
            FeedFile::Osv(eco) => format!("osv/{eco}"),
            FeedFile::Kev => "kev".into(),
            FeedFile::Epss => "epss".into(),
            FeedFile::ExploitDb => "exploitdb".into(),
        }
    }

    /// Path segments below a mirror's root (directory or base URL).
    pub fn mirror_segments(&self) -> Vec<&str> {
        match self {
            FeedFile::OsvEcosystemList => vec!["osv", "ecosystems.txt"],
            FeedFile::Osv(eco) => vec!["osv", eco, "all.zip"],
            FeedFile::Kev => vec!["kev", "known_exploited_vulnerabilities.json"],
            FeedFile::Epss => vec!["epss", "epss_scores-current.csv.gz"],
            FeedFile::ExploitDb => vec!["exploitdb", "files_exploits.csv"],
        }
    }

    /// A name safe to use for a scratch file in the data directory.
    pub fn scratch_name(&self) -> String {
        self.name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// Whether a sync can go on without this file when the source does not have it.
    /// Exploit-DB is a separate project from the advisory feeds; mirrors often lack it.
    pub fn optional(&self) -> bool {
        matches!(self, FeedFile::ExploitDb | FeedFile::OsvEcosystemList)
    }
}

impl fmt::Display for FeedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Whether an ecosystem name (from a possibly hostile `ecosystems.txt`) is safe to put in
/// a path or URL segment.
pub fn is_safe_ecosystem_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | ':'))
}

/// Parses `ecosystems.txt` (one name a line) keeping the safe names.
pub fn parse_ecosystem_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| is_safe_ecosystem_name(l))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ecosystem_names_are_dropped() {
        let list = parse_ecosystem_list("Go\n../../etc\nRocky Linux\n..\n\nPyPI\r\na/b\n");
        assert_eq!(list, ["Go", "Rocky Linux", "PyPI"]);
        assert_eq!(
            FeedFile::Osv("crates.io".into()).scratch_name(),
            "osv_crates.io"
        );
    }
}
