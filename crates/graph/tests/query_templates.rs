//! Every query template on one scenario cluster (tests/query_scenario), with the exact
//! rows it must return: each template's scenario has workloads or identities that match
//! and ones that must not.

use std::path::PathBuf;

use crowsnest_graph::query::{QueryEngine, QueryOptions, TEMPLATES, template};
use crowsnest_graph::{BuildOptions, ClusterInput, ImageFindings, SecurityGraph, build};
use crowsnest_model::finding::{
    Cvss, Exploitability, Finding, FindingPackage, FixStatus, Priority,
};
use crowsnest_model::{PackageKind, Severity};

fn finding(
    id: &str,
    package: &str,
    severity: Severity,
    vector: &str,
    kev: bool,
    fix: FixStatus,
) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        package: FindingPackage {
            name: package.into(),
            version: "1.0".into(),
            kind: PackageKind::Maven,
            purl: format!("pkg:maven/test/{package}@1.0"),
            ecosystem: "Maven".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "1.0".into(),
        fixed_versions: if fix == FixStatus::FixAvailable {
            vec!["1.1".into()]
        } else {
            vec![]
        },
        fix_status: fix,
        severity,
        severity_source: Some("CVSS_V3".into()),
        cvss: Some(Cvss {
            version: "3.1".into(),
            vector: format!("CVSS:3.1/{vector}/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            base_score: 9.8,
        }),
        summary: None,
        references: vec![],
        exploitability: Exploitability {
            in_kev: kev,
            ..Default::default()
        },
        priority: Priority::default(),
        advisories: vec![],
    }
}

fn findings() -> ImageFindings {
    let mut f = ImageFindings::new();
    f.insert_reference(
        "registry.test/web:1",
        vec![finding(
            "CVE-2021-44228",
            "log4j-core",
            Severity::Critical,
            "AV:N",
            true,
            FixStatus::FixAvailable,
        )],
    );
    f.insert_reference(
        "registry.test/api:1",
        vec![
            finding(
                "CVE-2023-0001",
                "netty",
                Severity::High,
                "AV:N",
                false,
                FixStatus::NoFixAvailable,
            ),
            finding(
                "CVE-2023-0002",
                "jackson",
                Severity::Critical,
                "AV:L",
                false,
                FixStatus::FixAvailable,
            ),
        ],
    );
    f.insert_reference(
        "registry.test/clean:1",
        vec![finding(
            "CVE-2023-0003",
            "zlib",
            Severity::Medium,
            "AV:L",
            false,
            FixStatus::FixAvailable,
        )],
    );
    f
}

fn scenario_graph() -> SecurityGraph {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/query_scenario");
    let snapshot = crowsnest_discover::from_manifests(&[dir]).expect("query scenario manifests");
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: true,
    };
    build(&input, &findings(), &BuildOptions::default())
}

fn rows(graph: &SecurityGraph, findings: &ImageFindings, name: &str) -> Vec<Vec<String>> {
    let t = template(name).unwrap_or_else(|| panic!("no template {name}"));
    let engine = QueryEngine::new(graph).with_findings(findings);
    let result = engine
        .query(t.query, &QueryOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!result.truncated);
    result.text_rows()
}

