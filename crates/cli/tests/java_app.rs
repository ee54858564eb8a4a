//! A real Java application end to end: the Spring Boot application of
//! scripts/fixtures/java-app (built by scripts/fixtures/java), resolved from Maven Central by real Maven (fat jar plus a
//! plain lib/ directory, most jars without pom.properties), scanned as an OCI image with
//! the advisory mirror. The findings must be exactly those that Maven's own resolved
//! coordinates (`mvn dependency:list`, scanned as an SBOM) give: Spring4Shell on the
//! affected spring-beans, nothing on artifacts outside the advisories' ranges.

use std::collections::BTreeSet;
use std::path::Path;

mod common;

use common::{run, text};
use serde_json::Value;

/// Maven's resolution as (coordinates, version, path in the image).
fn truth(dir: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(dir.join("truth/java-app.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// A CycloneDX document listing Maven's coordinates, as any tool would write them.
fn truth_sbom(truth: &[(String, String, String)]) -> String {
    let components: Vec<Value> = truth
        .iter()
        .map(|(ga, v, _)| {
            let (g, a) = ga.split_once(':').unwrap();
            serde_json::json!({
                "type": "library", "name": a, "version": v,
                "purl": format!("pkg:maven/{g}/{a}@{v}"),
            })
        })
        .collect();
    serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": components,
    })
    .to_string()
}

fn scan_json(args: &[&str]) -> Value {
    let out = run(args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// (vulnerability, package, version) of every finding.
fn finding_keys(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
                f["package"]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn spring4shell_finding(report: &Value) -> &Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["id"] == "CVE-2022-22965"
                && f["package"]["name"] == "org.springframework:spring-beans"
        })
        .expect("Spring4Shell on spring-beans")
}

#[test]
fn spring4shell_on_the_coordinates_maven_resolved() {
    let Some(dir) = crowsnest_testbed::fixture("java", "java", "stamp") else {
        return;
    };
    let truth = truth(&dir);
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let data_dir = data_dir.to_str().unwrap();
    let layout = format!("oci:{}:1.0", dir.join("oci/java-app").display());
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

    // The inventory is Maven's resolution: every artifact, named as Maven named it, at a
    // path where Maven put it. (The inventory lists an artifact once per name and version,
    // with the path it was first found at: the fat jar's copy and the lib/ copy are one.)
    let sbom = scan_json(&["sbom", &layout, "--no-cache", "--format", "json", "-q"]);
    let packages: Vec<&Value> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "maven")
        .collect();
    let coordinates = |name: &str, version: &str| (name.to_string(), version.to_string());
    let got: BTreeSet<(String, String)> = packages
        .iter()
        .map(|p| coordinates(p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    let want: BTreeSet<(String, String)> =
        truth.iter().map(|(ga, v, _)| coordinates(ga, v)).collect();
    assert_eq!(got, want, "inventory = mvn dependency:list");
    for p in &packages {
        for path in p["evidence"].as_array().unwrap() {
            let path = path.as_str().unwrap();
            assert!(
                truth
                    .iter()
                    .any(|(ga, v, at)| ga == &p["name"] && v == &p["version"] && at == path),
                "{} {} at {path}: not where Maven put it",
                p["name"],
                p["version"]
            );
        }
    }

    // Findings on the image = findings on Maven's own coordinates.
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "image",
            &layout,
            "--offline",
            "--data-dir",
            data_dir,
            "-q",
            "--no-cache",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        scan_json(&args)
    };
    let image = scan(&[]);
    let sbom_file = scratch.path().join("maven.cdx.json");
    std::fs::write(&sbom_file, truth_sbom(&truth)).unwrap();
    let resolved = scan_json(&[
        "scan",
        "sbom",
        sbom_file.to_str().unwrap(),
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--format",
        "json",
    ]);
    assert_eq!(finding_keys(&image), finding_keys(&resolved));
    let spring4shell = (
        "CVE-2022-22965".to_string(),
        "org.springframework:spring-beans".to_string(),
        "5.3.17".to_string(),
    );
    assert!(
        finding_keys(&image).contains(&spring4shell),
        "{:#?}",
        finding_keys(&image)
    );

    // The finding says its coordinates were inferred, and from what.
    let beans = spring4shell_finding(&image);
    assert_eq!(
        beans["package"]["identity"]["confidence"], "high",
        "{beans:#}"
    );
    assert!(beans["package"]["identity"]["sha1"].is_string());
    let out = run(&[
        "scan",
        "image",
        &layout,
        "--offline",
        "--data-dir",
        data_dir,
        "-q",
        "--no-cache",
    ]);
    let (table, _) = text(&out);
    // (The package cell is cut to fit the terminal; the mark in front survives.)
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("CVE-2022-22965") && l.contains(" ~org.springframework:")),
        "{table}"
    );
    assert!(table.contains("coordinates were inferred"), "{table}");

    // With a checksum index naming the jar, the same finding rests on an exact identity.
    let sha1 = beans["package"]["identity"]["sha1"].as_str().unwrap();
    let index = scratch.path().join("maven-index.txt");
    std::fs::write(
        &index,
        format!(
            "# sha1 groupId:artifactId:version\n{sha1} org.springframework:spring-beans:5.3.17\n"
        ),
    )
    .unwrap();
    let indexed = scan(&["--maven-index", index.to_str().unwrap()]);
    assert_eq!(finding_keys(&indexed), finding_keys(&image));
    let beans = spring4shell_finding(&indexed);
    assert_eq!(beans["package"]["identity"]["confidence"], "checksum");
}
