//! Every JSON document Crowsnest writes, validated against the official JSON schema of
//! its format with a real validator (the `jsonschema` crate). The schemas come from
//! registry packages that ship them (see scripts/schemas) and live in
//! $CROWSNEST_CACHE/schemas, never in the repository.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use crowsnest_model::exception::Triage;
use crowsnest_report::findings::{self, FindingsReport};
use crowsnest_report::{ImageSubject, cyclonedx, spdx};
use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

const FILES: [&str; 5] = [
    "bom-1.6.schema.json",
    "spdx.schema.json",
    "jsf-0.82.schema.json",
    "spdx-2.3.schema.json",
    "sarif-2.1.0.schema.json",
];

fn schema_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("CROWSNEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/crowsnest")))?;
    let dir = cache.join("schemas");
    let complete = |dir: &PathBuf| FILES.iter().all(|f| dir.join(f).is_file());
    if !complete(&dir) {
        // The script is idempotent and fetches only from package registries.
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/schemas");
        let status = std::process::Command::new("bash").arg(&script).status();
        eprintln!("ran {}: {status:?}", script.display());
    }
    if complete(&dir) {
        Some(dir)
    } else if crowsnest_testbed::required() {
        panic!(
            "JSON schemas missing in {} and scripts/schemas could not fetch them",
            dir.display()
        );
    } else {
        eprintln!(
            "skipping: JSON schemas missing in {} (run bash scripts/schemas)",
            dir.display()
        );
        None
    }
}

/// Resolves the schemas' references (`spdx.schema.json`, `jsf-0.82.schema.json`) to the
/// local files, by file name: nothing is fetched while validating.
struct LocalSchemas(HashMap<String, Value>);

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        self.0
            .get(file)
            .cloned()
            .ok_or_else(|| format!("schema {uri} is not available locally").into())
    }
}

struct Schemas {
    cyclonedx: Validator,
    spdx: Validator,
    sarif: Validator,
}

