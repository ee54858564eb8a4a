//! `crowsnest scan` with VEX documents and ignore rules on the test bed's real images
//! (OCI layouts of app-bookworm and whiteout): what they suppress, how every format shows
//! it, `--fail-on` ignoring suppressed findings, and the OpenVEX output read back.

use std::path::{Path, PathBuf};

mod common;

use common::{run, text};
use serde_json::Value;

fn vex_data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vex/tests/data")
        .join(name)
        .display()
        .to_string()
}

/// A data directory with the advisory database synced from the shared feed mirror.
fn synced_db() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let mirror = crowsnest_testbed::shared().join("feeds");
    let out = run(&[
        "db",
        "sync",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--mirror",
        mirror.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    data
}

fn scan(layout: &str, data: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "scan",
        "image",
        layout,
        "--offline",
        "-q",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

fn ids(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        f["id"].as_str().unwrap(),
                        f["package"]["name"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn vex_and_ignore_rules_on_real_images() {
    let Some(fixtures) = crowsnest_testbed::path("CROWSNEST_FIXTURES") else {
        return;
    };
    let data = synced_db();
    let app = format!("oci:{}/oci/app-bookworm:1.0", fixtures.display());
    let whiteout = format!("oci:{}/oci/whiteout:1.0", fixtures.display());
    // The shared ignore file's repository-scoped rule names CVE-2020-28500; the lodash
    // that app-bookworm really ships is matched by CVE-2020-8203 (and CVE-2021-23337, the
    // expired rule's), so the rule is pointed at a finding the real image has.
    let ignore_dir = tempfile::tempdir().unwrap();
    let ignore_path = ignore_dir.path().join(".crowsnestignore.yaml");
    std::fs::write(
        &ignore_path,
        std::fs::read_to_string(vex_data("crowsnestignore.yaml"))
            .unwrap()
            .replace("CVE-2020-28500", "CVE-2020-8203"),
    )
    .unwrap();
    let ignore = ignore_path.to_str().unwrap().to_string();
    let openvex = vex_data("app-bookworm.openvex.json");
    let cdx = vex_data("app-bookworm.cdx-vex.json");

    let (code, plain, _) = scan(&app, data.path(), &["--format", "json"]);
    assert_eq!(code, Some(0));
    let plain: Value = serde_json::from_str(&plain).unwrap();
    let before = ids(&plain["findings"]);
    assert!(
        before.iter().any(|f| f.starts_with("CVE-2021-44228 ")),
        "{before:?}"
    );
    assert!(
        before.iter().any(|f| f == "CVE-2021-44906 minimist"),
        "{before:?}"
    );

    let exceptions = ["--vex", &openvex, "--vex", &cdx, "--ignore-file", &ignore];
    let mut args = exceptions.to_vec();
    args.extend(["--format", "json", "--show-suppressed"]);
    let (code, out, stderr) = scan(&app, data.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("rule 1 expired on 2025-01-01"), "{stderr}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let open = ids(&report["findings"]);
    let suppressed = ids(&report["suppressed"]);
    for gone in [
        "CVE-2021-44228 org.apache.logging.log4j:log4j-core",
        "CVE-2021-44906 minimist",
        "CVE-2020-8203 lodash",
    ] {
        assert!(
            suppressed.iter().any(|s| s == gone),
            "{gone} suppressed: {suppressed:?}"
        );
        assert!(!open.iter().any(|s| s == gone), "{gone} not open");
    }
    assert_eq!(
        open.len() + suppressed.len(),
        before.len(),
        "nothing disappears"
    );
    assert_eq!(report["summary"]["suppressed"], suppressed.len());
    assert_eq!(report["expired_rules"][0]["expired"], "2025-01-01");
    let lodash_expired = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "CVE-2021-23337")
        .expect("the expired rule's finding is open");
    assert!(
        lodash_expired["notes"][0]
            .as_str()
            .unwrap()
            .contains("back at its priority")
    );
    let priority_before = plain["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "CVE-2021-23337")
        .unwrap()["priority"]
        .clone();
    assert_eq!(
        lodash_expired["priority"], priority_before,
        "priority unchanged"
    );
    let log4shell = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "CVE-2021-44228")
        .unwrap();
    assert_eq!(
        log4shell["suppression"]["justification"],
        "vulnerable_code_not_in_execute_path"
    );

    // --fail-on: Log4Shell is the critical finding; suppressed, it no longer fails the gate
    // unless another critical is open.
    let criticals_open = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] == "critical");
    let mut args = exceptions.to_vec();
    args.extend(["--fail-on", "critical"]);
    let (code, table, _) = scan(&app, data.path(), &args);
    assert_eq!(code, Some(if criticals_open { 1 } else { 0 }));
    assert!(table.contains("suppressed ("), "{table}");
    let (code, _, _) = scan(&app, data.path(), &["--fail-on", "critical"]);
    assert_eq!(code, Some(1), "without exceptions the gate fails");

    // The repository-scoped rule and the image-scoped OpenVEX statement stay in app-bookworm.
    let mut args = exceptions.to_vec();
    args.extend(["--format", "json", "--show-suppressed"]);
    let (_, out, _) = scan(&whiteout, data.path(), &args);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(
        ids(&report["findings"])
            .iter()
            .any(|f| f == "CVE-2020-8203 lodash")
    );
    assert!(
        ids(&report["suppressed"])
            .iter()
            .any(|f| f == "CVE-2021-44906 minimist")
    );

    // SARIF carries suppressions; OpenVEX output read back suppresses the same findings.
    let mut args = exceptions.to_vec();
    args.extend(["--format", "sarif"]);
    let (_, sarif, _) = scan(&app, data.path(), &args);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let suppressed_results = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .count();
    assert_eq!(suppressed_results, suppressed.len());

    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("app.openvex.json");
    let mut args = exceptions.to_vec();
    args.extend(["--format", "openvex", "-o", written.to_str().unwrap()]);
    let (code, _, stderr) = scan(&app, data.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, out, _) = scan(
        &app,
        data.path(),
        &[
            "--vex",
            written.to_str().unwrap(),
            "--format",
            "json",
            "--show-suppressed",
        ],
    );
    let round: Value = serde_json::from_str(&out).unwrap();
    let vex_only: Vec<&String> = suppressed
        .iter()
        .filter(|s| !s.starts_with("CVE-2020-8203 "))
        .collect();
    let round_suppressed = ids(&round["suppressed"]);
    assert_eq!(
        round_suppressed.len(),
        vex_only.len(),
        "{round_suppressed:?} vs {vex_only:?}"
    );

    // Bad input: a malformed document is an error naming it (exit 3).
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "maybe"}]}"#).unwrap();
    let (code, _, stderr) = scan(&app, data.path(), &["--vex", bad.to_str().unwrap()]);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("bad.json: statements[0].status: unknown status"),
        "{stderr}"
    );
}
