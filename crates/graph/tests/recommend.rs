//! Runtime context and recommendations on tests/scenarios/recommend: an exposed,
//! privileged workload with a pod-creating identity and an isolated one, running images
//! with the same finding.

use std::path::PathBuf;

use crowsnest_graph::recommend::{IMAGE_TITLE, RUNNING_TITLE};
use crowsnest_graph::{
    BuildOptions, ClusterInput, ImageFindings, RecommendationKind, SecurityGraph, build,
    image_contexts, recommendations,
};
use crowsnest_model::finding::{
    Cvss, Exploitability, Finding, FindingPackage, FixStatus, Priority, RuntimeContext,
};
use crowsnest_model::{PackageKind, Severity};

fn finding(id: &str, package: &str, severity: Severity, fixed: Option<&str>) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        package: FindingPackage {
            name: package.into(),
            version: "1.0".into(),
            kind: PackageKind::Npm,
            purl: format!("pkg:npm/{package}@1.0"),
            ecosystem: "npm".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "1.0".into(),
        fixed_versions: fixed.map(|v| vec![v.to_string()]).unwrap_or_default(),
        fix_status: if fixed.is_some() {
            FixStatus::FixAvailable
        } else {
            FixStatus::NoFixAvailable
        },
        severity,
        severity_source: Some("CVSS_V3".into()),
        cvss: Some(Cvss {
            version: "3.1".into(),
            vector: "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            base_score: 7.5,
        }),
        summary: None,
        references: vec![],
        exploitability: Exploitability::default(),
        priority: Priority::default(),
        advisories: vec![],
    }
}

fn scenario() -> SecurityGraph {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios/recommend");
    let snapshot = crowsnest_discover::from_manifests(&[dir]).expect("scenario manifests");
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: true,
    };
    build(&input, &ImageFindings::new(), &BuildOptions::default())
}

fn shared() -> Finding {
    finding("CVE-2024-0001", "left-pad", Severity::High, Some("1.3.0"))
}

fn image_findings() -> ImageFindings {
    let mut f = ImageFindings::new();
    f.insert_reference("registry.test/front:1", vec![shared()]);
    f.insert_reference(
        "registry.test/back:1",
        vec![
            shared(),
            finding("CVE-2024-0002", "left-pad", Severity::Medium, Some("1.4.0")),
            finding("CVE-2024-0003", "openssl", Severity::Critical, None),
        ],
    );
    f
}

/// A stand-in scorer that makes the context visible in the score: the severity level
/// times ten, plus one point per context flag. It checks which context each image gets.
fn context_score(found: &mut [Finding], context: Option<&RuntimeContext>) {
    let flags = context.map_or(0, |c| {
        [
            c.internet_exposed,
            c.privileged,
            c.host_access,
            c.powerful_identity,
            c.runs_as_root,
        ]
        .iter()
        .filter(|f| **f)
        .count()
    });
    for f in found {
        f.priority.score = f.severity as u8 as f64 * 10.0 + flags as f64;
    }
}

#[test]
fn contexts_are_the_worst_case_of_the_containers_running_each_image() {
    let graph = scenario();
    let contexts: Vec<(String, RuntimeContext)> = image_contexts(&graph)
        .into_iter()
        .map(|(id, c)| (graph.node(id).name.clone(), c))
        .collect();
    assert_eq!(
        contexts,
        vec![
            (
                "registry.test/back:1".to_string(),
                RuntimeContext::default()
            ),
            (
                "registry.test/front:1".to_string(),
                RuntimeContext {
                    internet_exposed: true,
                    privileged: true,
                    host_access: false,
                    runs_as_root: true,
                    powerful_identity: true,
                }
            ),
        ]
    );
}

#[test]
fn reprioritise_hands_each_image_its_context() {
    let graph = scenario();
    let mut findings = image_findings();
    findings.reprioritise(&graph, context_score);
    let recs = recommendations(&graph, &findings);
    let images: Vec<(String, f64)> = recs
        .iter()
        .filter(|r| r.kind == RecommendationKind::ImageVulnerabilities)
        .map(|r| (r.resources[0].label.clone(), r.priority))
        .collect();
    // Back's critical finding (50) outranks front's high one (40 + 4 context flags).
    assert_eq!(
        images,
        vec![
            ("image registry.test/back:1".to_string(), 50.0),
            ("image registry.test/front:1".to_string(), 44.0),
        ]
    );
}

