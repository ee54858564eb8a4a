//! Building the graph from a snapshot's objects and the image findings.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::facts::PodFacts;
use crate::findings::{self, ImageFindings};
use crate::graph::{EdgeKind, NodeId, NodeKind, SecurityGraph};
use crate::insights::{self, Insight, InsightKind};
use crate::k8s::{self, bool_at, list, str_at, string_map};
use crate::rbac::{Need, Rbac, SYSTEM_MASTERS, SubjectKind};
use crate::rules::{self, RuleId};

/// The cluster side of the input: a snapshot's `objects` (plural resource → objects).
#[derive(Clone, Copy, Debug)]
pub struct ClusterInput<'a> {
    /// Names the cluster node (the snapshot's `cluster_id`).
    pub cluster_id: &'a str,
    pub objects: &'a BTreeMap<String, Vec<Value>>,
    /// Manifest mode: a controller with no pods stands for the pods its template would
    /// create (a live cluster's pods are what runs).
    pub manifest_mode: bool,
}

/// Choices that shape the graph.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Namespaces whose takeover is a target of attack paths.
    pub sensitive_namespaces: Vec<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            sensitive_namespaces: vec!["kube-system".into()],
        }
    }
}

/// Key of the stand-in for "a node the pod is not yet scheduled on / any node".
pub const ANY_NODE: &str = "node:*";
pub const INTERNET: &str = "internet";
pub const CLUSTER: &str = "cluster";

/// Controllers, their plural resource, kind, and where their pod template is.
const CONTROLLERS: [(&str, &str, &[&str]); 7] = [
    ("deployments", "Deployment", &["spec", "template"]),
    ("statefulsets", "StatefulSet", &["spec", "template"]),
    ("daemonsets", "DaemonSet", &["spec", "template"]),
    ("replicasets", "ReplicaSet", &["spec", "template"]),
    (
        "replicationcontrollers",
        "ReplicationController",
        &["spec", "template"],
    ),
    ("jobs", "Job", &["spec", "template"]),
    (
        "cronjobs",
        "CronJob",
        &["spec", "jobTemplate", "spec", "template"],
    ),
];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

const ROUTE_KINDS: [(&str, &str); 5] = [
    ("httproutes", "HTTPRoute"),
    ("grpcroutes", "GRPCRoute"),
    ("tlsroutes", "TLSRoute"),
    ("tcproutes", "TCPRoute"),
    ("udproutes", "UDPRoute"),
];

struct PodEntry<'a> {
    id: NodeId,
    namespace: String,
    facts: PodFacts<'a>,
    node: NodeId,
    service_account: NodeId,
    automount: bool,
    daemonset: bool,
    containers: Vec<NodeId>,
    /// Pod status `containerStatuses[].imageID` digests by container name.
    image_ids: HashMap<String, String>,
}

struct Builder<'a> {
    g: SecurityGraph,
    objects: &'a BTreeMap<String, Vec<Value>>,
    findings: &'a ImageFindings,
    internet: NodeId,
    cluster: NodeId,
    any_node: NodeId,
    pods: Vec<PodEntry<'a>>,
    seen_attacks: HashSet<(NodeId, NodeId, RuleId)>,
    images_done: HashSet<NodeId>,
    /// Nodes with an external address: name → addresses. Empty in manifest mode.
    external_nodes: BTreeMap<String, Vec<String>>,
    real_nodes: usize,
}

/// Builds the security graph. Never fails: malformed objects are skipped with a warning
/// in [`SecurityGraph::warnings`].
pub fn build(
    input: &ClusterInput,
    findings: &ImageFindings,
    options: &BuildOptions,
) -> SecurityGraph {
    let mut g = SecurityGraph::default();
    let internet = g.upsert(NodeKind::Internet, INTERNET.into(), "Internet", None);
    let cluster = g.upsert(NodeKind::Cluster, CLUSTER.into(), input.cluster_id, None);
    let any_node = g.upsert(NodeKind::Node, ANY_NODE.into(), "any node", None);
    let mut b = Builder {
        g,
        objects: input.objects,
        findings,
        internet,
        cluster,
        any_node,
        pods: Vec::new(),
        seen_attacks: HashSet::new(),
        images_done: HashSet::new(),
        external_nodes: BTreeMap::new(),
        real_nodes: 0,
    };
    b.namespaces(&options.sensitive_namespaces);
    b.nodes();
    b.workloads_and_pods(input.manifest_mode);
    b.service_accounts_and_secrets();
    b.pod_edges();
    b.network();
    b.rbac();
    b.namespace_edges();
    b.node_edges();
    b.exploit_edges();
    b.exposure_insights();
    b.g
}

