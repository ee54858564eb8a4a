//! Discovery against the real kube-apiserver of the test bed (scripts/testenv/kube-up):
//! scenarios are created as admin, discovery runs as the deploy/rbac.yaml identity.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use crowsnest_discover::kinds::{self, split_api_version};
use crowsnest_discover::{
    ClusterStatus, DiscoverOptions, GapReason, Snapshot, Source, Unreachable, discover, doctor,
    targets,
};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

struct Bed {
    admin: Client,
    reader_kubeconfig: PathBuf,
    audit_log: PathBuf,
    reader_user: String,
}

fn bed_paths() -> Option<(PathBuf, PathBuf, PathBuf, String)> {
    Some((
        crowsnest_testbed::path("CROWSNEST_TEST_KUBECONFIG_ADMIN")?,
        crowsnest_testbed::path("CROWSNEST_TEST_KUBECONFIG_READER")?,
        crowsnest_testbed::path("CROWSNEST_TEST_KUBE_AUDIT_LOG")?,
        crowsnest_testbed::var("CROWSNEST_TEST_KUBE_READER_USER")?,
    ))
}

async fn bed() -> Option<Bed> {
    let (admin, reader_kubeconfig, audit_log, reader_user) = bed_paths()?;
    let file = Kubeconfig::read_from(&admin).expect("admin kubeconfig");
    let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .unwrap();
    Some(Bed {
        admin: Client::try_from(config).unwrap(),
        reader_kubeconfig,
        audit_log,
        reader_user,
    })
}

/// Values planted in secrets and config maps of this run; none may appear anywhere.
struct Scenario {
    run: String,
    planted: Vec<String>,
}

static SCENARIO: OnceCell<Scenario> = OnceCell::const_new();

fn resource_of(object: &Value) -> ApiResource {
    let api_version = object["apiVersion"].as_str().unwrap();
    let kind = object["kind"].as_str().unwrap();
    let (group, version) = split_api_version(api_version);
    let plural = match kinds::by_group_kind(group, kind) {
        Some(spec) => spec.plural.to_string(),
        None => format!("{}s", kind.to_lowercase()),
    };
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural,
    }
}

/// Creates an object as admin and returns it as stored (with its UID).
async fn create(admin: &Client, object: Value) -> DynamicObject {
    let resource = resource_of(&object);
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(admin.clone(), ns, &resource),
        None => Api::all_with(admin.clone(), &resource),
    };
    let dynamic: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    api.create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e}", object["metadata"]))
}

fn owner(kind: &str, api_version: &str, created: &DynamicObject) -> Value {
    json!([{"apiVersion": api_version, "kind": kind, "name": created.metadata.name,
            "uid": created.metadata.uid, "controller": true}])
}

fn pod(ns: &str, name: &str, node: &str, owners: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "ownerReferences": owners},
           "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.test/shop/web:1.0",
                    "securityContext": {"privileged": name.contains("priv")}}]}})
}

