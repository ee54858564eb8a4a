//! One scenario per attack-edge rule (tests/scenarios/<rule>/{positive,mitigated}), read
//! through the real manifest reader, with the exact edges each rule must (and must not)
//! produce; plus a chain scenario with its exact best path, story and choke points.

use std::path::PathBuf;

use crowsnest_graph::{
    BuildOptions, ChokeTarget, ClusterInput, ImageFindings, PathOptions, RuleId, SecurityGraph,
    attack_paths, build, choke_points,
};
use crowsnest_model::finding::{
    Cvss, Exploitability, Finding, FindingPackage, FixStatus, Priority,
};
use crowsnest_model::{PackageKind, Severity};

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

fn log4shell() -> Finding {
    Finding {
        id: "CVE-2021-44228".into(),
        aliases: vec![],
        package: FindingPackage {
            name: "log4j-core".into(),
            version: "2.14.1".into(),
            kind: PackageKind::Maven,
            purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".into(),
            ecosystem: "Maven".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "2.14.1".into(),
        fixed_versions: vec!["2.15.0".into()],
        fix_status: FixStatus::FixAvailable,
        severity: Severity::Critical,
        severity_source: Some("CVSS_V3".into()),
        cvss: Some(Cvss {
            version: "3.1".into(),
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into(),
            base_score: 10.0,
        }),
        summary: None,
        references: vec![],
        exploitability: Exploitability {
            in_kev: true,
            ..Default::default()
        },
        priority: Priority::default(),
        advisories: vec!["GHSA-jfh8-c2jp-5v3q".into()],
    }
}

fn findings() -> ImageFindings {
    let mut f = ImageFindings::new();
    f.insert_reference("registry.test/web:1", vec![log4shell()]);
    f
}

fn graph_of(dir: &std::path::Path) -> SecurityGraph {
    let snapshot = crowsnest_discover::from_manifests(&[dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: true,
    };
    build(&input, &findings(), &BuildOptions::default())
}

fn expected(rule: RuleId) -> Vec<(&'static str, &'static str)> {
    use RuleId::*;
    const PRIV: &[(&str, &str)] = &[("container:s/p/app", "node:n1")];
    match rule {
        EndpointExploit => vec![("pod:s/web", "container:s/web/app")],
        EscapePrivileged | EscapeNsenter | EscapeModuleLoad | EscapeSysPtrace
        | EscapeCorePattern | HostPathWrite | HostPathRead | RuntimeSocket => PRIV.to_vec(),
        TokenMounted => vec![("container:s/p/app", "sa:s/default")],
        TokenStealFromNode => vec![("node:n1", "sa:s/default")],
        TokenKubeletPods => vec![("container:s/spy/app", "sa:s/victim")],
        TokenFromSecret => vec![("secret:s/legacy", "sa:s/builder")],
        MountedSecret => vec![("container:s/p/app", "secret:s/db")],
        PodExec | PodPatch => vec![("sa:s/ops", "container:s/p/app")],
        PodCreate | ControllerWrite => vec![("sa:s/ops", "namespace:s")],
        SecretsRead => vec![("sa:s/ops", "secret:s/db")],
        RoleBind | RoleEscalate => vec![("sa:s/ops", "cluster")],
        ClusterAdmin => vec![("sa:s/ops", "cluster")],
        Impersonate => vec![("sa:s/ops", "user:alice")],
        TokenCreate => vec![("sa:s/ops", "sa:s/builder")],
        NodesProxy => vec![("sa:s/ops", "node:*")],
        NamespaceAssumeServiceAccount => vec![("namespace:s", "sa:s/builder")],
        NamespacePrivilegedPod => {
            vec![
                ("namespace:kube-system", "node:*"),
                ("namespace:s", "node:*"),
            ]
        }
        NamespaceMountSecret => vec![("namespace:s", "secret:s/db")],
        NodeChoice => vec![("node:*", "node:n1")],
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn every_rule_has_exact_positive_and_mitigated_scenarios() {
    let mut failures = Vec::new();
    for rule in RuleId::ALL {
        let dir = scenarios().join(rule.as_str().to_ascii_lowercase().replace('_', "-"));
        let want = pairs(&expected(rule));
        // Every graph holds system:masters → cluster (the group is cluster-admin in every
        // cluster); it is checked once below, not per scenario.
        let masters = ("group:system:masters".to_string(), "cluster".to_string());
        let mut got = graph_of(&dir.join("positive")).rule_edges(rule);
        got.retain(|p| *p != masters);
        if got != want {
            failures.push(format!("{rule} positive: want {want:?}, got {got:?}"));
        }
        let mitigated = graph_of(&dir.join("mitigated")).rule_edges(rule);
        let still: Vec<_> = want.iter().filter(|p| mitigated.contains(p)).collect();
        if !still.is_empty() {
            failures.push(format!("{rule} mitigated still has {still:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let empty = graph_of(&scenarios().join("node-choice/mitigated"));
    assert!(
        empty
            .rule_edges(RuleId::ClusterAdmin)
            .contains(&("group:system:masters".to_string(), "cluster".to_string()))
    );
}

#[test]
fn internet_to_cluster_admin_chain() {
    let graph = graph_of(&scenarios().join("paths/internet-to-cluster-admin"));
    let paths = attack_paths(&graph, &PathOptions::default());
    let to_admin = paths
        .iter()
        .find(|p| p.target == "cluster")
        .expect("a path to cluster-admin");
    let hops: Vec<&str> = to_admin.steps.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(
        hops,
        [
            "service:s/web",
            "pod:s/web",
            "container:s/web/app",
            "sa:s/web",
            "namespace:s",
            "sa:s/admin",
            "cluster"
        ]
    );
    assert_eq!(to_admin.entry, "internet");
    assert!((to_admin.score - 90.0).abs() < 1e-9, "{}", to_admin.score);
    assert!(
        to_admin
            .story
            .contains("CVE-2021-44228 (critical, KEV, network)"),
        "{}",
        to_admin.story
    );
    assert!(
        to_admin
            .story
            .starts_with("Internet → [routes traffic to (LoadBalancer :443)] service s/web"),
        "{}",
        to_admin.story
    );
    assert_eq!(
        to_admin.steps[2].remediation,
        RuleId::EndpointExploit.remediation()
    );

    // The other targets: a privileged pod in namespace s (no Pod Security enforcement),
    // and kube-system through the cluster-admin account (kube-system enforces
    // restricted, so web's own pod creation could not take a node from there).
    let mut targets: Vec<&str> = paths.iter().map(|p| p.target.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["cluster", "namespace:kube-system", "node:*"]);
    assert!(paths.windows(2).all(|w| w[0].score >= w[1].score));

    // Every edge up to web's service account is on all three paths.
    let chokes = choke_points(&graph, &paths, 50);
    assert_eq!(chokes[0].paths_broken, 3);
    let breaks_both: Vec<String> = chokes
        .iter()
        .filter(|c| c.paths_broken == 3)
        .filter_map(|c| match &c.target {
            ChokeTarget::Edge { from, to, .. } => Some(format!("{from}->{to}")),
            ChokeTarget::Node { .. } => None,
        })
        .collect();
    for edge in [
        "internet->service:s/web",
        "service:s/web->pod:s/web",
        "pod:s/web->container:s/web/app",
        "container:s/web/app->sa:s/web",
        "sa:s/web->namespace:s",
    ] {
        assert!(
            breaks_both.contains(&edge.to_string()),
            "{edge} not in {breaks_both:?}"
        );
    }
    assert!(!breaks_both.contains(&"namespace:s->sa:s/admin".to_string()));
}

#[test]
fn mitigating_the_exposure_removes_the_internet_paths() {
    let graph = graph_of(&scenarios().join("endpoint-exploit/mitigated"));
    assert!(attack_paths(&graph, &PathOptions::default()).is_empty());
    // Its service account has no permissions: even assume-breach finds nothing.
    let breach = PathOptions {
        assume_breach: true,
        ..PathOptions::default()
    };
    assert!(attack_paths(&graph, &breach).is_empty());
    // A privileged container is a path to its node once an attacker runs code in it.
    let graph = graph_of(&scenarios().join("ce-privileged/positive"));
    assert!(attack_paths(&graph, &PathOptions::default()).is_empty());
    let paths = attack_paths(&graph, &breach);
    assert_eq!(paths.len(), 1, "{paths:#?}");
    assert_eq!(
        (paths[0].entry.as_str(), paths[0].target.as_str()),
        ("container:s/p/app", "node:n1")
    );
    assert_eq!(paths[0].steps[0].rule, Some(RuleId::EscapePrivileged));
}