fn schemas() -> Option<Schemas> {
    let dir = schema_dir()?;
    let load = |f: &str| -> Value {
        let mut text = std::fs::read_to_string(dir.join(f)).unwrap();
        if f == "sarif-2.1.0.schema.json" {
            // The SARIF schema's `language` pattern has an unbalanced `]`: a literal in
            // ECMAScript regexes (which JSON Schema patterns are), a syntax error in Rust's.
            // Escaping it keeps the pattern's meaning.
            let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
            assert!(
                text.contains(broken),
                "the SARIF schema changed: revisit this fix"
            );
            text = text.replace(broken, r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#);
        }
        serde_json::from_str(&text).unwrap()
    };
    let all: HashMap<String, Value> = FILES.iter().map(|f| (f.to_string(), load(f))).collect();
    let build = |f: &str| {
        jsonschema::options()
            .with_retriever(LocalSchemas(all.clone()))
            .should_validate_formats(true)
            .build(&all[f])
            .unwrap_or_else(|e| panic!("schema {f}: {e}"))
    };
    Some(Schemas {
        cyclonedx: build("bom-1.6.schema.json"),
        spdx: build("spdx-2.3.schema.json"),
        sarif: build("sarif-2.1.0.schema.json"),
    })
}

fn errors(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_valid(validator: &Validator, text: &str, what: &str) -> Value {
    let document: Value = serde_json::from_str(text).unwrap();
    let errors = errors(validator, &document);
    assert!(
        errors.is_empty(),
        "{what} is not valid:\n{}",
        errors.join("\n")
    );
    document
}

struct Outputs {
    sbom_cyclonedx: String,
    sbom_spdx: String,
    findings_cyclonedx: String,
    findings_sarif: String,
}

fn outputs(subject: &ImageSubject, inventory: &crowsnest_catalog::Inventory) -> Outputs {
    let options = common::options();
    let found = common::findings();
    let report = FindingsReport {
        subject,
        inventory,
        findings: &found,
        triage: &Triage::default(),
        show_suppressed: false,
        options: &options,
    };
    Outputs {
        sbom_cyclonedx: cyclonedx::sbom(subject, inventory, &options),
        sbom_spdx: spdx::sbom(subject, inventory, &options),
        findings_cyclonedx: findings::cyclonedx::cyclonedx(&report),
        findings_sarif: findings::sarif::sarif(&report),
    }
}

#[test]
fn every_document_validates_against_its_official_schema() {
    let Some(schemas) = schemas() else { return };
    let out = outputs(&common::subject(), &common::inventory());
    assert_valid(&schemas.cyclonedx, &out.sbom_cyclonedx, "CycloneDX SBOM");
    let spdx = assert_valid(&schemas.spdx, &out.sbom_spdx, "SPDX SBOM");
    assert_valid(
        &schemas.cyclonedx,
        &out.findings_cyclonedx,
        "CycloneDX findings",
    );
    assert_valid(&schemas.sarif, &out.findings_sarif, "SARIF findings");
    spdx_ids_are_well_formed(&spdx);
}

/// What the SPDX schema leaves to the specification's prose: SPDXIDs are
/// `SPDXRef-[A-Za-z0-9.-]+`, unique, and relationships name existing elements.
fn spdx_ids_are_well_formed(doc: &Value) {
    let mut ids = std::collections::BTreeSet::new();
    for package in doc["packages"].as_array().unwrap() {
        let id = package["SPDXID"].as_str().unwrap();
        let tail = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            !tail.is_empty()
                && tail
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "bad SPDXID {id}"
        );
        assert!(ids.insert(id.to_string()), "duplicate SPDXID {id}");
    }
    ids.insert("SPDXRef-DOCUMENT".to_string());
    for r in doc["relationships"].as_array().unwrap() {
        for key in ["spdxElementId", "relatedSpdxElement"] {
            let id = r[key].as_str().unwrap();
            assert!(ids.contains(id), "relationship names unknown element {id}");
        }
    }
    // Every package but the image is contained in the image.
    let contained = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .count();
    assert_eq!(contained, doc["packages"].as_array().unwrap().len() - 1);
}

#[test]
fn documents_of_a_bare_image_validate() {
    // No digests, no creation time, no distro, no packages: the optional parts go away
    // and what remains must still be a valid document.
    let Some(schemas) = schemas() else { return };
    let subject = ImageSubject {
        name: "oci:/tmp/layout".into(),
        ..Default::default()
    };
    let out = outputs(&subject, &crowsnest_catalog::Inventory::default());
    assert_valid(&schemas.cyclonedx, &out.sbom_cyclonedx, "CycloneDX SBOM");
    assert_valid(&schemas.spdx, &out.sbom_spdx, "SPDX SBOM");
    assert_valid(
        &schemas.cyclonedx,
        &out.findings_cyclonedx,
        "CycloneDX findings",
    );
    assert_valid(&schemas.sarif, &out.findings_sarif, "SARIF findings");
}

#[test]
fn the_validator_rejects_broken_documents() {
    // Proof that the validation above can fail: the same documents, each broken in one place.
    let Some(schemas) = schemas() else { return };
    let out = outputs(&common::subject(), &common::inventory());

    let mut cdx: Value = serde_json::from_str(&out.sbom_cyclonedx).unwrap();
    cdx["components"][1]["type"] = "gadget".into();
    assert!(!errors(&schemas.cyclonedx, &cdx).is_empty());

    let mut cdx: Value = serde_json::from_str(&out.findings_cyclonedx).unwrap();
    cdx["vulnerabilities"][0]["ratings"][0]["severity"] = "apocalyptic".into();
    assert!(!errors(&schemas.cyclonedx, &cdx).is_empty());

    let mut doc: Value = serde_json::from_str(&out.sbom_spdx).unwrap();
    doc["packages"][1]["primaryPackagePurpose"] = "GADGET".into();
    assert!(!errors(&schemas.spdx, &doc).is_empty());

    let mut sarif: Value = serde_json::from_str(&out.findings_sarif).unwrap();
    sarif["runs"][0]["results"][0]["level"] = "catastrophe".into();
    assert!(!errors(&schemas.sarif, &sarif).is_empty());
}

/// The common findings with the first one suppressed by VEX and the second by an ignore
/// rule, a note on the third, and an expired rule.
fn triaged() -> (Vec<crowsnest_model::finding::Finding>, Triage) {
    use crowsnest_model::exception::*;
    let mut open = common::findings();
    let second = open.remove(1);
    let first = open.remove(0);
    let note = FindingNote {
        kind: NoteKind::Expired,
        vulnerability: open[0].id.clone(),
        purl: open[0].package.purl.clone(),
        text: "rules.yaml rule 2 expired on 2025-01-01: back at its priority".into(),
    };
    let triage = Triage {
        suppressed: vec![
            SuppressedFinding {
                finding: first,
                suppression: Suppression {
                    kind: SuppressionKind::VexNotAffected,
                    source: "vex/app.openvex.json statements[0]".into(),
                    justification: Some(Justification::VulnerableCodeNotInExecutePath),
                    statement: Some("never reached".into()),
                    expires: None,
                    author: Some("platform team".into()),
                },
            },
            SuppressedFinding {
                finding: second,
                suppression: Suppression {
                    kind: SuppressionKind::IgnoreRule,
                    source: "rules.yaml rule 1".into(),
                    justification: None,
                    statement: Some("accepted until the next release".into()),
                    expires: Some("2099-01-01".into()),
                    author: None,
                },
            },
        ],
        notes: vec![note],
        expired: vec![ExpiredRule {
            source: "rules.yaml rule 2".into(),
            expired: "2025-01-01".into(),
            statement: None,
        }],
    };
    (open, triage)
}

#[test]
fn documents_with_suppressions_validate() {
    let Some(schemas) = schemas() else { return };
    let (open, triage) = triaged();
    let subject = common::subject();
    let inventory = common::inventory();
    let options = common::options();
    let report = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &open,
        triage: &triage,
        show_suppressed: true,
        options: &options,
    };
    let sarif = assert_valid(&schemas.sarif, &findings::sarif::sarif(&report), "SARIF");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let suppressions: Vec<&Value> = results
        .iter()
        .filter_map(|r| r.get("suppressions"))
        .collect();
    assert_eq!(suppressions.len(), 2, "each suppressed finding is a result");
    assert_eq!(suppressions[0][0]["kind"], "external");
    assert!(suppressions.iter().any(|s| {
        s[0]["justification"]
            .as_str()
            .unwrap()
            .contains("vulnerable_code_not_in_execute_path")
    }));
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][results.len() - 1]["suppressions"][0]["kind"] = "whim".into();
    assert!(
        !errors(&schemas.sarif, &broken).is_empty(),
        "the schema checks suppressions"
    );

    let cdx = assert_valid(
        &schemas.cyclonedx,
        &findings::cyclonedx::cyclonedx(&report),
        "CycloneDX findings",
    );
    let states: Vec<&str> = cdx["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["analysis"]["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"not_affected") && states.contains(&"exploitable"));
    let vex = assert_valid(
        &schemas.cyclonedx,
        &findings::cyclonedx::cyclonedx_vex(&report),
        "CycloneDX VEX",
    );
    assert!(vex.get("dependencies").is_none());
    let affected: Vec<&Value> = vex["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["affects"].as_array().unwrap().iter().map(|a| &a["ref"]))
        .collect();
    for c in vex["components"].as_array().unwrap() {
        assert!(
            affected.contains(&&c["bom-ref"]),
            "only the components findings are about"
        );
    }
}