/// Builds every kind of object discovery reads, once per test process.
async fn scenario(admin: &Client) -> &'static Scenario {
    SCENARIO
        .get_or_init(|| async {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
            let run = format!("r{}", nanos % 10_000_000_000);
            let ns = format!("shop-{run}");
            let planted = vec![
                format!("planted-secret-{run}-Zq9"),
                format!("planted-string-data-{run}-Xw7"),
                format!("planted-configmap-{run}-Kp3"),
            ];
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            // Enforce "privileged" so the privileged pod below is admitted; warn and audit
            // carry the stricter levels a posture check compares against.
            let labels = json!({"pod-security.kubernetes.io/enforce": "privileged",
                                "pod-security.kubernetes.io/audit": "baseline",
                                "pod-security.kubernetes.io/warn": "restricted"});
            create(admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}})).await;
            for (i, zone) in ["zone-a", "zone-b"].iter().enumerate() {
                create(admin, json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": format!("node-{i}-{run}"), "labels": {"topology.kubernetes.io/zone": zone,
                                 "node.kubernetes.io/instance-type": "m5.large", "kubernetes.io/os": "linux"}},
                    "spec": {"providerID": format!("aws:///{zone}/i-{i}"),
                             "taints": [{"key": "dedicated", "value": "shop", "effect": "NoSchedule"}]}})).await;
            }
            let node = format!("node-0-{run}");
            let deploy = create(admin, json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "app", "image": "registry.test/shop/web:1.0"}]}}}})).await;
            let rs = create(admin, json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web-1", "namespace": ns, "ownerReferences": owner("Deployment", "apps/v1", &deploy)},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "app", "image": "registry.test/shop/web:1.0"}]}}}})).await;
            create(admin, pod(&ns, "web-1-a", &node, owner("ReplicaSet", "apps/v1", &rs))).await;
            create(admin, pod(&ns, "lonely-priv", &node, json!([]))).await;
            let template = json!({"metadata": {"labels": {"app": "x"}},
                                  "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "registry.test/x:1"}]}});
            let always = json!({"metadata": {"labels": {"app": "x"}},
                                "spec": {"containers": [{"name": "c", "image": "registry.test/x:1"}]}});
            create(admin, json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
                "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "x"}}, "template": always}})).await;
            create(admin, json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": always}})).await;
            let cron = create(admin, json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": ns},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}})).await;
            create(admin, json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "nightly-1", "namespace": ns, "ownerReferences": owner("CronJob", "batch/v1", &cron)},
                "spec": {"template": template}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy", "namespace": ns},
                "spec": {"selector": {"app": "x"}, "template": always}})).await;
            for (name, spec) in [
                ("cip", json!({"type": "ClusterIP", "ports": [{"port": 80}], "selector": {"app": "web"}})),
                ("np", json!({"type": "NodePort", "ports": [{"port": 80}], "selector": {"app": "web"}})),
                ("lb", json!({"type": "LoadBalancer", "ports": [{"port": 443}], "selector": {"app": "web"}})),
                ("ext", json!({"type": "ExternalName", "externalName": "db.example.com"})),
                ("headless", json!({"clusterIP": "None", "ports": [{"port": 5432}], "selector": {"app": "x"}})),
            ] {
                create(admin, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec})).await;
            }
            create(admin, json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "lb-1", "namespace": ns, "labels": {"kubernetes.io/service-name": "lb"}},
                "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.5"]}], "ports": [{"port": 443}]})).await;
            create(admin, json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                "metadata": {"name": format!("nginx-{run}")}, "spec": {"controller": "k8s.io/ingress-nginx"}})).await;
            create(admin, json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": ns},
                "spec": {"ingressClassName": format!("nginx-{run}"), "rules": [{"host": "shop.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "cip", "port": {"number": 80}}}}]}}]}})).await;
            create(admin, json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": ns},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": ns}})).await;
            create(admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-exec", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]})).await;
            create(admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "deployer-exec", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-exec"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})).await;
            create(admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": format!("secret-reader-{run}")},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]})).await;
            create(admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": format!("deployer-secrets-{run}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("secret-reader-{run}")},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})).await;
            let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": b64(&planted[0])}}).to_string();
            create(admin, json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "db-credentials", "namespace": ns,
                             "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied, "team": "shop"}},
                "type": "Opaque", "data": {"password": b64(&planted[0])}, "stringData": {"token": planted[1]}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
                "data": {"api-key": planted[2]}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": format!("pv-{run}")},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/var/lib/data"}}})).await;
            create(admin, json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": ns},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).await;
            let hook = |kind: &str| json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                "metadata": {"name": format!("{}-{run}", kind.to_lowercase())},
                "webhooks": [{"name": "check.shop.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                              "failurePolicy": "Ignore",
                              "clientConfig": {"url": "https://127.0.0.1:1/validate"},
                              "namespaceSelector": {"matchLabels": {"never": run.clone()}},
                              "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
            create(admin, hook("ValidatingWebhookConfiguration")).await;
            create(admin, hook("MutatingWebhookConfiguration")).await;
            create(admin, json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("widgets{run}.example.com")},
                "spec": {"group": "example.com", "scope": "Namespaced",
                         "names": {"plural": format!("widgets{run}"), "kind": format!("Widget{run}")},
                         "versions": [{"name": "v1", "served": true, "storage": true,
                                       "schema": {"openAPIV3Schema": {"type": "object"}}}]}})).await;
            gateway_api(admin, &ns).await;
            Scenario { run, planted }
        })
        .await
}

