//! `crowsnest paths`, `recommendations` and `insights` live against the real
//! kube-apiserver of the test bed, with images scanned from the test registry.
//!
//! The TEST writes to the cluster (with the admin kubeconfig, through the bed's kubectl,
//! built by scripts/testenv/kube-up at the apiserver's version): the shop
//! example in a fresh namespace, plus the web pod its Deployment would create (the bed
//! runs no controller manager, so nothing else would). Crowsnest itself reads with the
//! read-only identity of deploy/rbac.yaml.

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod common;

struct Bed {
    kubectl: String,
    admin: String,
    reader: String,
    registry: String,
    creds: String,
    ca: String,
}

fn bed() -> Option<Bed> {
    Some(Bed {
        kubectl: crowsnest_testbed::var("CROWSNEST_TEST_KUBECTL")?,
        admin: crowsnest_testbed::var("CROWSNEST_TEST_KUBECONFIG_ADMIN")?,
        reader: crowsnest_testbed::var("CROWSNEST_TEST_KUBECONFIG_READER")?,
        registry: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY")?,
        creds: format!(
            "{}:{}",
            crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_USER")?,
            crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_PASSWORD")?
        ),
        ca: crowsnest_testbed::var("CROWSNEST_TEST_CA")?,
    })
}

fn kubectl(bed: &Bed, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(&bed.kubectl)
        .arg("--kubeconfig")
        .arg(&bed.admin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test bed's kubectl runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write manifests");
    }
    drop(input);
    child.wait_with_output().expect("kubectl finishes")
}

/// Deletes what the test created, also when an assertion fails.
struct Cleanup<'a> {
    bed: &'a Bed,
    namespace: String,
    binding: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for (kind, name) in [
            ("clusterrolebinding", &self.binding),
            ("namespace", &self.namespace),
        ] {
            kubectl(self.bed, &["delete", kind, name, "--wait=false"], None);
        }
    }
}

/// The shop example for this run: its namespace and cluster-wide binding renamed so runs
/// never collide, its images from the test registry, and without its `cluster-admin`
/// ClusterRole document (a real apiserver has that role; the test must not rewrite it).
fn shop_manifests(registry: &str, namespace: &str, binding: &str) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/shop/shop.yaml"
    ))
    .expect("examples/shop/shop.yaml");
    let docs: Vec<String> = example
        .split("\n---\n")
        .filter(|doc| {
            !(doc.contains("kind: ClusterRole\n") && doc.contains("name: cluster-admin}"))
        })
        .map(|doc| {
            // Each document ends with a newline, so the namespace's last line matches too.
            format!("{doc}\n")
                .replace("REGISTRY", registry)
                .replace("name: shop\n", &format!("name: {namespace}\n"))
                .replace("namespace: shop}", &format!("namespace: {namespace}}}"))
                .replace("name: ops-admin}", &format!("name: {binding}}}"))
        })
        .collect();
    assert_eq!(
        docs.len() + 1,
        example.split("\n---\n").count(),
        "one document left out"
    );
    docs.join("\n---\n")
}

/// The pod the web Deployment's template would create.
fn web_pod(registry: &str, namespace: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {
            "serviceAccountName": "web",
            "containers": [{"name": "app", "image": format!("{registry}/crowsnest/app-bookworm:1.0"),
                            "ports": [{"containerPort": 8080}]}]
        }
    })
    .to_string()
}

