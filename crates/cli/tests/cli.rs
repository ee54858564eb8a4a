//! The `crowsnest` binary end to end against the real test bed: exit codes, formats and
//! the flags a skopeo or Trivy user reaches for.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

mod common;

use common::{BIN, run, text};

struct Bed {
    registry: String,
    user: String,
    password: String,
    ca: String,
    fixtures: PathBuf,
}

fn bed() -> Option<Bed> {
    Some(Bed {
        registry: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY")?,
        user: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_USER")?,
        password: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_PASSWORD")?,
        ca: crowsnest_testbed::var("CROWSNEST_TEST_CA")?,
        fixtures: crowsnest_testbed::path("CROWSNEST_FIXTURES")?,
    })
}

impl Bed {
    fn creds(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }
    fn digest(&self, repo: &str) -> String {
        let tsv = std::fs::read_to_string(self.fixtures.join("images.tsv")).unwrap();
        tsv.lines()
            .find(|l| l.starts_with(&format!("{repo}\t")))
            .and_then(|l| l.split('\t').nth(2))
            .unwrap()
            .to_string()
    }
}

#[test]
fn inspect_a_registry_image_with_tls_and_credentials() {
    let Some(bed) = bed() else { return };
    let r = format!("{}/crowsnest/debian-bookworm:12", bed.registry);
    let out = run(&[
        "image",
        "inspect",
        &r,
        "--ca-file",
        &bed.ca,
        "--creds",
        &bed.creds(),
        "--format",
        "json",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["digest"], bed.digest("crowsnest/debian-bookworm"));
    assert_eq!(v["platform"]["architecture"], "amd64");
    assert!(
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["diffId"].as_str().unwrap().starts_with("sha256:"))
    );

    let out = run(&[
        "image",
        "inspect",
        &r,
        "--ca-file",
        &bed.ca,
        "--creds",
        &bed.creds(),
    ]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(&format!(
            "Digest:    {}",
            bed.digest("crowsnest/debian-bookworm")
        )),
        "{stdout}"
    );
}

