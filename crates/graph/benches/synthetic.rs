//! A deterministic synthetic cluster for the scale benchmark and the query bound tests:
//! deployments (with their ReplicaSets and pods) across namespaces and nodes, services
//! (some LoadBalancers, some behind ingresses), NetworkPolicies for half the namespaces,
//! service accounts with RBAC (some dangerous), privileged and hostPath pods, secrets, and
//! per image a set of findings, some in KEV.

use std::collections::BTreeMap;

use crowsnest_graph::ImageFindings;
use crowsnest_model::finding::{
    Cvss, Exploitability, Finding, FindingPackage, FixStatus, Priority,
};
use crowsnest_model::{PackageKind, Severity};
use serde_json::{Value, json};

/// Replicas per deployment.
const REPLICAS: usize = 5;
const PODS_PER_NAMESPACE: usize = 100;
const PODS_PER_NODE: usize = 50;
const SERVICE_ACCOUNTS_PER_NAMESPACE: usize = 10;
const SECRETS_PER_NAMESPACE: usize = 5;
const FINDINGS_PER_IMAGE: usize = 10;
/// Distinct vulnerabilities the findings draw from (images share them).
const VULNERABILITY_POOL: usize = 5000;

pub struct Synthetic {
    pub objects: BTreeMap<String, Vec<Value>>,
    pub findings: ImageFindings,
}

fn image_ref(i: usize) -> String {
    format!("registry.test/app-{i}:1")
}

