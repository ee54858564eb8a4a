//! Maven coordinates for an archive that carries no `pom.properties`, derived from what
//! the archive says, each coordinate with the evidence that named it.
//!
//! Order of trust, per coordinate (the first source that answers wins):
//!
//! | coordinate | sources, strongest first |
//! |------------|--------------------------|
//! | groupId    | `META-INF/maven/**/pom.xml` (its own or its parent's); Jenkins `Group-Id`; the [known-artifact table](known-artifacts.tsv); an Ivy-style `Implementation-Title: group#artifact;version`; `Bundle-SymbolicName: <group>.<artifactId>`; `Implementation-Vendor-Id`\*; `Automatic-Module-Name: <group>.<artifactId>`\*; the longest common package of the classes\*\* |
//! | artifactId | pom.xml; Jenkins `Short-Name`; the file name (`artifact-version.jar`), corroborated when `Implementation-Title`, `Bundle-SymbolicName` or `Automatic-Module-Name` names the same artifact\* |
//! | version    | pom.xml; Jenkins `Plugin-Version`; the file name's version, corroborated when `Implementation-Version` or `Bundle-Version` agrees (`1.65` and `1.65.0` agree: the file name's spelling wins, as Maven named the file); a manifest version alone\* |
//!
//! \* one uncorroborated source: the identity's confidence is at most medium.
//! \*\* a guess: low. A missing groupId is low too. When the file name's version and
//! every manifest version disagree, the file name's wins (it is how Maven named the
//! file; a manifest may be another artifact's, copied or hostile) at medium confidence.

use crowsnest_model::{Confidence, CoordinateEvidence, Identity};

/// The table of well-known artifacts, as data (see the file's header for its format).
const KNOWN_ARTIFACTS: &str = include_str!("known-artifacts.tsv");

/// What one archive says about itself, gathered during the walk.
pub(super) struct Evidence<'a> {
    pub file_name: &'a str,
    /// The manifest's main section.
    pub manifest: &'a [(String, String)],
    /// Coordinates from a `META-INF/maven/**/pom.xml`.
    pub pom_xml: Option<super::pom::PomCoordinates>,
    /// The longest common package of the archive's classes (`org.h2`).
    pub class_package: Option<String>,
    pub sha1: Option<String>,
}

/// Derived coordinates and how they were established.
#[derive(Debug, PartialEq)]
pub(super) struct Derived {
    pub group: Option<String>,
    pub artifact: String,
    pub version: String,
    pub identity: Identity,
}

/// How much one coordinate's source can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    Strong,
    Single,
    Guess,
}

struct Named {
    value: String,
    source: String,
    strength: Strength,
}

impl Named {
    fn new(value: &str, source: &str, strength: Strength) -> Named {
        Named {
            value: value.to_string(),
            source: source.to_string(),
            strength,
        }
    }
}