/// Installs minimal Gateway API CRDs (kept across runs) and a Gateway and HTTPRoute in
/// `ns`, so the optional kinds are discovered at the version the cluster serves.
async fn gateway_api(admin: &Client, ns: &str) {
    let crds: Api<DynamicObject> = Api::all_with(
        admin.clone(),
        &resource_of(&json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"})),
    );
    for (kind, plural) in [("Gateway", "gateways"), ("HTTPRoute", "httproutes")] {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.gateway.networking.k8s.io"),
                         "annotations": {"api-approved.kubernetes.io": "unapproved, crowsnest test fixture"}},
            "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                     "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
        let dynamic: DynamicObject = serde_json::from_value(crd).unwrap();
        match crds.create(&PostParams::default(), &dynamic).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => panic!("creating CRD {plural}: {e}"),
        }
    }
    let objects = [
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": ns},
               "spec": {"gatewayClassName": "example", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": ns},
               "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "cip", "port": 80}]}]}}),
    ];
    for object in objects {
        let resource = resource_of(&object);
        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), ns, &resource);
        let dynamic: DynamicObject = serde_json::from_value(object).unwrap();
        // A new CRD is served a moment after it is created.
        let mut tries = 0;
        loop {
            match api.create(&PostParams::default(), &dynamic).await {
                Ok(_) => break,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("creating {}: {e}", resource.kind),
            }
        }
    }
}