#[test]
fn password_from_stdin() {
    let Some(bed) = bed() else { return };
    let r = format!("{}/crowsnest/debian-bookworm:12", bed.registry);
    let mut child = Command::new(BIN)
        .args([
            "image",
            "inspect",
            &r,
            "--ca-file",
            &bed.ca,
            "--username",
            &bed.user,
            "--password-stdin",
            "--format",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", bed.password).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

#[test]
fn exit_codes_tell_auth_failures_and_missing_images_apart() {
    let Some(bed) = bed() else { return };
    let r = format!("{}/crowsnest/debian-bookworm:12", bed.registry);
    let out = run(&[
        "image",
        "inspect",
        &r,
        "--ca-file",
        &bed.ca,
        "--creds",
        &format!("{}:wrong", bed.user),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("authentication failed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "a password was printed: {stderr}"
    );

    let missing = format!("{}/crowsnest/debian-bookworm:no-such-tag", bed.registry);
    let out = run(&[
        "image",
        "inspect",
        &missing,
        "--ca-file",
        &bed.ca,
        "--creds",
        &bed.creds(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out).1);

    let out = run(&["image", "inspect", "Not A Reference"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("invalid repository name"), "{stderr}");

    let out = run(&["image", "inspect"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn registry_list_as_json() {
    let Some(bed) = bed() else { return };
    let out = run(&[
        "registry",
        "list",
        &bed.registry,
        "--ca-file",
        &bed.ca,
        "--creds",
        &bed.creds(),
        "--format",
        "json",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let repos: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repository"].as_str().unwrap())
        .collect();
    for want in [
        "crowsnest/debian-bookworm",
        "crowsnest/app-bookworm",
        "crowsnest/multiarch",
    ] {
        assert!(repos.contains(&want), "{want} missing from {repos:?}");
    }
}

#[test]
fn local_transports_and_sbom_formats() {
    let Some(bed) = bed() else { return };
    let archive = format!(
        "docker-archive:{}/archives/app-bookworm.docker.tar",
        bed.fixtures.display()
    );
    let out = run(&["sbom", &archive, "--format", "cyclonedx", "-q"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let bom: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(
        purls
            .iter()
            .any(|p| p.starts_with("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")),
        "{purls:?}"
    );
    assert!(
        purls.iter().any(|p| p.starts_with("pkg:deb/debian/")),
        "{purls:?}"
    );

    let layout = format!("oci:{}/oci/app-bookworm:1.0", bed.fixtures.display());
    let out = run(&["sbom", &layout, "--format", "spdx", "-q"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let Some(bed) = bed() else { return };
    let layout = format!("oci:{}/oci/app-bookworm:1.0", bed.fixtures.display());
    let mut child = Command::new(BIN)
        .args(["sbom", &layout, "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

#[test]
fn scan_ranks_findings_and_fail_on_sets_the_exit_code() {
    let Some(bed) = bed() else { return };
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let layout = format!("oci:{}/oci/app-bookworm:1.0", bed.fixtures.display());

    // Offline with no database: a clear error that says what to do.
    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("crowsnest db sync"), "{stderr}");

    let mirror = crowsnest_testbed::shared().join("feeds");
    let out = run(&[
        "db",
        "sync",
        "--data-dir",
        data_dir,
        "--mirror",
        mirror.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--format",
        "json",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let first = &findings[0];
    assert_eq!(
        first["id"], "CVE-2021-44228",
        "Log4Shell (KEV, critical) ranks first"
    );

    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(1), "--fail-on met exits 1");
    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--fail-on",
        "critical",
        "--severity",
        "low",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing at or above critical remains after --severity low"
    );

    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--format",
        "sarif",
    ]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");

    // The SBOM we write can be scanned back with the same result.
    let sbom = data.path().join("app.cdx.json");
    let out = run(&[
        "sbom",
        &layout,
        "--format",
        "cyclonedx",
        "-o",
        sbom.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&[
        "scan",
        "sbom",
        sbom.to_str().unwrap(),
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--format",
        "json",
    ]);
    let from_sbom: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["id"], f["package"]["name"]))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&from_sbom), ids(&report));
}

#[test]
fn discover_doctor_and_diff_against_the_real_apiserver() {
    let Some(kubeconfig) = crowsnest_testbed::var("CROWSNEST_TEST_KUBECONFIG_READER") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let a = data.path().join("a.json");
    let out = run(&[
        "discover",
        "--kubeconfig",
        &kubeconfig,
        "--output",
        a.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(" ok "), "{stdout}");
    let snap: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    assert!(
        snap["objects"]["namespaces"]
            .as_array()
            .is_some_and(|n| !n.is_empty())
    );
    // Secrets are listed with metadata only: no data or stringData key survives.
    for s in snap["objects"]["secrets"].as_array().into_iter().flatten() {
        assert!(
            s.get("data").is_none() && s.get("stringData").is_none(),
            "{s}"
        );
    }

    // Saved under the data directory by default.
    let out = run(&[
        "discover",
        "--kubeconfig",
        &kubeconfig,
        "--data-dir",
        data_dir,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let saved = std::fs::read_dir(data.path().join("snapshots"))
        .unwrap()
        .count();
    assert_eq!(saved, 1);

    let out = run(&["doctor", "--kubeconfig", &kubeconfig]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("every permission discovery needs is granted"),
        "{stdout}"
    );

    let out = run(&[
        "snapshot",
        "diff",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["added"].as_array().unwrap().len() + d["removed"].as_array().unwrap().len(),
        0
    );

    // A cluster that is down gets a status, not a crash.
    let broken = data.path().join("down.kubeconfig");
    let text_cfg = std::fs::read_to_string(&kubeconfig).unwrap();
    let port = text_cfg
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap();
    std::fs::write(
        &broken,
        text_cfg.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:9"),
    )
    .unwrap();
    let out = run(&[
        "discover",
        "--kubeconfig",
        broken.to_str().unwrap(),
        "--output",
        data.path().join("down.json").to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("unreachable"), "{stdout}");
}

#[test]
fn attack_paths_join_a_real_image_scan_to_the_cluster_graph() {
    let Some(bed) = bed() else { return };
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let mirror = crowsnest_testbed::shared().join("feeds");
    let out = run(&[
        "db",
        "sync",
        "--data-dir",
        data_dir,
        "--mirror",
        mirror.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/shop/shop.yaml"
    ))
    .unwrap();
    let manifests = data.path().join("shop");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("shop.yaml"),
        example.replace("REGISTRY", &bed.registry),
    )
    .unwrap();
    let m = manifests.to_str().unwrap();

    let out = run(&["paths", "--manifests", m, "--format", "json"]);
    let none: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        none["paths"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["story"].as_str().unwrap().contains("CVE-")),
        "without the image scan no path can exploit a vulnerability"
    );

    let out = run(&[
        "paths",
        "--manifests",
        m,
        "--scan-images",
        "--ca-file",
        &bed.ca,
        "--creds",
        &bed.creds(),
        "--data-dir",
        data_dir,
        "--format",
        "json",
        "-q",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let top = &v["paths"][0];
    let story = top["story"].as_str().unwrap();
    assert!(story.starts_with("Internet"), "{story}");
    assert!(story.contains("CVE-2021-44228"), "{story}");
    assert!(story.ends_with("cluster-admin"), "{story}");
    assert!(!v["chokePoints"].as_array().unwrap().is_empty());
}