/// Coordinates for the archive, or `None` when it names no version (a jar without one
/// cannot be matched against advisories and would only be noise) or no artifact.
pub(super) fn derive(evidence: &Evidence) -> Option<Derived> {
    let manifest = Manifest(evidence.manifest);
    let pom = evidence.pom_xml.as_ref();
    let (file_artifact, file_version) = split_file_name(evidence.file_name);

    let artifact = pom
        .and_then(|p| p.artifact.as_deref())
        .map(|a| Named::new(a, "pom.xml", Strength::Strong))
        .or_else(|| {
            manifest
                .jenkins()
                .map(|j| Named::new(j.short_name, "Short-Name", Strength::Strong))
        })
        .or_else(|| file_artifact_named(&manifest, file_artifact, file_version.is_some()))?;

    let version = pom
        .and_then(|p| p.version.as_deref())
        .map(|v| Named::new(v, "pom.xml", Strength::Strong))
        .or_else(|| {
            manifest
                .jenkins()
                .map(|j| Named::new(j.version, "Plugin-Version", Strength::Strong))
        })
        .or_else(|| version_named(&manifest, file_version))?;

    let group = pom
        .and_then(|p| p.group.as_deref())
        .map(|g| Named::new(g, "pom.xml", Strength::Strong))
        .or_else(|| {
            manifest
                .jenkins()
                .and_then(|j| j.group)
                .map(|g| Named::new(g, "Group-Id", Strength::Strong))
        })
        .or_else(|| group_named(&manifest, &artifact.value))
        .or_else(|| {
            evidence
                .class_package
                .as_deref()
                .map(|g| Named::new(g, "class packages", Strength::Guess))
        });

    let weakest = [Some(&artifact), Some(&version), group.as_ref()]
        .iter()
        .map(|n| n.map_or(Strength::Guess, |n| n.strength))
        .max()
        .unwrap_or(Strength::Guess);
    let confidence = match weakest {
        Strength::Strong => Confidence::High,
        Strength::Single => Confidence::Medium,
        Strength::Guess => Confidence::Low,
    };
    let mut coordinates = Vec::new();
    for (coordinate, named) in [
        ("groupId", group.as_ref()),
        ("artifactId", Some(&artifact)),
        ("version", Some(&version)),
    ] {
        if let Some(named) = named {
            coordinates.push(CoordinateEvidence {
                coordinate: coordinate.to_string(),
                source: named.source.clone(),
            });
        }
    }
    Some(Derived {
        group: group.map(|g| g.value),
        artifact: artifact.value,
        version: version.value,
        identity: Identity {
            confidence,
            evidence: coordinates,
            sha1: evidence.sha1.clone(),
        },
    })
}

/// `log4j-core-2.14.1.jar` → (`log4j-core`, `Some("2.14.1")`): the stem splits at the
/// first `-` followed by a digit.
pub(super) fn split_file_name(file_name: &str) -> (&str, Option<&str>) {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    let split = stem
        .char_indices()
        .find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i);
    match split {
        Some(i) => (&stem[..i], Some(&stem[i + 1..])),
        None => (stem, None),
    }
}

fn file_artifact_named(manifest: &Manifest, artifact: &str, versioned: bool) -> Option<Named> {
    if artifact.is_empty() {
        return None;
    }
    let dotted = artifact.replace('-', ".");
    let corroborating = [
        (
            "Implementation-Title",
            manifest.get("Implementation-Title").is_some_and(|t| {
                t == artifact || manifest.ivy_title().is_some_and(|(_, a, _)| a == artifact)
            }),
        ),
        (
            "Bundle-SymbolicName",
            manifest
                .symbolic_name()
                .is_some_and(|s| s == artifact || ends_with_segment(s, artifact)),
        ),
        (
            "Automatic-Module-Name",
            manifest
                .get("Automatic-Module-Name")
                .is_some_and(|m| m == dotted || ends_with_segment(m, &dotted)),
        ),
    ];
    Some(
        match corroborating
            .iter()
            .find(|(_, agrees)| *agrees)
            .filter(|_| versioned)
        {
            Some((field, _)) => Named::new(
                artifact,
                &format!("file name and {field}"),
                Strength::Strong,
            ),
            None => Named::new(artifact, "file name", Strength::Single),
        },
    )
}

fn version_named(manifest: &Manifest, file_version: Option<&str>) -> Option<Named> {
    let stated: Vec<(&str, &str)> = ["Implementation-Version", "Bundle-Version"]
        .into_iter()
        .filter_map(|field| manifest.get(field).map(|v| (field, v)))
        .chain(
            manifest
                .ivy_title()
                .map(|(_, _, v)| ("Implementation-Title", v)),
        )
        .collect();
    match file_version {
        Some(file) => Some(
            match stated
                .iter()
                .find(|(_, v)| *v == file)
                .or_else(|| stated.iter().find(|(_, v)| same_version(v, file)))
            {
                Some((field, _)) => {
                    Named::new(file, &format!("file name and {field}"), Strength::Strong)
                }
                None => Named::new(file, "file name", Strength::Single),
            },
        ),
        None => stated
            .first()
            .map(|(field, v)| Named::new(v, field, Strength::Single)),
    }
}