fn options() -> DiscoverOptions {
    DiscoverOptions {
        request_timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

async fn discover_kubeconfig(
    path: &Path,
    source: Source,
    options: &DiscoverOptions,
) -> Vec<Snapshot> {
    discover(targets(Some(path), &source).await.unwrap(), options).await
}

fn assert_no_planted(text: &str, scenario: &Scenario, what: &str) {
    for value in &scenario.planted {
        let encodings = [
            value.clone(),
            base64::engine::general_purpose::STANDARD.encode(value),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(value),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
        ];
        for e in encodings {
            assert!(
                !text.contains(&e),
                "{what} contains the planted value {value} (as {e})"
            );
        }
    }
}

fn names_in(snapshot: &Snapshot, kind: &str, namespace: &str) -> Vec<String> {
    snapshot
        .objects_of(kind)
        .iter()
        .filter(|o| o["metadata"]["namespace"].as_str().unwrap_or("") == namespace)
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn reader_sees_every_kind_without_gaps_and_no_secret_value() {
    let Some(bed) = bed().await else { return };
    let scenario = scenario(&bed.admin).await;
    let ns = format!("shop-{}", scenario.run);
    let snaps =
        discover_kubeconfig(&bed.reader_kubeconfig, Source::CurrentContext, &options()).await;
    let snap = &snaps[0];
    assert_eq!(snap.status, ClusterStatus::Ok, "gaps: {:?}", snap.gaps);
    assert!(snap.gaps.is_empty());
    assert!(
        snap.version.as_deref().unwrap_or("").starts_with("v1."),
        "{:?}",
        snap.version
    );
    assert!(
        !snap.cluster_id.starts_with("server:"),
        "cluster id from kube-system UID: {}",
        snap.cluster_id
    );

    for kind in kinds::KINDS.iter().filter(|k| !k.optional) {
        assert!(
            snap.objects.contains_key(kind.plural),
            "no list of {}",
            kind.plural
        );
    }
    let node = snap
        .objects_of("nodes")
        .iter()
        .find(|n| n["metadata"]["name"] == format!("node-0-{}", scenario.run))
        .unwrap();
    assert_eq!(
        node["metadata"]["labels"]["topology.kubernetes.io/zone"],
        "zone-a"
    );
    assert_eq!(node["spec"]["taints"][0]["key"], "dedicated");
    let namespace = snap
        .objects_of("namespaces")
        .iter()
        .find(|n| n["metadata"]["name"] == ns.as_str())
        .unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/warn"],
        "restricted"
    );
    let pod = snap
        .objects_of("pods")
        .iter()
        .find(|p| p["metadata"]["name"] == "web-1-a" && p["metadata"]["namespace"] == ns.as_str())
        .unwrap();
    assert_eq!(pod["spec"]["nodeName"], format!("node-0-{}", scenario.run));
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    assert_eq!(pod["kind"], "Pod");
    assert!(pod["metadata"].get("managedFields").is_none());
    let mut service_types: Vec<String> = snap
        .objects_of("services")
        .iter()
        .filter(|s| s["metadata"]["namespace"] == ns.as_str())
        .map(|s| s["spec"]["type"].as_str().unwrap().to_string())
        .collect();
    service_types.sort();
    assert_eq!(
        service_types,
        [
            "ClusterIP",
            "ClusterIP",
            "ExternalName",
            "LoadBalancer",
            "NodePort"
        ]
    );
    for (kind, name) in [
        ("deployments", "web"),
        ("replicasets", "web-1"),
        ("statefulsets", "db"),
        ("daemonsets", "agent"),
        ("jobs", "nightly-1"),
        ("cronjobs", "nightly"),
        ("replicationcontrollers", "legacy"),
        ("endpointslices", "lb-1"),
        ("ingresses", "web"),
        ("networkpolicies", "deny"),
        ("serviceaccounts", "deployer"),
        ("roles", "pod-exec"),
        ("rolebindings", "deployer-exec"),
        ("secrets", "db-credentials"),
        ("configmaps", "settings"),
        ("persistentvolumeclaims", "data"),
    ] {
        assert!(
            names_in(snap, kind, &ns).contains(&name.to_string()),
            "{kind} {name} missing"
        );
    }
    for (kind, name) in [
        ("ingressclasses", format!("nginx-{}", scenario.run)),
        ("clusterroles", format!("secret-reader-{}", scenario.run)),
        (
            "clusterrolebindings",
            format!("deployer-secrets-{}", scenario.run),
        ),
        ("persistentvolumes", format!("pv-{}", scenario.run)),
        (
            "validatingwebhookconfigurations",
            format!("validatingwebhookconfiguration-{}", scenario.run),
        ),
        (
            "mutatingwebhookconfigurations",
            format!("mutatingwebhookconfiguration-{}", scenario.run),
        ),
        (
            "customresourcedefinitions",
            format!("widgets{}.example.com", scenario.run),
        ),
    ] {
        assert!(
            names_in(snap, kind, "").contains(&name),
            "{kind} {name} missing"
        );
    }
    let secret = snap
        .objects_of("secrets")
        .iter()
        .find(|s| {
            s["metadata"]["name"] == "db-credentials" && s["metadata"]["namespace"] == ns.as_str()
        })
        .unwrap();
    assert_eq!(
        secret["metadata"]["annotations"]["team"], "shop",
        "metadata kept"
    );
    assert!(secret.get("data").is_none() && secret.get("stringData").is_none());

    // Nothing Crowsnest prints or writes holds a planted value.
    let json = snap.to_json();
    assert_no_planted(&json, scenario, "snapshot JSON");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    snap.write_to(&file).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        assert_no_planted(
            &std::fs::read_to_string(&path).unwrap(),
            scenario,
            &path.display().to_string(),
        );
    }
    assert_eq!(Snapshot::read_from(&file).unwrap().objects, snap.objects);

    // Small pages give the same objects as large ones (pagination follows continue tokens).
    let small = DiscoverOptions {
        page_size: 2,
        requests_per_second: 200,
        ..options()
    };
    let paged =
        &discover_kubeconfig(&bed.reader_kubeconfig, Source::CurrentContext, &small).await[0];
    for kind in ["pods", "services", "clusterroles", "secrets"] {
        assert_eq!(
            names_in(paged, kind, &ns),
            names_in(snap, kind, &ns),
            "{kind}"
        );
        assert!(
            paged.objects_of(kind).len() >= snap.objects_of(kind).len(),
            "{kind}"
        );
    }
}

/// Makes an identity in the cluster bound to `rules` (or to nothing) and returns a
/// kubeconfig file for it, written into `dir`.
async fn identity(bed: &Bed, name: &str, rules: Option<Value>, dir: &Path) -> PathBuf {
    let ns = crowsnest_discover::doctor::IDENTITY_NAMESPACE;
    create(&bed.admin, json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}})).await;
    if let Some(rules) = rules {
        create(
            &bed.admin,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}),
        )
        .await;
        create(&bed.admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})).await;
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(bed.admin.clone(), ns);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    with_token(&bed.reader_kubeconfig, &token, dir, name)
}

/// A copy of the reader kubeconfig that authenticates with `token` instead.
fn with_token(reader: &Path, token: &str, dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(reader).unwrap();
    let replaced: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("token:") {
                format!("    token: {token}")
            } else {
                l.to_string()
            }
        })
        .collect();
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, replaced.join("\n") + "\n").unwrap();
    path
}