fn crowsnest(args: &[&str]) -> (i32, String, String) {
    let out = common::run(args);
    let (stdout, stderr) = common::text(&out);
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn live_cluster_paths_recommendations_and_insights() {
    let Some(bed) = bed() else { return };
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or(0)
    );
    let namespace = format!("shop-{run_id}");
    let binding = format!("ops-admin-{run_id}");
    let _cleanup = Cleanup {
        bed: &bed,
        namespace: namespace.clone(),
        binding: binding.clone(),
    };
    let manifests = shop_manifests(&bed.registry, &namespace, &binding);
    let out = kubectl(&bed, &["apply", "-f", "-"], Some(&manifests));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl(
        &bed,
        &["apply", "-f", "-"],
        Some(&web_pod(&bed.registry, &namespace)),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let mirror = crowsnest_testbed::shared().join("feeds");
    let (code, _, stderr) = crowsnest(&[
        "db",
        "sync",
        "--data-dir",
        data_dir,
        "--mirror",
        mirror.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let live = |command: &str, format: &str| {
        crowsnest(&[
            command,
            "--kubeconfig",
            &bed.reader,
            "--scan-images",
            "--ca-file",
            &bed.ca,
            "--creds",
            &bed.creds,
            "--data-dir",
            data_dir,
            "--limit",
            "50",
            "--format",
            format,
            "-q",
        ])
    };

    // The path: Internet → the LoadBalancer → the web pod → Log4Shell in its image →
    // pod creation in the namespace → the ops account bound to cluster-admin.
    let (code, stdout, stderr) = live("paths", "json");
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("paths JSON");
    let ours = |p: &&serde_json::Value| {
        p["story"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("{namespace}/web")))
    };
    let path = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| ours(p) && p["target_kind"] == "clusterAdmin")
        .unwrap_or_else(|| {
            panic!("no Internet → cluster-admin path through {namespace}/web: {stdout}")
        });
    let story = path["story"].as_str().unwrap();
    assert!(story.starts_with("Internet → "), "{story}");
    for part in [
        format!("service {namespace}/web"),
        format!("pod {namespace}/web-1"),
        "CVE-2021-44228".to_string(),
        format!("service account {namespace}/ops"),
    ] {
        assert!(story.contains(&part), "{part} in {story}");
    }
    assert!(story.ends_with("⇒ cluster-admin"), "{story}");
    let rules: Vec<&str> = path["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["rule"].as_str())
        .collect();
    assert!(rules.contains(&"ENDPOINT_EXPLOIT"), "{rules:?}");
    assert!(
        rules.contains(&"POD_CREATE") || rules.contains(&"POD_CREATE_ASSUME_SA"),
        "{rules:?}"
    );
    assert!(
        path["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["remediation"].as_str().unwrap_or("").is_empty()),
        "every step has a fix"
    );

    // The same paths drawn: Graphviz accepts the file when it is installed.
    let (code, dot, stderr) = live("paths", "dot");
    assert_eq!(code, 0, "{stderr}");
    assert!(dot.starts_with("digraph attack_paths {"), "{dot}");
    assert!(dot.contains("ENDPOINT_EXPLOIT"), "{dot}");
    let (code, mermaid, _) = live("paths", "mermaid");
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");

    // Recommendations: the exposed web workload's Log4Shell comes first among running
    // containers, with the runtime context raising its priority.
    let (code, stdout, stderr) = live("recommendations", "json");
    assert_eq!(code, 0, "{stderr}");
    let recs: serde_json::Value = serde_json::from_str(&stdout).expect("recommendations JSON");
    let web = recs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["kind"] == "runningContainerVulnerabilities"
                && r["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(&format!("pod:{namespace}/web-1")))
        })
        .unwrap_or_else(|| panic!("no running-container recommendation for web-1: {stdout}"));
    assert_eq!(web["runtimeContext"]["internet_exposed"], true, "{web}");
    assert_eq!(web["runtimeContext"]["powerful_identity"], true, "{web}");
    assert!(web["fix"].as_str().unwrap().contains("log4j"), "{web}");
    let image = recs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["kind"] == "imageVulnerabilities"
                && r["resources"][0]["label"]
                    .as_str()
                    .is_some_and(|l| l.contains("crowsnest/app-bookworm:1.0"))
        })
        .expect("an image recommendation for the app image");
    assert!(
        image["resources"][0]["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("CVE-2021-44228")),
        "{image}"
    );
    assert!(
        recs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "posture:cluster-admin"),
        "the ops binding is a cluster-admin recommendation"
    );

    // Insights of the live cluster include the exposure of the web pod.
    let (code, stdout, stderr) = live("insights", "json");
    assert_eq!(code, 0, "{stderr}");
    let insights: serde_json::Value = serde_json::from_str(&stdout).expect("insights JSON");
    assert!(
        insights
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "exposedToInternet"
                && i["node_key"] == format!("pod:{namespace}/web-1")),
        "{stdout}"
    );
}