fn group_named(manifest: &Manifest, artifact: &str) -> Option<Named> {
    if let Some(group) = known_group(artifact) {
        return Some(Named::new(group, "known-artifact table", Strength::Strong));
    }
    if let Some((group, _, _)) = manifest.ivy_title().filter(|(_, a, _)| *a == artifact) {
        return Some(Named::new(group, "Implementation-Title", Strength::Strong));
    }
    let prefix_of = |name: &str, suffix: &str| {
        name.strip_suffix(suffix)
            .and_then(|g| g.strip_suffix('.'))
            .filter(|g| is_group_like(g))
            .map(str::to_string)
    };
    if let Some(group) = manifest
        .symbolic_name()
        .and_then(|s| prefix_of(s, artifact))
    {
        return Some(Named::new(&group, "Bundle-SymbolicName", Strength::Strong));
    }
    if let Some(group) = manifest
        .get("Implementation-Vendor-Id")
        .filter(|g| is_group_like(g))
    {
        return Some(Named::new(
            group,
            "Implementation-Vendor-Id",
            Strength::Single,
        ));
    }
    manifest
        .get("Automatic-Module-Name")
        .and_then(|m| prefix_of(m, &artifact.replace('-', ".")))
        .map(|g| Named::new(&g, "Automatic-Module-Name", Strength::Single))
}

/// `org.apache.tomcat`: dot-separated Java-identifier-like segments, at least two.
fn is_group_like(name: &str) -> bool {
    name.split('.').count() >= 2
        && name.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn ends_with_segment(name: &str, last: &str) -> bool {
    name.strip_suffix(last)
        .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether two spellings name one release: `1.65` and `1.65.0`, `5.3.17` and
/// `5.3.17.RELEASE` (trailing zero segments and a release qualifier ignored).
fn same_version(a: &str, b: &str) -> bool {
    fn core(v: &str) -> Vec<&str> {
        let mut parts: Vec<&str> = v.split(['.', '-']).collect();
        while parts.last().is_some_and(|p| {
            *p == "0" || p.eq_ignore_ascii_case("RELEASE") || p.eq_ignore_ascii_case("Final")
        }) {
            parts.pop();
        }
        parts
    }
    core(a) == core(b)
}

/// The groupId the known-artifact table gives `artifact`: an exact row, else the longest
/// matching prefix row.
fn known_group(artifact: &str) -> Option<&'static str> {
    let rows = known_rows();
    rows.clone()
        .find(|r| r.exact && r.pattern == artifact)
        .or_else(|| {
            rows.filter(|r| {
                !r.exact
                    && (artifact == r.pattern
                        || artifact
                            .strip_prefix(r.pattern)
                            .is_some_and(|rest| rest.starts_with('-')))
            })
            .max_by_key(|r| r.pattern.len())
        })
        .map(|r| r.group)
}

#[derive(Clone, Debug)]
pub(super) struct KnownRow {
    pub exact: bool,
    pub pattern: &'static str,
    pub group: &'static str,
    /// Read by the tests, which derive each example's coordinates.
    #[cfg_attr(not(test), allow(dead_code))]
    pub example: &'static str,
}

/// The table's rows; a malformed row is a build-time fact checked by the tests.
pub(super) fn known_rows() -> impl Iterator<Item = KnownRow> + Clone {
    KNOWN_ARTIFACTS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (kind, pattern, group, example) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some(KnownRow {
                exact: kind == "artifact",
                pattern,
                group,
                example,
            })
        })
}

/// The manifest's main section, looked up case-insensitively.
struct Manifest<'a>(&'a [(String, String)]);

struct Jenkins<'a> {
    short_name: &'a str,
    version: &'a str,
    group: Option<&'a str>,
}