impl<'a> Builder<'a> {
    fn of(&self, plural: &str) -> &'a [Value] {
        self.objects.get(plural).map(Vec::as_slice).unwrap_or(&[])
    }

    fn attack(
        &mut self,
        from: NodeId,
        to: NodeId,
        rule: RuleId,
        likelihood: Option<f64>,
        evidence: Vec<String>,
    ) {
        if from != to && self.seen_attacks.insert((from, to, rule)) {
            self.g.attack(from, to, rule, likelihood, evidence);
        }
    }

    fn insight(&mut self, node: NodeId, kind: InsightKind, evidence: Vec<String>) {
        let node_key = self.g.node(node).key.clone();
        self.g.insights.push(Insight {
            kind,
            node,
            node_key,
            evidence,
        });
    }

    fn namespace(&mut self, name: &str) -> NodeId {
        let key = format!("namespace:{name}");
        if let Some(id) = self.g.find(&key) {
            return id;
        }
        let id = self.g.upsert(NodeKind::Namespace, key, name, None);
        self.g.link(self.cluster, id, EdgeKind::Contains, vec![]);
        id
    }

    /// A namespaced node, contained by its namespace when new.
    fn namespaced(&mut self, kind: NodeKind, prefix: &str, ns: &str, name: &str) -> NodeId {
        let key = format!("{prefix}:{ns}/{name}");
        if let Some(id) = self.g.find(&key) {
            return id;
        }
        let ns_id = self.namespace(ns);
        let id = self.g.upsert(kind, key, name, Some(ns));
        self.g.link(ns_id, id, EdgeKind::Contains, vec![]);
        id
    }

    fn namespaces(&mut self, sensitive: &[String]) {
        for object in self.of("namespaces") {
            let Some(name) = k8s::name(object) else {
                continue;
            };
            let id = self.namespace(name);
            if let Some(level) = str_at(
                object,
                &["metadata", "labels", "pod-security.kubernetes.io/enforce"],
            ) {
                self.g.set_prop(id, "podSecurityEnforce", level);
            }
        }
        for name in sensitive {
            let id = self.namespace(name);
            self.g.set_prop(id, "sensitive", true);
        }
    }

    fn nodes(&mut self) {
        for object in self.of("nodes") {
            let Some(name) = k8s::name(object) else {
                continue;
            };
            let id = self
                .g
                .upsert(NodeKind::Node, format!("node:{name}"), name, None);
            self.real_nodes += 1;
            let external: Vec<String> = list(object, &["status", "addresses"])
                .iter()
                .filter(|a| str_at(a, &["type"]) == Some("ExternalIP"))
                .filter_map(|a| str_at(a, &["address"]).map(str::to_string))
                .collect();
            if !external.is_empty() {
                self.g.set_prop(id, "externalAddresses", external.clone());
                self.external_nodes.insert(name.to_string(), external);
            }
        }
    }

    /// Why traffic from outside reaches a node port on `node` (or on any node when
    /// `None`), or `None` when it does not.
    fn node_reachable(&self, node: Option<&str>) -> Option<String> {
        if self.real_nodes == 0 {
            return Some("no nodes in the snapshot: node addresses assumed reachable".into());
        }
        match node {
            Some(n) => self
                .external_nodes
                .get(n)
                .map(|a| format!("node {n} has external address {}", a.join(", "))),
            None => self
                .external_nodes
                .iter()
                .next()
                .map(|(n, a)| format!("node {n} has external address {}", a.join(", "))),
        }
    }

    fn workloads_and_pods(&mut self, manifest_mode: bool) {
        // Owner of each controller (a ReplicaSet's Deployment, a Job's CronJob).
        let mut owner_of: HashMap<(String, String, String), (String, String)> = HashMap::new();
        let mut workload_ids: HashMap<(String, String, String), NodeId> = HashMap::new();
        for (plural, kind, _) in CONTROLLERS {
            for object in self.of(plural) {
                let Some(name) = k8s::name(object) else {
                    continue;
                };
                let ns = k8s::namespace(object).to_string();
                let id = self.namespaced(
                    NodeKind::Workload,
                    "workload",
                    &ns,
                    &format!("{kind}/{name}"),
                );
                self.g.nodes[id].name = name.to_string();
                self.g.set_prop(id, "kind", kind);
                workload_ids.insert((ns.clone(), kind.to_string(), name.to_string()), id);
                if let Some(owner) = controller_owner(object) {
                    owner_of.insert((ns, kind.to_string(), name.to_string()), owner);
                }
            }
        }
        // Controller → controller edges, and the top of each chain.
        let top = |mut key: (String, String, String)| {
            for _ in 0..4 {
                match owner_of.get(&key) {
                    Some((k, n))
                        if workload_ids.contains_key(&(key.0.clone(), k.clone(), n.clone())) =>
                    {
                        key = (key.0.clone(), k.clone(), n.clone());
                    }
                    _ => break,
                }
            }
            key
        };
        for (child, (kind, name)) in &owner_of {
            let parent = (child.0.clone(), kind.clone(), name.clone());
            if let (Some(&p), Some(&c)) = (workload_ids.get(&parent), workload_ids.get(child)) {
                self.g.link(p, c, EdgeKind::Maintains, vec![]);
            }
        }

        let mut has_pods: HashSet<(String, String, String)> = HashSet::new();
        for pod in self.of("pods") {
            let Some(name) = k8s::name(pod) else {
                self.g
                    .warnings
                    .push("pods: an object without metadata.name was skipped".into());
                continue;
            };
            let ns = k8s::namespace(pod).to_string();
            let owner = controller_owner(pod).map(|(k, n)| top((ns.clone(), k, n)));
            let workload = owner.as_ref().and_then(|o| workload_ids.get(o).copied());
            if let Some(o) = &owner {
                // Every controller up the chain counts as having pods.
                let mut key = o.clone();
                has_pods.insert(key.clone());
                for _ in 0..4 {
                    let Some((k, n)) = owner_of.get(&key) else {
                        break;
                    };
                    key = (key.0.clone(), k.clone(), n.clone());
                    has_pods.insert(key.clone());
                }
            }
            if let Some(direct) = controller_owner(pod) {
                let mut key = (ns.clone(), direct.0, direct.1);
                has_pods.insert(key.clone());
                while let Some((k, n)) = owner_of.get(&key) {
                    key = (key.0.clone(), k.clone(), n.clone());
                    if !has_pods.insert(key.clone()) {
                        break;
                    }
                }
            }
            let daemonset = owner.as_ref().is_some_and(|o| o.1 == "DaemonSet");
            let spec = pod.get("spec").unwrap_or(&Value::Null);
            let labels = string_map(pod, &["metadata", "labels"]);
            let image_ids = list(pod, &["status", "containerStatuses"])
                .iter()
                .chain(list(pod, &["status", "initContainerStatuses"]))
                .filter_map(|s| {
                    let digest = findings::digest_in(str_at(s, &["imageID"])?)?;
                    Some((str_at(s, &["name"])?.to_string(), digest.to_string()))
                })
                .collect();
            let id = self.namespaced(NodeKind::Pod, "pod", &ns, name);
            self.add_pod(id, ns, spec, labels, workload, daemonset, image_ids);
        }

        if !manifest_mode {
            return;
        }
        // Manifest mode: a controller with no pods (and no owner in the snapshot that
        // already stands for them) stands for the pods its template would create.
        for (plural, kind, template_path) in CONTROLLERS {
            for object in self.of(plural) {
                let Some(name) = k8s::name(object) else {
                    continue;
                };
                let ns = k8s::namespace(object).to_string();
                let key = (ns.clone(), kind.to_string(), name.to_string());
                if has_pods.contains(&key) || top(key.clone()) != key {
                    continue;
                }
                let Some(template) = k8s::get(object, template_path) else {
                    continue;
                };
                let spec = template.get("spec").unwrap_or(&Value::Null);
                let labels = string_map(template, &["metadata", "labels"]);
                let id = self.namespaced(
                    NodeKind::Pod,
                    "pod",
                    &ns,
                    &format!("{name}-template-{}", kind.to_ascii_lowercase()),
                );
                self.g.nodes[id].name = format!("{name} ({kind} template)");
                self.g.set_prop(id, "template", true);
                let workload = workload_ids.get(&key).copied();
                self.add_pod(
                    id,
                    ns,
                    spec,
                    labels,
                    workload,
                    kind == "DaemonSet",
                    HashMap::new(),
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_pod(
        &mut self,
        id: NodeId,
        ns: String,
        spec: &'a Value,
        labels: BTreeMap<String, String>,
        workload: Option<NodeId>,
        daemonset: bool,
        image_ids: HashMap<String, String>,
    ) {
        let facts = PodFacts::read(spec, labels);
        self.g.nodes[id].owner = workload;
        if let Some(w) = workload {
            self.g.link(w, id, EdgeKind::Maintains, vec![]);
        }
        let node = match &facts.node_name {
            Some(n) => self.g.upsert(NodeKind::Node, format!("node:{n}"), n, None),
            None => self.any_node,
        };
        self.g.link(id, node, EdgeKind::RunsOn, vec![]);
        for (flag, prop) in [
            (facts.host_network, "hostNetwork"),
            (facts.host_pid, "hostPID"),
            (facts.host_ipc, "hostIPC"),
        ] {
            if flag {
                self.g.set_prop(id, prop, true);
            }
        }
        let sa = self.namespaced(
            NodeKind::ServiceAccount,
            "sa",
            &ns,
            &facts.service_account.clone(),
        );
        let mut containers = Vec::new();
        let pod_name = self.g.node(id).name.clone();
        let pod_key_name = self.g.node(id).key.trim_start_matches("pod:").to_string();
        for c in &facts.containers {
            let cid = self.g.upsert(
                NodeKind::Container,
                format!("container:{pod_key_name}/{}", c.name),
                &format!("{pod_name}/{}", c.name),
                Some(&ns),
            );
            self.g.nodes[cid].owner = Some(id);
            self.g.set_prop(cid, "image", c.image.as_str());
            self.g.link(id, cid, EdgeKind::Contains, vec![]);
            containers.push(cid);
        }
        self.pods.push(PodEntry {
            id,
            namespace: ns,
            facts,
            node,
            service_account: sa,
            automount: true,
            daemonset,
            containers,
            image_ids,
        });
    }

    fn service_accounts_and_secrets(&mut self) {
        let mut sa_automount: HashMap<NodeId, bool> = HashMap::new();
        for object in self.of("serviceaccounts") {
            let Some(name) = k8s::name(object) else {
                continue;
            };
            let id = self.namespaced(NodeKind::ServiceAccount, "sa", k8s::namespace(object), name);
            if let Some(a) = bool_at(object, &["automountServiceAccountToken"]) {
                sa_automount.insert(id, a);
                self.g.set_prop(id, "automountServiceAccountToken", a);
            }
        }
        for object in self.of("secrets") {
            let Some(name) = k8s::name(object) else {
                continue;
            };
            let ns = k8s::namespace(object);
            let id = self.namespaced(NodeKind::Secret, "secret", ns, name);
            let kind = str_at(object, &["type"]).unwrap_or("Opaque");
            self.g.set_prop(id, "type", kind);
            if kind == "kubernetes.io/service-account-token"
                && let Some(sa) = str_at(
                    object,
                    &[
                        "metadata",
                        "annotations",
                        "kubernetes.io/service-account.name",
                    ],
                )
            {
                let sa_id = self.namespaced(NodeKind::ServiceAccount, "sa", ns, sa);
                self.attack(
                    id,
                    sa_id,
                    RuleId::TokenFromSecret,
                    None,
                    vec![format!(
                        "type {kind}, annotation kubernetes.io/service-account.name: {sa}"
                    )],
                );
            }
        }
        for pod in &mut self.pods {
            pod.automount = pod
                .facts
                .automount
                .or_else(|| sa_automount.get(&pod.service_account).copied())
                .unwrap_or(true);
        }
    }

    /// Per pod and container: identity, images, volumes, host access rules, insights.
    fn pod_edges(&mut self) {
        let pods = std::mem::take(&mut self.pods);
        for pod in &pods {
            let automount_evidence = match pod.facts.automount {
                Some(true) => "automountServiceAccountToken: true on the pod",
                Some(false) => "automountServiceAccountToken: false on the pod",
                None if pod.automount => "token automounted (default)",
                None => "automountServiceAccountToken: false on the service account",
            };
            self.g.link(
                pod.id,
                pod.service_account,
                EdgeKind::AuthenticatesAs,
                vec![automount_evidence.into()],
            );
            if pod.automount {
                self.insight(
                    pod.id,
                    InsightKind::ServiceAccountTokenAutomounted,
                    vec![automount_evidence.into()],
                );
            }
            for (flag, kind, field) in [
                (
                    pod.facts.host_network,
                    InsightKind::HostNetwork,
                    "hostNetwork: true",
                ),
                (pod.facts.host_pid, InsightKind::HostPid, "hostPID: true"),
                (pod.facts.host_ipc, InsightKind::HostIpc, "hostIPC: true"),
            ] {
                if flag {
                    self.insight(pod.id, kind, vec![field.into()]);
                }
            }
            let (baseline, restricted) = insights::pod_security(&pod.facts);
            if !baseline.is_empty() {
                self.insight(pod.id, InsightKind::PodSecurityBaselineViolation, baseline);
            }
            if !restricted.is_empty() {
                self.insight(
                    pod.id,
                    InsightKind::PodSecurityRestrictedViolation,
                    restricted,
                );
            }
            let pod_key_name = self
                .g
                .node(pod.id)
                .key
                .trim_start_matches("pod:")
                .to_string();
            for volume in list(pod.facts.spec, &["volumes"]) {
                let Some(vname) = str_at(volume, &["name"]) else {
                    continue;
                };
                let vid = self.g.upsert(
                    NodeKind::Volume,
                    format!("volume:{pod_key_name}/{vname}"),
                    &format!("{}/{vname}", self.g.node(pod.id).name),
                    Some(&pod.namespace),
                );
                self.g.link(pod.id, vid, EdgeKind::Contains, vec![]);
                if let Some(path) = str_at(volume, &["hostPath", "path"]) {
                    self.g.set_prop(vid, "hostPath", path);
                }
                if let Some(secret) = str_at(volume, &["secret", "secretName"]) {
                    let sid = self.namespaced(NodeKind::Secret, "secret", &pod.namespace, secret);
                    self.g.link(vid, sid, EdgeKind::Mounts, vec![]);
                }
            }
            for (c, &cid) in pod.facts.containers.iter().zip(&pod.containers) {
                for (vname, mount_path, read_only) in &c.mounts {
                    if let Some(vid) = self.g.find(&format!("volume:{pod_key_name}/{vname}")) {
                        let ro = if *read_only { " (read-only)" } else { "" };
                        self.g.link(
                            cid,
                            vid,
                            EdgeKind::Mounts,
                            vec![format!("at {mount_path}{ro}")],
                        );
                    }
                }
                for (kind, evidence) in insights::container_insights(c) {
                    self.insight(cid, kind, evidence);
                }
                self.image(
                    cid,
                    c.image.as_str(),
                    pod.image_ids.get(&c.name).map(String::as_str),
                );
                if pod.automount {
                    self.attack(
                        cid,
                        pod.service_account,
                        RuleId::TokenMounted,
                        None,
                        vec![automount_evidence.into()],
                    );
                }
                for secret in &c.secrets {
                    let sid = self.namespaced(NodeKind::Secret, "secret", &pod.namespace, secret);
                    self.attack(
                        cid,
                        sid,
                        RuleId::MountedSecret,
                        None,
                        vec![format!("secret {secret} in a volume or the environment")],
                    );
                }
                self.escape_edges(pod, c, cid);
            }
        }
        self.pods = pods;
    }

    fn escape_edges(&mut self, pod: &PodEntry, c: &crate::facts::ContainerFacts, cid: NodeId) {
        let node = pod.node;
        if c.privileged {
            self.attack(
                cid,
                node,
                RuleId::EscapePrivileged,
                None,
                vec!["privileged: true".into()],
            );
            if pod.facts.host_pid {
                self.attack(
                    cid,
                    node,
                    RuleId::EscapeNsenter,
                    None,
                    vec!["privileged: true".into(), "hostPID: true".into()],
                );
            }
        }
        if c.has_cap("SYS_MODULE") {
            self.attack(
                cid,
                node,
                RuleId::EscapeModuleLoad,
                None,
                vec!["capabilities.add: SYS_MODULE".into()],
            );
        }
        if pod.facts.host_pid && c.has_cap("SYS_PTRACE") && c.has_cap("SYS_ADMIN") {
            self.attack(
                cid,
                node,
                RuleId::EscapeSysPtrace,
                None,
                vec![
                    "hostPID: true".into(),
                    "capabilities.add: SYS_PTRACE, SYS_ADMIN".into(),
                ],
            );
        }
        for mount in &c.host_mounts {
            if !mount.read_only
                && k8s::is_same_or_parent(&mount.path, rules::PROC_SYS_KERNEL)
                && let Some(root) = c.root_reason()
            {
                self.attack(
                    cid,
                    node,
                    RuleId::EscapeCorePattern,
                    None,
                    vec![mount.describe(), root],
                );
            }
            if let Some((rule, root)) = rules::sensitive_host_path(mount) {
                self.attack(
                    cid,
                    node,
                    rule,
                    None,
                    vec![format!("{} (touches {root})", mount.describe())],
                );
            }
            if let Some(socket) = rules::runtime_socket(&mount.path) {
                self.attack(
                    cid,
                    node,
                    RuleId::RuntimeSocket,
                    None,
                    vec![format!("{} (reaches {socket})", mount.describe())],
                );
            }
        }
    }

    /// The image node of a container, joined to its findings.
    fn image(&mut self, container: NodeId, reference: &str, image_id: Option<&str>) {
        if reference.is_empty() {
            return;
        }
        let digest = findings::digest_in(reference).or(image_id);
        let key = match digest {
            Some(d) => format!("image:{d}"),
            None => format!("image:{reference}"),
        };
        let id = self.g.upsert(NodeKind::Image, key, reference, None);
        self.g.link(container, id, EdgeKind::UsesImage, vec![]);
        if !self.images_done.insert(id) {
            return;
        }
        if let Some(d) = digest {
            self.g.set_prop(id, "digest", d);
        }
        let Some(found) = self.findings.lookup(digest, reference) else {
            return;
        };
        let mut severe = Vec::new();
        let mut rce = Vec::new();
        let mut exploitable = Vec::new();
        for finding in found {
            let vid = self.g.upsert(
                NodeKind::Vulnerability,
                format!("vuln:{}", finding.id),
                &finding.id,
                None,
            );
            let v = &mut self.g.nodes[vid].props;
            v.insert("severity".into(), finding.severity.as_str().into());
            v.insert("kev".into(), finding.exploitability.in_kev.into());
            v.insert(
                "exploitPublished".into(),
                finding.exploitability.exploit_published.into(),
            );
            v.insert(
                "networkVector".into(),
                findings::network_vector(finding).into(),
            );
            self.g.link(
                id,
                vid,
                EdgeKind::HasVulnerability,
                vec![format!(
                    "{} {}",
                    finding.package.name, finding.installed_version
                )],
            );
            let text = findings::describe(finding);
            if finding.severity >= crowsnest_model::Severity::High {
                severe.push(text.clone());
            }
            if findings::rce_class(finding) {
                rce.push(text.clone());
            }
            if findings::exploitable(finding) {
                exploitable.push(text);
            }
        }
        for (kind, mut evidence) in [
            (InsightKind::CriticalOrHighVulnerabilities, severe),
            (InsightKind::VulnerableToRemoteCodeExecution, rce),
            (InsightKind::ExploitableVulnerabilities, exploitable),
        ] {
            if !evidence.is_empty() {
                evidence.sort();
                evidence.dedup();
                self.insight(id, kind, evidence);
            }
        }
    }

    fn network(&mut self) {
        // Pods whose ingress every selecting NetworkPolicy denies (Ingress policy type, no
        // ingress rules): traffic from outside cannot reach them.
        let mut isolated: HashMap<NodeId, String> = HashMap::new();
        let mut selected: HashSet<NodeId> = HashSet::new();
        let mut allows_ingress: HashSet<NodeId> = HashSet::new();
        for policy in self.of("networkpolicies") {
            let Some(name) = k8s::name(policy) else {
                continue;
            };
            let ns = k8s::namespace(policy).to_string();
            let pid = self.namespaced(NodeKind::NetworkPolicy, "netpol", &ns, name);
            let selector = k8s::get(policy, &["spec", "podSelector"]).unwrap_or(&Value::Null);
            let types = k8s::strings(policy, &["spec", "policyTypes"]);
            let ingress_type = types.is_empty() || types.contains(&"Ingress");
            let ingress_rules = !list(policy, &["spec", "ingress"]).is_empty();
            let targets: Vec<NodeId> = self
                .pods
                .iter()
                .filter(|p| p.namespace == ns && k8s::selector_matches(selector, &p.facts.labels))
                .map(|p| p.id)
                .collect();
            for pod in targets {
                self.g.link(pid, pod, EdgeKind::Selects, vec![]);
                selected.insert(pod);
                if ingress_type {
                    if ingress_rules {
                        allows_ingress.insert(pod);
                    } else {
                        isolated.entry(pod).or_insert_with(|| {
                            format!("ingress denied by NetworkPolicy {ns}/{name}")
                        });
                    }
                }
            }
        }
        isolated.retain(|pod, _| !allows_ingress.contains(pod));
        let unselected: Vec<NodeId> = self
            .pods
            .iter()
            .map(|p| p.id)
            .filter(|p| !selected.contains(p))
            .collect();
        for pod in unselected {
            self.insight(
                pod,
                InsightKind::NotSelectedByNetworkPolicy,
                vec!["no NetworkPolicy selects this pod: all ingress and egress allowed".into()],
            );
        }

        // Services.
        let mut services: HashMap<(String, String), NodeId> = HashMap::new();
        for service in self.of("services") {
            let Some(name) = k8s::name(service) else {
                continue;
            };
            let ns = k8s::namespace(service).to_string();
            let sid = self.namespaced(NodeKind::Service, "service", &ns, name);
            services.insert((ns.clone(), name.to_string()), sid);
            let kind = str_at(service, &["spec", "type"]).unwrap_or("ClusterIP");
            self.g.set_prop(sid, "type", kind);
            let ports: Vec<String> = list(service, &["spec", "ports"])
                .iter()
                .map(|p| {
                    let port = k8s::i64_at(p, &["port"]).unwrap_or(0);
                    match k8s::i64_at(p, &["nodePort"]) {
                        Some(np) if kind != "ClusterIP" => format!(":{port} (nodePort {np})"),
                        _ => format!(":{port}"),
                    }
                })
                .collect();
            if let Some(evidence) = self.service_exposure(service, kind, &ports) {
                self.g
                    .link(self.internet, sid, EdgeKind::RoutesTrafficTo, evidence);
            }
            let selector = string_map(service, &["spec", "selector"]);
            let targets: Vec<NodeId> = self
                .pods
                .iter()
                .filter(|p| p.namespace == ns && k8s::map_selects(&selector, &p.facts.labels))
                .map(|p| p.id)
                .collect();
            for pod in targets {
                match isolated.get(&pod) {
                    Some(reason) => {
                        let reason = reason.clone();
                        self.g
                            .link(sid, pod, EdgeKind::RoutesTrafficTo, vec![reason]);
                        let last = self.g.edges.len() - 1;
                        self.g.edges[last].traversable = false;
                    }
                    None => self
                        .g
                        .link(sid, pod, EdgeKind::RoutesTrafficTo, vec![ports.join(" ")]),
                }
            }
        }

        // Ingresses: internet-facing by nature; they route to services of their namespace.
        for ingress in self.of("ingresses") {
            let Some(name) = k8s::name(ingress) else {
                continue;
            };
            let ns = k8s::namespace(ingress).to_string();
            let iid = self.namespaced(NodeKind::Ingress, "ingress", &ns, name);
            let hosts: Vec<&str> = list(ingress, &["spec", "rules"])
                .iter()
                .filter_map(|r| str_at(r, &["host"]))
                .collect();
            let tls = !list(ingress, &["spec", "tls"]).is_empty();
            let mut evidence = vec![if tls {
                ":80 :443 (TLS)".to_string()
            } else {
                ":80".to_string()
            }];
            if !hosts.is_empty() {
                evidence.push(format!("hosts {}", hosts.join(", ")));
            }
            self.g
                .link(self.internet, iid, EdgeKind::RoutesTrafficTo, evidence);
            let mut backends: BTreeSet<&str> = BTreeSet::new();
            backends.extend(str_at(
                ingress,
                &["spec", "defaultBackend", "service", "name"],
            ));
            for rule in list(ingress, &["spec", "rules"]) {
                for path in list(rule, &["http", "paths"]) {
                    backends.extend(str_at(path, &["backend", "service", "name"]));
                }
            }
            for backend in backends {
                if let Some(&sid) = services.get(&(ns.clone(), backend.to_string())) {
                    self.g.link(iid, sid, EdgeKind::RoutesTrafficTo, vec![]);
                }
            }
        }

        // Gateways and their routes.
        let mut gateways: HashMap<(String, String), NodeId> = HashMap::new();
        for gateway in self.of("gateways") {
            let Some(name) = k8s::name(gateway) else {
                continue;
            };
            let ns = k8s::namespace(gateway).to_string();
            let gid = self.namespaced(NodeKind::Gateway, "gateway", &ns, name);
            gateways.insert((ns, name.to_string()), gid);
            let listeners: Vec<String> = list(gateway, &["spec", "listeners"])
                .iter()
                .map(|l| {
                    format!(
                        "{} :{}",
                        str_at(l, &["protocol"]).unwrap_or("?"),
                        k8s::i64_at(l, &["port"]).unwrap_or(0)
                    )
                })
                .collect();
            self.g
                .link(self.internet, gid, EdgeKind::RoutesTrafficTo, listeners);
        }
        for (plural, kind) in ROUTE_KINDS {
            for route in self.of(plural) {
                let Some(name) = k8s::name(route) else {
                    continue;
                };
                let ns = k8s::namespace(route).to_string();
                let parents: Vec<NodeId> = list(route, &["spec", "parentRefs"])
                    .iter()
                    .filter(|p| str_at(p, &["kind"]).is_none_or(|k| k == "Gateway"))
                    .filter_map(|p| {
                        let pns = str_at(p, &["namespace"]).unwrap_or(&ns).to_string();
                        gateways
                            .get(&(pns, str_at(p, &["name"])?.to_string()))
                            .copied()
                    })
                    .collect();
                let backends: Vec<NodeId> = list(route, &["spec", "rules"])
                    .iter()
                    .flat_map(|r| list(r, &["backendRefs"]))
                    .filter(|b| str_at(b, &["kind"]).is_none_or(|k| k == "Service"))
                    .filter_map(|b| {
                        let bns = str_at(b, &["namespace"]).unwrap_or(&ns).to_string();
                        services
                            .get(&(bns, str_at(b, &["name"])?.to_string()))
                            .copied()
                    })
                    .collect();
                for &gid in &parents {
                    for &sid in &backends {
                        self.g.link(
                            gid,
                            sid,
                            EdgeKind::RoutesTrafficTo,
                            vec![format!("{kind} {ns}/{name}")],
                        );
                    }
                }
            }
        }

        // Host network and host ports on a node with an external address.
        let exposures: Vec<(NodeId, Vec<String>)> = self
            .pods
            .iter()
            .filter_map(|p| {
                let ports: Vec<String> = p
                    .facts
                    .containers
                    .iter()
                    .flat_map(|c| c.host_ports.iter().map(|hp| format!("hostPort {hp}")))
                    .collect();
                if !p.facts.host_network && ports.is_empty() {
                    return None;
                }
                let node = (p.node != self.any_node).then(|| self.g.node(p.node).name.as_str());
                let reach = self.node_reachable(node)?;
                let mut evidence = ports;
                if p.facts.host_network {
                    evidence.insert(0, "hostNetwork: true".into());
                }
                evidence.push(reach);
                Some((p.id, evidence))
            })
            .collect();
        for (pod, evidence) in exposures {
            self.g.link(self.internet, pod, EdgeKind::Exposes, evidence);
        }
    }

    /// Evidence that a service is reachable from outside, or `None`.
    fn service_exposure(
        &self,
        service: &Value,
        kind: &str,
        ports: &[String],
    ) -> Option<Vec<String>> {
        let external_ips = k8s::strings(service, &["spec", "externalIPs"]);
        let mut evidence = vec![format!("{kind} {}", ports.join(" "))];
        match kind {
            "LoadBalancer" => {
                let annotations = string_map(service, &["metadata", "annotations"]);
                if let Some((k, v)) = annotations
                    .iter()
                    .find(|(k, v)| internal_lb_annotation(k, v))
                {
                    if external_ips.is_empty() {
                        return None;
                    }
                    evidence.push(format!("internal load balancer ({k}: {v})"));
                }
                let ranges = k8s::strings(service, &["spec", "loadBalancerSourceRanges"]);
                if !ranges.is_empty() && !ranges.iter().any(|r| matches!(*r, "0.0.0.0/0" | "::/0"))
                {
                    return None;
                }
            }
            "NodePort" => evidence.push(self.node_reachable(None)?),
            _ if external_ips.is_empty() => return None,
            _ => {}
        }
        if !external_ips.is_empty() {
            evidence.push(format!("externalIPs {}", external_ips.join(", ")));
        }
        Some(evidence)
    }

    fn rbac(&mut self) {
        let rbac = Rbac::from_objects(self.objects);
        self.g.warnings.extend(rbac.warnings.iter().cloned());
        for binding in &rbac.bindings {
            let subject = match binding.subject_kind {
                SubjectKind::ServiceAccount => self.namespaced(
                    NodeKind::ServiceAccount,
                    "sa",
                    binding.subject_namespace.as_deref().unwrap_or("default"),
                    &binding.subject_name,
                ),
                SubjectKind::User => self.g.upsert(
                    NodeKind::User,
                    binding.subject.clone(),
                    &binding.subject_name,
                    None,
                ),
                SubjectKind::Group => self.g.upsert(
                    NodeKind::Group,
                    binding.subject.clone(),
                    &binding.subject_name,
                    None,
                ),
            };
            let role = match binding.role.strip_prefix("role:") {
                Some(rest) => {
                    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
                    self.namespaced(NodeKind::Role, "role", ns, name)
                }
                None => {
                    let name = binding.role.trim_start_matches("clusterrole:");
                    self.g
                        .upsert(NodeKind::ClusterRole, binding.role.clone(), name, None)
                }
            };
            self.g
                .link(subject, role, EdgeKind::BoundTo, vec![binding.via.clone()]);
        }
        let identities: Vec<NodeId> = (0..self.g.nodes.len())
            .filter(|&id| {
                matches!(
                    self.g.node(id).kind,
                    NodeKind::ServiceAccount | NodeKind::User | NodeKind::Group
                )
            })
            .collect();
        let mut pods_by_ns: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in self.pods.iter().enumerate() {
            pods_by_ns.entry(p.namespace.clone()).or_default().push(i);
        }
        // system:masters is cluster-admin; it exists in every cluster, and is a target of
        // group impersonation.
        let masters = self.g.upsert(
            NodeKind::Group,
            format!("group:{SYSTEM_MASTERS}"),
            SYSTEM_MASTERS,
            None,
        );
        self.attack(
            masters,
            self.cluster,
            RuleId::ClusterAdmin,
            None,
            vec![format!("member of {SYSTEM_MASTERS}")],
        );
        // Node lists per kind, read once: scanning every node per identity is quadratic.
        let mut by_kind: HashMap<NodeKind, Vec<NodeId>> = HashMap::new();
        for (id, node) in self.g.nodes.iter().enumerate() {
            by_kind.entry(node.kind).or_default().push(id);
        }
        for identity in identities {
            self.identity_edges(&rbac, identity, &pods_by_ns, &by_kind);
        }
    }

    fn all_of(&self, kind: NodeKind) -> Vec<NodeId> {
        (0..self.g.nodes.len())
            .filter(|&id| self.g.node(id).kind == kind)
            .collect()
    }

    fn identity_edges(
        &mut self,
        rbac: &Rbac,
        identity: NodeId,
        pods_by_ns: &HashMap<String, Vec<usize>>,
        by_kind: &HashMap<NodeKind, Vec<NodeId>>,
    ) {
        let all_of = |kind: NodeKind| by_kind.get(&kind).cloned().unwrap_or_default();
        let key = self.g.node(identity).key.clone();
        if let Some(evidence) = rbac.cluster_admin(&key) {
            self.insight(
                identity,
                InsightKind::ClusterAdminEquivalent,
                vec![evidence.clone()],
            );
            self.attack(
                identity,
                self.cluster,
                RuleId::ClusterAdmin,
                None,
                vec![evidence],
            );
        }
        // Code execution in existing pods.
        for (rule, verbs, resource) in [
            (RuleId::PodExec, &["create", "get"][..], "pods/exec"),
            (RuleId::PodPatch, &["patch", "update"][..], "pods"),
        ] {
            for allowed in rbac.allowed(&key, verbs, "", resource) {
                let evidence = allowed.describe(&format!("{} {resource}", verbs.join("/")));
                let scope: Vec<usize> = match &allowed.namespace {
                    Some(ns) => pods_by_ns.get(ns).cloned().unwrap_or_default(),
                    None => (0..self.pods.len()).collect(),
                };
                for i in scope {
                    let pod_name = self.g.node(self.pods[i].id).name.clone();
                    if !allowed.covers(Some(&self.pods[i].namespace), &pod_name) {
                        continue;
                    }
                    for c in self.pods[i].containers.clone() {
                        self.attack(identity, c, rule, None, vec![evidence.clone()]);
                    }
                }
            }
        }
        // Pod creation, directly or through controllers.
        let mut creators: Vec<(RuleId, crate::rbac::Allowed, String)> = rbac
            .allowed(&key, &["create"], "", "pods")
            .into_iter()
            .map(|a| (RuleId::PodCreate, a.clone(), a.describe("create pods")))
            .collect();
        for (group, resource) in [
            ("apps", "deployments"),
            ("apps", "daemonsets"),
            ("apps", "statefulsets"),
            ("apps", "replicasets"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
            ("", "replicationcontrollers"),
        ] {
            for a in rbac.allowed(&key, &["create", "patch", "update"], group, resource) {
                let text = a.describe(&format!("create/patch/update {resource}"));
                creators.push((RuleId::ControllerWrite, a, text));
            }
        }
        let namespaces = all_of(NodeKind::Namespace);
        for (rule, allowed, evidence) in creators {
            for &ns in &namespaces {
                let name = self.g.node(ns).name.clone();
                if allowed.namespace.as_ref().is_none_or(|n| *n == name) {
                    self.attack(identity, ns, rule, None, vec![evidence.clone()]);
                }
            }
        }
        // Secrets through the API.
        let secret_grants = rbac.allowed(&key, &["get", "list", "watch"], "", "secrets");
        if !secret_grants.is_empty() {
            self.insight(
                identity,
                InsightKind::CanReadSecrets,
                secret_grants
                    .iter()
                    .map(|a| a.describe("get/list/watch secrets"))
                    .collect(),
            );
        }
        for secret in all_of(NodeKind::Secret) {
            let node = self.g.node(secret);
            if let Some(a) = secret_grants
                .iter()
                .find(|a| a.covers(node.namespace.as_deref(), &node.name))
            {
                let evidence = a.describe("get/list/watch secrets");
                self.attack(identity, secret, RuleId::SecretsRead, None, vec![evidence]);
            }
        }
        // Role binding and escalation.
        let cluster_checks: [(RuleId, &[Need]); 2] = [
            (
                RuleId::RoleBind,
                &[
                    (&["create"], RBAC_GROUP, "clusterrolebindings"),
                    (&["bind"], RBAC_GROUP, "clusterroles"),
                ],
            ),
            (
                RuleId::RoleEscalate,
                &[
                    (&["escalate"], RBAC_GROUP, "clusterroles"),
                    (&["update", "patch"], RBAC_GROUP, "clusterroles"),
                ],
            ),
        ];
        for (rule, needs) in cluster_checks {
            if let Some(evidence) = rbac.allowed_all(&key, needs, None) {
                self.attack(identity, self.cluster, rule, None, evidence);
            }
        }
        for &ns in &namespaces {
            let name = self.g.node(ns).name.clone();
            let checks: [(RuleId, Vec<&[Need]>); 2] = [
                (
                    RuleId::RoleBind,
                    vec![
                        &[
                            (&["create"], RBAC_GROUP, "rolebindings"),
                            (&["bind"], RBAC_GROUP, "roles"),
                        ],
                        &[
                            (&["create"], RBAC_GROUP, "rolebindings"),
                            (&["bind"], RBAC_GROUP, "clusterroles"),
                        ],
                    ],
                ),
                (
                    RuleId::RoleEscalate,
                    vec![&[
                        (&["escalate"], RBAC_GROUP, "roles"),
                        (&["update", "patch"], RBAC_GROUP, "roles"),
                    ]],
                ),
            ];
            for (rule, alternatives) in checks {
                if let Some(evidence) = alternatives
                    .iter()
                    .find_map(|needs| rbac.allowed_all(&key, needs, Some(&name)))
                {
                    self.attack(identity, ns, rule, None, evidence);
                }
            }
        }
        // Impersonation and token minting.
        for (resource, kind) in [
            ("users", NodeKind::User),
            ("groups", NodeKind::Group),
            ("serviceaccounts", NodeKind::ServiceAccount),
        ] {
            let grants = rbac.allowed(&key, &["impersonate"], "", resource);
            if grants.is_empty() {
                continue;
            }
            for target in all_of(kind) {
                let node = self.g.node(target);
                if let Some(a) = grants
                    .iter()
                    .find(|a| a.covers(node.namespace.as_deref(), &node.name))
                {
                    let evidence = a.describe(&format!("impersonate {resource}"));
                    self.attack(identity, target, RuleId::Impersonate, None, vec![evidence]);
                }
            }
        }
        let token_grants = rbac.allowed(&key, &["create"], "", "serviceaccounts/token");
        for sa in all_of(NodeKind::ServiceAccount) {
            let node = self.g.node(sa);
            if let Some(a) = token_grants
                .iter()
                .find(|a| a.covers(node.namespace.as_deref(), &node.name))
            {
                let evidence = a.describe("create serviceaccounts/token");
                self.attack(identity, sa, RuleId::TokenCreate, None, vec![evidence]);
            }
        }
        if let Some(a) = rbac
            .allowed(&key, &["get", "create"], "", "nodes/proxy")
            .into_iter()
            .find(|a| a.namespace.is_none())
        {
            self.attack(
                identity,
                self.any_node,
                RuleId::NodesProxy,
                None,
                vec![a.describe("get/create nodes/proxy")],
            );
        }
    }

    /// What whoever can create pods in a namespace gets.
    fn namespace_edges(&mut self) {
        for ns in self.all_of(NodeKind::Namespace) {
            let name = self.g.node(ns).name.clone();
            let enforce = self
                .g
                .node(ns)
                .props
                .get("podSecurityEnforce")
                .and_then(Value::as_str)
                .map(str::to_string);
            match enforce.as_deref() {
                Some("baseline" | "restricted") => {}
                other => {
                    let evidence = match other {
                        Some(level) => format!("pod-security.kubernetes.io/enforce: {level}"),
                        None => "no pod-security.kubernetes.io/enforce label".into(),
                    };
                    self.attack(
                        ns,
                        self.any_node,
                        RuleId::NamespacePrivilegedPod,
                        None,
                        vec![evidence],
                    );
                }
            }
            for id in 0..self.g.nodes.len() {
                let node = self.g.node(id);
                if node.namespace.as_deref() != Some(name.as_str()) {
                    continue;
                }
                match node.kind {
                    NodeKind::ServiceAccount => {
                        self.attack(
                            ns,
                            id,
                            RuleId::NamespaceAssumeServiceAccount,
                            None,
                            vec![format!("serviceAccountName: {}", self.g.node(id).name)],
                        );
                    }
                    NodeKind::Secret => {
                        self.attack(
                            ns,
                            id,
                            RuleId::NamespaceMountSecret,
                            None,
                            vec![format!("secret volume {}", self.g.node(id).name)],
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    /// Token theft from nodes and through the kubelet's pod directory, and the choice of
    /// node.
    fn node_edges(&mut self) {
        let mut tokens_on: HashMap<NodeId, Vec<(NodeId, String)>> = HashMap::new();
        for pod in self.pods.iter().filter(|p| p.automount) {
            let label = self.g.node(pod.id).label();
            tokens_on
                .entry(pod.node)
                .or_default()
                .push((pod.service_account, label.clone()));
            if pod.daemonset && pod.node != self.any_node {
                tokens_on
                    .entry(self.any_node)
                    .or_default()
                    .push((pod.service_account, label));
            }
        }
        // A non-DaemonSet pod with no node is not on "any node": keep only DaemonSets there.
        if let Some(list) = tokens_on.get_mut(&self.any_node) {
            let daemon_pods: HashSet<String> = self
                .pods
                .iter()
                .filter(|p| p.daemonset)
                .map(|p| self.g.node(p.id).label())
                .collect();
            list.retain(|(_, pod)| daemon_pods.contains(pod));
        }
        for (&node, tokens) in &tokens_on {
            for (sa, pod) in tokens {
                self.attack(
                    node,
                    *sa,
                    RuleId::TokenStealFromNode,
                    None,
                    vec![format!("token of {pod}")],
                );
            }
        }
        let pods = std::mem::take(&mut self.pods);
        for pod in &pods {
            for (c, &cid) in pod.facts.containers.iter().zip(&pod.containers) {
                for mount in c
                    .host_mounts
                    .iter()
                    .filter(|m| k8s::is_same_or_parent(&m.path, rules::KUBELET_PODS))
                {
                    for (sa, victim) in tokens_on.get(&pod.node).into_iter().flatten() {
                        self.attack(
                            cid,
                            *sa,
                            RuleId::TokenKubeletPods,
                            None,
                            vec![mount.describe(), format!("token of {victim}")],
                        );
                    }
                }
            }
        }
        self.pods = pods;
        for node in self.all_of(NodeKind::Node) {
            if node != self.any_node {
                self.attack(self.any_node, node, RuleId::NodeChoice, None, vec![]);
            }
        }
    }

    /// Exploitation of internet-exposed pods whose images have RCE-class vulnerabilities.
    fn exploit_edges(&mut self) {
        let exposed = self.internet_routes();
        let pods = std::mem::take(&mut self.pods);
        for pod in &pods {
            if !exposed.contains_key(&pod.id) {
                continue;
            }
            for (c, &cid) in pod.facts.containers.iter().zip(&pod.containers) {
                let digest = findings::digest_in(&c.image)
                    .or(pod.image_ids.get(&c.name).map(String::as_str));
                let Some(found) = self.findings.lookup(digest, &c.image) else {
                    continue;
                };
                let mut rce: Vec<_> = found.iter().filter(|f| findings::rce_class(f)).collect();
                rce.sort_by(|a, b| {
                    findings::exploit_likelihood(b)
                        .total_cmp(&findings::exploit_likelihood(a))
                        .then(a.id.cmp(&b.id))
                });
                let Some(best) = rce.first() else { continue };
                let mut evidence = vec![format!("image {}", c.image)];
                evidence.extend(rce.iter().take(3).map(|f| findings::describe(f)));
                if rce.len() > 3 {
                    evidence.push(format!("and {} more", rce.len() - 3));
                }
                self.attack(
                    pod.id,
                    cid,
                    RuleId::EndpointExploit,
                    Some(findings::exploit_likelihood(best)),
                    evidence,
                );
            }
        }
        self.pods = pods;
    }

    /// Everything reachable from the Internet over reach edges, with the route taken.
    fn internet_routes(&self) -> HashMap<NodeId, Vec<String>> {
        let mut route: HashMap<NodeId, Vec<String>> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([self.internet]);
        route.insert(self.internet, vec![]);
        while let Some(at) = queue.pop_front() {
            let next: Vec<(NodeId, String)> = self
                .g
                .outgoing(at)
                .filter(|(_, e)| {
                    e.traversable && matches!(e.kind, EdgeKind::RoutesTrafficTo | EdgeKind::Exposes)
                })
                .map(|(_, e)| {
                    let how = if e.evidence.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", e.evidence.join(", "))
                    };
                    (e.to, format!("{}{how}", self.g.node(e.to).label()))
                })
                .collect();
            for (to, step) in next {
                if route.contains_key(&to) {
                    continue;
                }
                let mut r = route[&at].clone();
                r.push(step);
                route.insert(to, r);
                queue.push_back(to);
            }
        }
        route
    }

    /// "Exposed to the internet" on everything reachable over reach edges, with the route.
    fn exposure_insights(&mut self) {
        let route = self.internet_routes();
        let mut exposed: Vec<(NodeId, Vec<String>)> = route
            .into_iter()
            .filter(|(id, _)| *id != self.internet)
            .collect();
        exposed.sort();
        for (id, steps) in exposed {
            self.insight(
                id,
                InsightKind::ExposedToInternet,
                vec![format!("Internet → {}", steps.join(" → "))],
            );
        }
    }
}

/// The controlling owner reference (`controller: true`, else the first), as (kind, name).
fn controller_owner(object: &Value) -> Option<(String, String)> {
    let owners = list(object, &["metadata", "ownerReferences"]);
    let owner = owners
        .iter()
        .find(|o| bool_at(o, &["controller"]) == Some(true))
        .or_else(|| owners.first())?;
    Some((
        str_at(owner, &["kind"])?.to_string(),
        str_at(owner, &["name"])?.to_string(),
    ))
}

/// Cloud annotations that keep a LoadBalancer on the private network.
fn internal_lb_annotation(key: &str, value: &str) -> bool {
    match key {
        "service.beta.kubernetes.io/aws-load-balancer-internal"
        | "service.beta.kubernetes.io/azure-load-balancer-internal"
        | "service.kubernetes.io/oci-load-balancer-internal" => value != "false",
        "service.beta.kubernetes.io/aws-load-balancer-scheme" => value == "internal",
        "networking.gke.io/load-balancer-type" | "cloud.google.com/load-balancer-type" => {
            value.eq_ignore_ascii_case("internal")
        }
        _ => false,
    }
}