fn expected(name: &str) -> Vec<Vec<&'static str>> {
    match name {
        // shop/worker runs the same image but is not exposed; shop/api is exposed
        // without a KEV finding.
        "exposed-pods-with-kev" => vec![vec![
            "pod:shop/web",
            "registry.test/web:1",
            "CVE-2021-44228",
        ]],
        // internal's only finding is medium.
        "namespaces-with-vulnerable-pods" => vec![vec!["shop", "3", "3"]],
        // shop/auditor reads secrets of shop only.
        "cluster-wide-secret-readers" => {
            vec![vec!["sa:internal/admin"], vec!["sa:kube-system/reader"]]
        }
        "privileged-containers" => vec![vec![
            "container:internal/agent/agent",
            "registry.test/agent:1",
        ]],
        "pods-that-can-escape" => vec![vec![
            "pod:internal/agent",
            "n2",
            "[CE_PRIVILEGED, CE_NSENTER, CE_RUNTIME_SOCKET]",
        ]],
        // CVE-2023-0001 is high and has no fix; CVE-2023-0003 is medium.
        "fixable-critical-vulnerabilities" => vec![
            vec![
                "registry.test/api:1",
                "CVE-2023-0002",
                "jackson",
                "1.0",
                "[1.1]",
            ],
            vec![
                "registry.test/web:1",
                "CVE-2021-44228",
                "log4j-core",
                "1.0",
                "[1.1]",
            ],
        ],
        // agent is root without a token, sleepy has a token but is not root.
        "root-with-automounted-token" => {
            vec![vec!["container:internal/batch/job", "sa:internal/default"]]
        }
        "cluster-admin-equivalents" => vec![vec![
            "sa:internal/admin",
            "[* on */* cluster-wide via ClusterRoleBinding admin-everything → ClusterRole everything]",
        ]],
        // shop/api is exposed too, but a NetworkPolicy selects its pod.
        "exposed-services-without-network-policy" => {
            vec![vec!["service:shop/web", "LoadBalancer", "[web]"]]
        }
        // web: exploit → token of shop/web → create a pod in shop → any node → n2 → the
        // token of internal/admin. api is exploitable too but has no token.
        "exposed-pods-reaching-cluster-admin" => vec![vec!["pod:shop/web"]],
        "pod-exec-identities" => vec![
            vec!["sa:internal/admin", "6"],
            vec!["sa:shop/debugger", "3"],
        ],
        "pod-creators" => vec![
            vec!["sa:internal/admin", "[internal, kube-system, shop]"],
            vec!["sa:shop/debugger", "[shop]"],
            vec!["sa:shop/web", "[shop]"],
        ],
        "host-namespace-pods" => vec![vec!["pod:internal/agent", "false", "true", "false"]],
        "sensitive-host-mounts" => vec![vec![
            "container:internal/agent/agent",
            "[hostPath /run/containerd/containerd.sock at /run/containerd/containerd.sock]",
        ]],
        // Two containers run the Log4Shell image; nothing else is exploitable.
        "exploitable-vulnerabilities-in-use" => {
            vec![vec!["CVE-2021-44228", "registry.test/web:1", "2"]]
        }
        "pod-security-baseline-violations" => vec![vec![
            "pod:internal/agent",
            "[hostPID: true (host namespaces), volume sock is a hostPath (HostPath Volumes), container agent: privileged (Privileged Containers)]",
        ]],
        other => panic!("no expected rows for template {other}"),
    }
}

#[test]
fn every_template_returns_exactly_its_rows() {
    let graph = scenario_graph();
    let f = findings();
    let mut failures = Vec::new();
    for t in TEMPLATES {
        let got = rows(&graph, &f, t.name);
        let want: Vec<Vec<String>> = expected(t.name)
            .into_iter()
            .map(|r| r.into_iter().map(str::to_string).collect())
            .collect();
        if got != want {
            failures.push(format!("{}:\n  want {want:?}\n  got  {got:?}", t.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn templates_are_named_once_and_described() {
    assert!(TEMPLATES.len() >= 15);
    for (i, t) in TEMPLATES.iter().enumerate() {
        assert!(
            TEMPLATES[..i].iter().all(|o| o.name != t.name),
            "{} twice",
            t.name
        );
        assert!(!t.description.is_empty() && t.query.contains("RETURN"));
        crowsnest_graph::query::parse(t.query).unwrap_or_else(|e| panic!("{}: {e}", t.name));
    }
}

#[test]
fn finding_properties_need_the_findings() {
    // Without the findings, the fix status is unknown: the template finds nothing.
    let graph = scenario_graph();
    let engine = QueryEngine::new(&graph);
    let t = template("fixable-critical-vulnerabilities").unwrap();
    let result = engine.query(t.query, &QueryOptions::default()).unwrap();
    assert!(result.rows.is_empty());
}

#[test]
fn mitigating_the_scenario_empties_the_templates() {
    // The same cluster with the risky parts removed: no exposure, no privileges.
    let graph = crowsnest_graph::build(
        &ClusterInput {
            cluster_id: "empty",
            objects: &Default::default(),
            manifest_mode: true,
        },
        &findings(),
        &BuildOptions::default(),
    );
    let f = findings();
    for t in TEMPLATES {
        let got = rows(&graph, &f, t.name);
        // An empty cluster still has system:masters, which is cluster-admin.
        if t.name == "cluster-admin-equivalents" {
            assert!(
                got.iter().all(|r| r[0] == "group:system:masters"),
                "{got:?}"
            );
            continue;
        }
        assert!(got.is_empty(), "{}: {got:?}", t.name);
    }
}