impl<'a> Manifest<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn symbolic_name(&self) -> Option<&'a str> {
        self.get("Bundle-SymbolicName")
            .and_then(|s| s.split(';').next())
            .map(str::trim)
    }

    /// `Implementation-Title: io.micrometer#micrometer-core;1.8.4`, as Gradle's nebula
    /// plugins write it: (group, artifact, version).
    fn ivy_title(&self) -> Option<(&'a str, &'a str, &'a str)> {
        let title = self.get("Implementation-Title")?;
        let (group, rest) = title.split_once('#')?;
        let (artifact, version) = rest.split_once(';')?;
        (is_group_like(group) && !artifact.is_empty() && !version.is_empty())
            .then_some((group, artifact, version))
    }

    /// A Jenkins plugin's `Short-Name` and `Plugin-Version` (and `Group-Id`, which older
    /// plugins lack).
    fn jenkins(&self) -> Option<Jenkins<'a>> {
        Some(Jenkins {
            short_name: self.get("Short-Name")?,
            version: self.get("Plugin-Version")?,
            group: self.get("Group-Id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn derive_from(file_name: &str, manifest: &[(&str, &str)]) -> Option<Derived> {
        derive(&Evidence {
            file_name,
            manifest: &fields(manifest),
            pom_xml: None,
            class_package: None,
            sha1: None,
        })
    }

    fn coordinates(d: &Derived) -> (Option<&str>, &str, &str, Confidence) {
        (
            d.group.as_deref(),
            d.artifact.as_str(),
            d.version.as_str(),
            d.identity.confidence,
        )
    }

    /// Every row of the table names its example's groupId, through that row (an exact
    /// row or the longest prefix), and no two rows share a pattern.
    #[test]
    fn every_known_artifact_row_names_its_example() {
        let rows: Vec<KnownRow> = known_rows().collect();
        let data_lines = KNOWN_ARTIFACTS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(rows.len(), data_lines, "every data line has four fields");
        assert!(rows.len() > 50);
        for row in &rows {
            let (artifact, version) = split_file_name(row.example);
            assert!(version.is_some(), "{}: example has a version", row.example);
            if row.exact {
                assert_eq!(artifact, row.pattern, "{row:?}");
            } else {
                assert!(artifact.starts_with(row.pattern), "{row:?}");
            }
            let derived = derive_from(row.example, &[]).unwrap();
            assert_eq!(derived.group.as_deref(), Some(row.group), "{row:?}");
            assert_eq!(derived.identity.evidence[0].source, "known-artifact table");
            let same = rows
                .iter()
                .filter(|r| r.pattern == row.pattern && r.exact == row.exact)
                .count();
            assert_eq!(same, 1, "{} listed twice", row.pattern);
        }
    }

    #[test]
    fn spring_jars_as_gradle_builds_them() {
        // The real spring-beans 5.3.17 manifest's identifying fields.
        let d = derive_from(
            "spring-beans-5.3.17.jar",
            &[
                ("Implementation-Title", "spring-beans"),
                ("Automatic-Module-Name", "spring.beans"),
                ("Implementation-Version", "5.3.17"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (
                Some("org.springframework"),
                "spring-beans",
                "5.3.17",
                Confidence::High
            )
        );
        assert_eq!(
            d.identity.evidence[1].source,
            "file name and Implementation-Title"
        );
    }

    #[test]
    fn tomcat_symbolic_name_splits_at_the_wrong_dot() {
        let d = derive_from(
            "tomcat-embed-core-9.0.60.jar",
            &[
                ("Bundle-SymbolicName", "org.apache.tomcat-embed-core"),
                ("Bundle-Version", "9.0.60"),
                ("Implementation-Version", "9.0.60"),
            ],
        )
        .unwrap();
        assert_eq!(d.group.as_deref(), Some("org.apache.tomcat.embed"));
    }

    #[test]
    fn bouncycastle_version_from_the_file_name_not_the_padded_one() {
        let d = derive_from(
            "bcprov-jdk15on-1.65.jar",
            &[
                ("Implementation-Vendor-Id", "org.bouncycastle"),
                ("Bundle-SymbolicName", "bcprov"),
                ("Implementation-Version", "1.65.0"),
                ("Bundle-Version", "1.65"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (
                Some("org.bouncycastle"),
                "bcprov-jdk15on",
                "1.65",
                Confidence::Medium
            )
        );
        // Nothing in the manifest spells the artifactId: it rests on the file name alone.
        assert_eq!(d.identity.evidence[1].source, "file name");
        // Without Bundle-Version the padded spelling still corroborates the file name's.
        let d = derive_from(
            "bcprov-jdk15on-1.65.jar",
            &[("Implementation-Version", "1.65.0")],
        )
        .unwrap();
        assert_eq!(d.version, "1.65");
        assert_eq!(
            d.identity.evidence[2].source,
            "file name and Implementation-Version"
        );
    }

    #[test]
    fn ivy_style_title_names_group_and_corroborates() {
        let d = derive_from(
            "some-lib-1.8.4.jar",
            &[("Implementation-Title", "io.example#some-lib;1.8.4")],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (Some("io.example"), "some-lib", "1.8.4", Confidence::High)
        );
    }

    #[test]
    fn symbolic_name_and_vendor_id() {
        let d = derive_from(
            "tool-3.1.0.jar",
            &[
                ("Bundle-SymbolicName", "org.example.tool;singleton:=true"),
                ("Bundle-Version", "3.1.0"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (Some("org.example"), "tool", "3.1.0", Confidence::High)
        );
        let d = derive_from(
            "lib.jar",
            &[
                ("Implementation-Vendor-Id", "org.x"),
                ("Implementation-Version", "1.2"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (Some("org.x"), "lib", "1.2", Confidence::Medium)
        );
    }

    #[test]
    fn file_name_alone_is_low_without_a_group() {
        let d = derive_from("commons-lang-2.6.jar", &[]).unwrap();
        assert_eq!(
            coordinates(&d),
            (None, "commons-lang", "2.6", Confidence::Low)
        );
        assert_eq!(
            d.identity.describe(),
            "artifactId=file name, version=file name"
        );
        assert!(derive_from("app.jar", &[]).is_none());
        assert!(derive_from("-1.0.jar", &[]).is_none());
    }

    #[test]
    fn class_packages_are_a_guess() {
        let d = derive(&Evidence {
            file_name: "thing-2.0.jar",
            manifest: &[],
            pom_xml: None,
            class_package: Some("org.thing".into()),
            sha1: Some("ab".repeat(20)),
        })
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (Some("org.thing"), "thing", "2.0", Confidence::Low)
        );
        assert_eq!(d.identity.evidence[0].source, "class packages");
        assert_eq!(d.identity.sha1.as_deref(), Some("ab".repeat(20).as_str()));
    }

    /// A manifest claiming another artifact's coordinates does not rename the file: the
    /// artifact and version stay the file name's, and the disagreement lowers confidence.
    #[test]
    fn a_manifest_claiming_someone_elses_coordinates() {
        let d = derive_from(
            "mylib-1.0.jar",
            &[
                ("Implementation-Title", "spring-beans"),
                ("Bundle-SymbolicName", "org.springframework.beans"),
                ("Automatic-Module-Name", "spring.beans"),
                ("Implementation-Vendor-Id", "org.springframework"),
                ("Implementation-Version", "5.3.17"),
                ("Bundle-Version", "5.3.17"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (
                Some("org.springframework"),
                "mylib",
                "1.0",
                Confidence::Medium
            )
        );
    }

    #[test]
    fn jenkins_plugin_manifest() {
        let d = derive_from(
            "git.hpi",
            &[
                ("Short-Name", "git"),
                ("Plugin-Version", "4.11.0"),
                ("Group-Id", "org.jenkins-ci.plugins"),
                ("Implementation-Version", "4.11.0"),
            ],
        )
        .unwrap();
        assert_eq!(
            coordinates(&d),
            (
                Some("org.jenkins-ci.plugins"),
                "git",
                "4.11.0",
                Confidence::High
            )
        );
    }

    #[test]
    fn version_spellings() {
        assert!(same_version("1.65", "1.65.0"));
        assert!(same_version("5.3.17.RELEASE", "5.3.17"));
        assert!(!same_version("1.65", "1.66"));
        assert!(!same_version("2", "2.1"));
    }
}