#[tokio::test]
async fn doctor_passes_with_shipped_role_and_names_a_removed_rule() {
    let Some(bed) = bed().await else { return };
    let reports = doctor(
        targets(Some(&bed.reader_kubeconfig), &Source::CurrentContext)
            .await
            .unwrap(),
        &options(),
    )
    .await;
    assert!(reports[0].is_ok(), "{:?}", reports[0]);
    assert!(reports[0].grant_yaml().is_none());

    // The shipped rules minus the one for apps (deployments, replicasets, ...).
    let shipped: Vec<Value> =
        serde_saphyr::from_multiple(&crowsnest_discover::rbac_manifest()).unwrap();
    let role = shipped.iter().find(|d| d["kind"] == "ClusterRole").unwrap();
    let rules: Vec<Value> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["apiGroups"][0] != "apps")
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let kubeconfig = identity(
        &bed,
        &format!("cn-no-apps-{run}"),
        Some(Value::Array(rules)),
        dir.path(),
    )
    .await;
    let reports = doctor(
        targets(Some(&kubeconfig), &Source::CurrentContext)
            .await
            .unwrap(),
        &options(),
    )
    .await;
    let missing: Vec<String> = reports[0]
        .missing
        .iter()
        .map(|p| p.resource.to_string())
        .collect();
    assert_eq!(
        missing,
        ["deployments", "replicasets", "statefulsets", "daemonsets"],
        "{:?}",
        reports[0]
    );
    let grant = reports[0].grant_yaml().unwrap();
    assert!(
        grant.contains("apiGroups: [\"apps\"]") && grant.contains("deployments"),
        "{grant}"
    );

    // Discovery with that identity keeps the rest and records the gaps.
    let snap = &discover_kubeconfig(&kubeconfig, Source::CurrentContext, &options()).await[0];
    let gaps: Vec<&str> = snap.gaps.iter().map(|g| g.kind.as_str()).collect();
    assert_eq!(
        gaps,
        ["deployments", "replicasets", "statefulsets", "daemonsets"]
    );
    assert!(
        snap.gaps
            .iter()
            .all(|g| g.reason == GapReason::Forbidden && g.message.contains("forbidden"))
    );
    assert!(
        matches!(&snap.status, ClusterStatus::Partial { kinds } if kinds.len() == 4),
        "{:?}",
        snap.status
    );
    assert!(!snap.objects_of("pods").is_empty());
}