#[test]
fn running_containers_are_ordered_by_exposure_then_priority() {
    let graph = scenario();
    let mut findings = image_findings();
    findings.reprioritise(&graph, context_score);
    let recs = recommendations(&graph, &findings);
    let running: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == RecommendationKind::RunningContainerVulnerabilities)
        .collect();
    assert_eq!(running.len(), 2);
    // Front first although back's worst finding scores higher: it is exposed.
    assert_eq!(
        running[0].id,
        "running-vulnerabilities:workload:s/Deployment/front"
    );
    assert_eq!(running[0].title, RUNNING_TITLE);
    assert_eq!(running[0].severity, Severity::High);
    assert_eq!(
        running[0].resources[0].details,
        vec![
            "exposed to the internet",
            "privileged or can escape to its node",
            "holds a powerful service-account token",
            "runs as root",
            "containers: container s/front (Deployment template)/app",
        ]
    );
    assert_eq!(
        running[0].fix,
        "upgrade left-pad 1.0 to 1.3.0; then roll out workload s/front with the rebuilt image"
    );
    assert_eq!(
        running[1].id,
        "running-vulnerabilities:workload:s/Deployment/back"
    );
    assert_eq!(
        running[1].findings_by_severity,
        vec![
            (Severity::Critical, 1),
            (Severity::High, 1),
            (Severity::Medium, 1)
        ]
    );
    assert_eq!(
        running[1].fix,
        "upgrade left-pad 1.0 to the highest of 1.3.0, 1.4.0; 1 finding(s) have no fixed version yet: rebuild on a newer base image when one exists; then roll out workload s/back with the rebuilt image"
    );
    // Workload recommendations come before image ones, which come before posture.
    let kinds: Vec<RecommendationKind> = recs.iter().map(|r| r.kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
    let image = recs
        .iter()
        .find(|r| r.kind == RecommendationKind::ImageVulnerabilities)
        .expect("image recommendation");
    assert_eq!(image.title, IMAGE_TITLE);
    assert_eq!(
        image.resources[0].details[0],
        "CVE-2024-0003 (critical, priority 50.0) in openssl 1.0"
    );
}

#[test]
fn posture_recommendations_name_resources_and_the_field_to_set() {
    let graph = scenario();
    let recs = recommendations(&graph, &ImageFindings::new());
    assert!(
        recs.iter().all(|r| r.kind == RecommendationKind::Posture),
        "no findings, no vulnerability recommendations"
    );
    let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    // Ordered by severity, then by how many resources are affected (the exposed
    // service and pod are two), then by id.
    assert_eq!(
        ids,
        vec![
            "posture:privileged-containers",
            "posture:pss-baseline",
            "posture:exposed-to-internet",
            "posture:no-network-policy",
            "posture:runs-as-root",
            "posture:pss-restricted",
            "posture:automounted-tokens",
        ]
    );
    let privileged = &recs[0];
    assert_eq!(privileged.severity, Severity::High);
    assert!(privileged.fix.contains("securityContext.privileged: false"));
    let keys: Vec<&str> = privileged
        .resources
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(keys, vec!["container:s/front-template-deployment/app"]);
    assert_eq!(
        privileged.resources[0].details,
        vec!["securityContext.privileged: true"]
    );
    let no_policy = recs
        .iter()
        .find(|r| r.id == "posture:no-network-policy")
        .expect("no-network-policy");
    let keys: Vec<&str> = no_policy.resources.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, vec!["pod:s/front-template-deployment"]);
}

#[test]
fn recommendations_are_deterministic() {
    let graph = scenario();
    let mut findings = image_findings();
    findings.reprioritise(&graph, context_score);
    let a = serde_json::to_string(&recommendations(&graph, &findings)).unwrap();
    for _ in 0..5 {
        let graph = scenario();
        let mut findings = image_findings();
        findings.reprioritise(&graph, context_score);
        assert_eq!(
            a,
            serde_json::to_string(&recommendations(&graph, &findings)).unwrap()
        );
    }
}