/// A cluster of `pods` pods running `images` distinct images.
pub fn cluster(pods: usize, images: usize) -> Synthetic {
    let deployments = pods.div_ceil(REPLICAS);
    let namespaces = pods.div_ceil(PODS_PER_NAMESPACE).max(1);
    let nodes = pods.div_ceil(PODS_PER_NODE).max(1);
    let mut o: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut push = |kind: &str, v: Value| o.entry(kind.to_string()).or_default().push(v);

    for n in 0..nodes {
        let mut addresses =
            vec![json!({"type": "InternalIP", "address": format!("10.1.{}.{}", n / 250, n % 250)})];
        if n.is_multiple_of(10) {
            addresses.push(
                json!({"type": "ExternalIP", "address": format!("198.51.{}.{}", n / 250, n % 250)}),
            );
        }
        push(
            "nodes",
            json!({"metadata": {"name": format!("node-{n}")}, "status": {"addresses": addresses}}),
        );
    }
    for ns in 0..namespaces {
        let name = format!("ns-{ns}");
        push("namespaces", json!({"metadata": {"name": name}}));
        for s in 0..SERVICE_ACCOUNTS_PER_NAMESPACE {
            push(
                "serviceaccounts",
                json!({"metadata": {"name": format!("sa-{s}"), "namespace": name}}),
            );
        }
        for s in 0..SECRETS_PER_NAMESPACE {
            push(
                "secrets",
                json!({"metadata": {"name": format!("secret-{s}"), "namespace": name}, "type": "Opaque"}),
            );
        }
        // sa-1 may create pods and read secrets in its namespace.
        push(
            "roles",
            json!({"metadata": {"name": "edit", "namespace": name}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
        );
        push(
            "rolebindings",
            json!({"metadata": {"name": "edit", "namespace": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa-1", "namespace": name}]}),
        );
        // Half the namespaces isolate half their deployments.
        if ns.is_multiple_of(2) {
            push(
                "networkpolicies",
                json!({"metadata": {"name": "isolate", "namespace": name},
                "spec": {"podSelector": {"matchLabels": {"tier": "backend"}}, "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"podSelector": {}}]}]}}),
            );
        }
        // Every 20th namespace's sa-2 may exec into pods cluster-wide.
        if ns.is_multiple_of(20) {
            push(
                "clusterrolebindings",
                json!({"metadata": {"name": format!("ops-{ns}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ops"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa-2", "namespace": name}]}),
            );
        }
    }
    push(
        "clusterroles",
        json!({"metadata": {"name": "ops"}, "rules": [
        {"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "create"]}]}),
    );
    push(
        "clusterroles",
        json!({"metadata": {"name": "cluster-admin"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
    );
    push(
        "clusterrolebindings",
        json!({"metadata": {"name": "platform-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa-9", "namespace": "ns-0"}]}),
    );

    let mut pod = 0;
    for d in 0..deployments {
        let ns = format!("ns-{}", (d * REPLICAS) / PODS_PER_NAMESPACE);
        let name = format!("app-{d}");
        let tier = if d.is_multiple_of(2) {
            "backend"
        } else {
            "frontend"
        };
        let mut container = json!({"name": "main", "image": image_ref(d % images.max(1))});
        if d % 50 == 7 {
            container["securityContext"] = json!({"privileged": true});
        } else if d.is_multiple_of(3) {
            container["securityContext"] =
                json!({"runAsNonRoot": true, "allowPrivilegeEscalation": false});
        }
        let mut spec = json!({"serviceAccountName": format!("sa-{}", d % SERVICE_ACCOUNTS_PER_NAMESPACE),
            "containers": [container]});
        if d % 25 == 11 {
            spec["volumes"] = json!([{"name": "logs", "hostPath": {"path": "/var/log"}}]);
            spec["containers"][0]["volumeMounts"] =
                json!([{"name": "logs", "mountPath": "/host/log"}]);
        }
        if d % 4 == 1 {
            spec["containers"][0]["env"] = json!([{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "secret-0", "key": "password"}}}]);
        }
        let labels = json!({"app": name, "tier": tier});
        push(
            "deployments",
            json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}),
        );
        let rs = format!("{name}-5d8f");
        push(
            "replicasets",
            json!({"metadata": {"name": rs, "namespace": ns,
            "ownerReferences": [{"kind": "Deployment", "name": name, "controller": true}]},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": spec}}}),
        );
        for r in 0..REPLICAS {
            if pod == pods {
                break;
            }
            let mut pod_spec = spec.clone();
            pod_spec["nodeName"] = json!(format!("node-{}", pod % nodes));
            push(
                "pods",
                json!({"metadata": {"name": format!("{rs}-{r}"), "namespace": ns, "labels": labels,
                "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": true}]},
                "spec": pod_spec}),
            );
            pod += 1;
        }
        let service_type = if d.is_multiple_of(20) {
            "LoadBalancer"
        } else {
            "ClusterIP"
        };
        push(
            "services",
            json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"type": service_type, "selector": {"app": name}, "ports": [{"port": 8080}]}}),
        );
        if d % 10 == 5 {
            push(
                "ingresses",
                json!({"metadata": {"name": name, "namespace": ns}, "spec": {"rules": [
                {"host": format!("{name}.example.test"), "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 8080}}}}]}}]}}),
            );
        }
    }

    let mut findings = ImageFindings::new();
    for i in 0..images {
        let list = (0..FINDINGS_PER_IMAGE)
            .map(|k| {
                let v = (i * 7 + k * 131) % VULNERABILITY_POOL;
                finding(v, i % 10 == 3 && k == 0)
            })
            .collect();
        findings.insert_reference(&image_ref(i), list);
    }
    Synthetic {
        objects: o,
        findings,
    }
}

fn finding(v: usize, kev: bool) -> Finding {
    let severity = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ][v % 4];
    let network = !v.is_multiple_of(3);
    Finding {
        id: format!("CVE-2024-{v:05}"),
        aliases: vec![],
        package: FindingPackage {
            name: format!("lib{}", v % 97),
            version: "1.0".into(),
            kind: PackageKind::Deb,
            purl: format!("pkg:deb/debian/lib{}@1.0", v % 97),
            ecosystem: "Debian:12".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "1.0".into(),
        fixed_versions: if v.is_multiple_of(2) {
            vec!["1.1".into()]
        } else {
            vec![]
        },
        fix_status: if v.is_multiple_of(2) {
            FixStatus::FixAvailable
        } else {
            FixStatus::NoFixAvailable
        },
        severity,
        severity_source: None,
        cvss: Some(Cvss {
            version: "3.1".into(),
            vector: format!(
                "CVSS:3.1/AV:{}/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                if network { "N" } else { "L" }
            ),
            base_score: 8.0,
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