#[tokio::test]
async fn down_cluster_and_wrong_credentials_get_their_status_while_others_work() {
    let Some(bed) = bed().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    let nobody = identity(&bed, &format!("cn-nobody-{run}"), None, dir.path()).await;
    let wrong = with_token(
        &bed.reader_kubeconfig,
        "not-a-valid-token",
        dir.path(),
        "wrong",
    );

    // One kubeconfig, four contexts: good, refused, wrong token, identity without rights.
    let file = |p: &Path| Kubeconfig::read_from(p).unwrap();
    let mut merged = file(&bed.reader_kubeconfig);
    let base_cluster = merged.clusters[0].clone();
    let mut add = |name: &str, mut cluster: kube::config::NamedCluster, from: &Path| {
        cluster.name = name.to_string();
        let mut user = file(from).auth_infos[0].clone();
        user.name = name.to_string();
        let mut context = merged.contexts[0].clone();
        context.name = name.to_string();
        let inner = context.context.as_mut().unwrap();
        inner.cluster = name.to_string();
        inner.user = Some(name.to_string());
        merged.clusters.push(cluster);
        merged.auth_infos.push(user);
        merged.contexts.push(context);
    };
    let mut down = base_cluster.clone();
    down.cluster.as_mut().unwrap().server = Some("https://127.0.0.1:1".into());
    add("down", down, &bed.reader_kubeconfig);
    add("wrong", base_cluster.clone(), &wrong);
    add("nobody", base_cluster, &nobody);
    let path = dir.path().join("many.kubeconfig");
    std::fs::write(&path, serde_json::to_string(&merged).unwrap()).unwrap();

    let snaps = discover_kubeconfig(&path, Source::AllContexts, &options()).await;
    let status = |context: &str| {
        snaps
            .iter()
            .find(|s| matches!(&s.origin, crowsnest_discover::Origin::Cluster { context: c, .. } if c == context))
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(snaps.len(), 4);
    assert_eq!(status("crowsnest-discover"), ClusterStatus::Ok);
    assert!(
        matches!(
            status("down"),
            ClusterStatus::Unreachable {
                reason: Unreachable::Refused,
                ..
            }
        ),
        "{:?}",
        status("down")
    );
    assert!(
        matches!(status("wrong"), ClusterStatus::AuthenticationFailed { .. }),
        "{:?}",
        status("wrong")
    );
    assert!(
        matches!(status("nobody"), ClusterStatus::Forbidden { .. }),
        "{:?}",
        status("nobody")
    );

    let only = discover_kubeconfig(
        &path,
        Source::Contexts(vec!["down".into(), "crowsnest-discover".into()]),
        &options(),
    )
    .await;
    assert_eq!(
        only.iter().map(|s| s.status.label()).collect::<Vec<_>>(),
        ["unreachable", "ok"]
    );
}

#[tokio::test]
async fn audit_log_shows_only_reads_by_the_reader() {
    let Some(bed) = bed().await else { return };
    let scenario = scenario(&bed.admin).await;
    let mark = std::fs::metadata(&bed.audit_log)
        .map(|m| m.len())
        .unwrap_or(0);
    let snaps =
        discover_kubeconfig(&bed.reader_kubeconfig, Source::CurrentContext, &options()).await;
    assert_eq!(snaps[0].status, ClusterStatus::Ok);
    doctor(
        targets(Some(&bed.reader_kubeconfig), &Source::CurrentContext)
            .await
            .unwrap(),
        &options(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let log = std::fs::read(&bed.audit_log).unwrap();
    let text = String::from_utf8_lossy(&log[mark as usize..]);
    assert_no_planted(&text, scenario, "audit log");
    let mut seen = 0;
    let mut listed_secrets = false;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["user"]["username"] != bed.reader_user.as_str() {
            continue;
        }
        seen += 1;
        let verb = event["verb"].as_str().unwrap_or("");
        let resource = event["objectRef"]["resource"].as_str().unwrap_or("");
        listed_secrets |= verb == "list" && resource == "secrets";
        let allowed = matches!(verb, "get" | "list" | "watch")
            || (verb == "create" && resource == "selfsubjectaccessreviews");
        assert!(allowed, "reader made a {verb} on {resource}: {line}");
    }
    assert!(
        seen > kinds::KINDS.len(),
        "only {seen} audit events from the reader"
    );
    assert!(listed_secrets);
}

/// The plain manifests rendered from the Helm chart (deploy/manifests, kept equal to the
/// chart by scripts/deploy-check) are accepted by a real API server: every object is
/// created with a server-side dry run (validated and admitted, nothing stored).
#[tokio::test]
async fn shipped_deploy_manifests_pass_server_side_dry_run() {
    let Some(bed) = bed().await else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/manifests");
    let namespaces: Api<DynamicObject> = Api::all_with(
        bed.admin.clone(),
        &resource_of(&json!({"apiVersion": "v1", "kind": "Namespace"})),
    );
    // Namespaced objects need their namespace to exist even in a dry run.
    if namespaces.get_opt("crowsnest").await.unwrap().is_none() {
        create(
            &bed.admin,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crowsnest"}}),
        )
        .await;
    }
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let mut kinds_seen = std::collections::BTreeSet::new();
    for file in ["crowsnest.yaml", "crowsnest-postgres.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let objects: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        assert!(objects.len() >= 7, "{file}: {} objects", objects.len());
        for object in objects.into_iter().filter(|o| !o.is_null()) {
            let resource = resource_of(&object);
            let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
                Some(ns) => Api::namespaced_with(bed.admin.clone(), ns, &resource),
                None => Api::all_with(bed.admin.clone(), &resource),
            };
            let dynamic: DynamicObject = serde_json::from_value(object.clone()).unwrap();
            match api.create(&dry_run, &dynamic).await {
                Ok(_) => {}
                // A cluster-scoped object left by an earlier run of this test bed.
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => panic!(
                    "{file}: {} {}: {e}",
                    resource.kind, object["metadata"]["name"]
                ),
            }
            kinds_seen.insert(resource.kind);
        }
    }
    for kind in [
        "Deployment",
        "StatefulSet",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolumeClaim",
    ] {
        assert!(kinds_seen.contains(kind), "no {kind} in deploy/manifests");
    }
}
