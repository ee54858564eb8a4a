//! What `n.prop` and `r.prop` read, and the table that documents it (docs/query.md is
//! generated from [`NODE_PROPERTIES`] and [`EDGE_PROPERTIES`]; a test checks that every
//! property the graph builder sets is in the table).

use crowsnest_model::finding::Finding;

use super::engine::QueryEngine;
use super::value::Val;
use crate::graph::{EdgeId, EdgeKind, NodeId, NodeKind};
use crate::insights::InsightKind;

/// One documented property.
#[derive(Clone, Copy, Debug)]
pub struct PropertyDoc {
    /// Labels whose nodes (or relationship types whose edges) can have it; empty means all.
    pub on: &'static [&'static str],
    pub name: &'static str,
    /// `string`, `boolean`, `number`, `list of strings`.
    pub value: &'static str,
    pub description: &'static str,
    /// Only there when the query runs with the image findings (`crowsnest query` joins
    /// them whenever it scans images).
    pub from_findings: bool,
}

const fn doc(
    on: &'static [&'static str],
    name: &'static str,
    value: &'static str,
    description: &'static str,
) -> PropertyDoc {
    PropertyDoc {
        on,
        name,
        value,
        description,
        from_findings: false,
    }
}

const fn finding_doc(
    on: &'static [&'static str],
    name: &'static str,
    value: &'static str,
    description: &'static str,
) -> PropertyDoc {
    PropertyDoc {
        on,
        name,
        value,
        description,
        from_findings: true,
    }
}

/// Node properties. The first five are computed for every node; the rest are the facts
/// the graph builder stores on nodes of some labels.
pub const NODE_PROPERTIES: &[PropertyDoc] = &[
    doc(
        &[],
        "key",
        "string",
        "Unique key in the graph: `pod:shop/web-1`, `sa:shop/web`, `image:sha256:…`, `vuln:CVE-…`, `internet`, `cluster`.",
    ),
    doc(
        &[],
        "name",
        "string",
        "The object's name (an image's reference, a vulnerability's id, a container's `pod/container`).",
    ),
    doc(
        &[],
        "namespace",
        "string",
        "The namespace of namespaced objects; null otherwise.",
    ),
    doc(
        &[],
        "insights",
        "list of strings",
        "Names of the node's insights (see the insight list below): test with `'privilegedContainer' IN n.insights` or `has_insight(n, 'privilegedContainer')`.",
    ),
    doc(
        &["Vulnerability"],
        "id",
        "string",
        "The vulnerability id (CVE, or the advisory's own id); the same as `name`.",
    ),
    doc(
        &["Namespace"],
        "sensitive",
        "boolean",
        "A sensitive namespace (kube-system by default): its takeover is an attack-path target.",
    ),
    doc(
        &["Namespace"],
        "podSecurityEnforce",
        "string",
        "The `pod-security.kubernetes.io/enforce` level (privileged, baseline, restricted).",
    ),
    doc(
        &["Node"],
        "externalAddresses",
        "list of strings",
        "The node's ExternalIP addresses.",
    ),
    doc(
        &["Workload"],
        "kind",
        "string",
        "Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob.",
    ),
    doc(
        &["Pod"],
        "template",
        "boolean",
        "Manifest mode: the pod a controller's template would create (the controller has no pods).",
    ),
    doc(
        &["Pod"],
        "hostNetwork",
        "boolean",
        "`hostNetwork: true` (absent when false).",
    ),
    doc(
        &["Pod"],
        "hostPID",
        "boolean",
        "`hostPID: true` (absent when false).",
    ),
    doc(
        &["Pod"],
        "hostIPC",
        "boolean",
        "`hostIPC: true` (absent when false).",
    ),
    doc(
        &["Container"],
        "image",
        "string",
        "The image reference as the pod spec writes it.",
    ),
    doc(
        &["Image"],
        "digest",
        "string",
        "The manifest digest (`sha256:…`) when the reference or the pod status names one.",
    ),
    doc(
        &["Vulnerability"],
        "severity",
        "string",
        "critical, high, medium, low, negligible or unknown.",
    ),
    doc(
        &["Vulnerability"],
        "kev",
        "boolean",
        "Listed in CISA's Known Exploited Vulnerabilities catalog.",
    ),
    doc(
        &["Vulnerability"],
        "exploitPublished",
        "boolean",
        "A public exploit is known (Exploit-DB).",
    ),
    doc(
        &["Vulnerability"],
        "networkVector",
        "boolean",
        "The CVSS vector has a network attack vector (AV:N).",
    ),
    finding_doc(
        &["Vulnerability"],
        "epss",
        "number",
        "EPSS probability of exploitation in the next 30 days (0 to 1); null when not scored.",
    ),
    finding_doc(
        &["Vulnerability"],
        "cvssScore",
        "number",
        "CVSS base score; null without a vector.",
    ),
    finding_doc(
        &["Vulnerability"],
        "fixAvailable",
        "boolean",
        "A fixed version exists for at least one affected package (per image: the HAS_VULNERABILITY relationship's `fixAvailable`).",
    ),
    doc(
        &["Service", "Secret"],
        "type",
        "string",
        "Service type (ClusterIP, NodePort, LoadBalancer, ExternalName) or secret type (Opaque, kubernetes.io/service-account-token, …).",
    ),
    doc(
        &["ServiceAccount"],
        "automountServiceAccountToken",
        "boolean",
        "The service account's own automount setting, when it sets one.",
    ),
    doc(
        &["Volume"],
        "hostPath",
        "string",
        "The host path of a hostPath volume.",
    ),
];

/// Relationship properties.
pub const EDGE_PROPERTIES: &[PropertyDoc] = &[
    doc(
        &[],
        "rule",
        "string",
        "The attack rule that made the edge (`CE_PRIVILEGED`, `POD_CREATE`, … see docs/graph.md); null for structure.",
    ),
    doc(
        &[],
        "likelihood",
        "number",
        "Chance that an attacker at the start gets to the end this way (0 to 1).",
    ),
    doc(
        &[],
        "traversable",
        "boolean",
        "An attacker can move along it (reach and rule edges; a route a NetworkPolicy cuts is not).",
    ),
    doc(
        &[],
        "evidence",
        "list of strings",
        "The facts that made the edge, in words.",
    ),
    finding_doc(
        &["HAS_VULNERABILITY"],
        "package",
        "string",
        "The affected package in this image.",
    ),
    finding_doc(
        &["HAS_VULNERABILITY"],
        "installedVersion",
        "string",
        "Its installed version.",
    ),
    finding_doc(
        &["HAS_VULNERABILITY"],
        "fixStatus",
        "string",
        "FixAvailable, NoFixAvailable, WontFix or Unknown.",
    ),
    finding_doc(
        &["HAS_VULNERABILITY"],
        "fixAvailable",
        "boolean",
        "`fixStatus = 'FixAvailable'`.",
    ),
    finding_doc(
        &["HAS_VULNERABILITY"],
        "fixedVersions",
        "list of strings",
        "Versions that fix it, lowest first.",
    ),
];

pub(crate) const INSIGHT_KINDS: [InsightKind; 19] = [
    InsightKind::ExposedToInternet,
    InsightKind::PrivilegedContainer,
    InsightKind::HostNetwork,
    InsightKind::HostPid,
    InsightKind::HostIpc,
    InsightKind::DangerousCapabilities,
    InsightKind::WritableHostPath,
    InsightKind::SensitiveHostPath,
    InsightKind::RuntimeSocketMounted,
    InsightKind::RunsAsRoot,
    InsightKind::ServiceAccountTokenAutomounted,
    InsightKind::CriticalOrHighVulnerabilities,
    InsightKind::VulnerableToRemoteCodeExecution,
    InsightKind::ExploitableVulnerabilities,
    InsightKind::CanReadSecrets,
    InsightKind::ClusterAdminEquivalent,
    InsightKind::NotSelectedByNetworkPolicy,
    InsightKind::PodSecurityBaselineViolation,
    InsightKind::PodSecurityRestrictedViolation,
];

/// The insight's name in queries, as JSON writes it (`privilegedContainer`).
pub fn insight_name(kind: InsightKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

pub(crate) fn insight_names() -> Vec<String> {
    INSIGHT_KINDS.iter().map(|&k| insight_name(k)).collect()
}

/// The insight a name stands for, without regard to case or underscores.
pub(crate) fn insight_kind(name: &str) -> Option<InsightKind> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|&c| c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let folded = fold(name);
    INSIGHT_KINDS
        .iter()
        .copied()
        .find(|&k| fold(&insight_name(k)) == folded)
}

impl QueryEngine<'_> {
    pub(crate) fn node_prop(&self, id: NodeId, name: &str) -> Val {
        let node = self.graph.node(id);
        match name {
            "key" => return Val::Str(node.key.clone()),
            "name" => return Val::Str(node.name.clone()),
            "namespace" => return node.namespace.clone().map_or(Val::Null, Val::Str),
            "insights" => {
                return Val::List(
                    self.insights_of(id)
                        .into_iter()
                        .map(|k| Val::Str(insight_name(k)))
                        .collect(),
                );
            }
            "id" if node.kind == NodeKind::Vulnerability => return Val::Str(node.name.clone()),
            _ => {}
        }
        if let Some(v) = node.props.get(name) {
            return Val::from_json(v);
        }
        if node.kind == NodeKind::Vulnerability
            && let Some(f) = self.vulnerability_finding(id)
        {
            return match name {
                "epss" => f
                    .exploitability
                    .epss
                    .as_ref()
                    .map_or(Val::Null, |e| Val::Float(e.score)),
                "cvssScore" => f
                    .cvss
                    .as_ref()
                    .map_or(Val::Null, |c| Val::Float(c.base_score)),
                "fixAvailable" => Val::Bool(self.vulnerability_fixable(id)),
                _ => Val::Null,
            };
        }
        Val::Null
    }

    pub(crate) fn edge_prop(&self, id: EdgeId, name: &str) -> Val {
        let edge = self.graph.edge(id);
        match name {
            "rule" => return edge.rule.map_or(Val::Null, |r| Val::Str(r.as_str().into())),
            "likelihood" => return Val::Float(edge.likelihood),
            "traversable" => return Val::Bool(edge.traversable),
            "evidence" => {
                return Val::List(edge.evidence.iter().cloned().map(Val::Str).collect());
            }
            _ => {}
        }
        if edge.kind != EdgeKind::HasVulnerability {
            return Val::Null;
        }
        let Some(f) = self.edge_finding(id) else {
            return Val::Null;
        };
        finding_edge_prop(f, name)
    }
}

fn finding_edge_prop(f: &Finding, name: &str) -> Val {
    match name {
        "package" => Val::Str(f.package.name.clone()),
        "installedVersion" => Val::Str(f.installed_version.clone()),
        "fixStatus" => Val::Str(f.fix_status.as_str().into()),
        "fixAvailable" => {
            Val::Bool(f.fix_status == crowsnest_model::finding::FixStatus::FixAvailable)
        }
        "fixedVersions" => Val::List(f.fixed_versions.iter().cloned().map(Val::Str).collect()),
        _ => Val::Null,
    }
}

/// docs/query.md's tables of labels, relationship types, properties and insights.
pub fn reference_markdown() -> String {
    let mut md = String::from("### Labels\n\n");
    md.push_str(
        &super::parser::NODE_KINDS
            .iter()
            .map(|&k| format!("`{}`", super::parser::node_label(k)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    md.push_str("\n\n### Relationship types\n\n");
    md.push_str(
        &super::parser::EDGE_KINDS
            .iter()
            .map(|&k| format!("`{}` ({})", super::parser::edge_type(k), k.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (title, table) in [
        ("Node properties", NODE_PROPERTIES),
        ("Relationship properties", EDGE_PROPERTIES),
    ] {
        md.push_str(&format!(
            "\n\n### {title}\n\n| on | property | value | meaning |\n|---|---|---|---|\n"
        ));
        for p in table {
            let on = if p.on.is_empty() {
                "all".to_string()
            } else {
                p.on.join(", ")
            };
            let findings = if p.from_findings {
                " *(with image findings)*"
            } else {
                ""
            };
            md.push_str(&format!(
                "| {on} | `{}` | {} | {}{findings} |\n",
                p.name, p.value, p.description
            ));
        }
    }
    md.push_str("\n### Insights\n\n");
    md.push_str(
        &insight_names()
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails to compile when InsightKind gains a variant, so the list stays complete.
    fn position(kind: InsightKind) -> usize {
        use InsightKind::*;
        match kind {
            ExposedToInternet => 0,
            PrivilegedContainer => 1,
            HostNetwork => 2,
            HostPid => 3,
            HostIpc => 4,
            DangerousCapabilities => 5,
            WritableHostPath => 6,
            SensitiveHostPath => 7,
            RuntimeSocketMounted => 8,
            RunsAsRoot => 9,
            ServiceAccountTokenAutomounted => 10,
            CriticalOrHighVulnerabilities => 11,
            VulnerableToRemoteCodeExecution => 12,
            ExploitableVulnerabilities => 13,
            CanReadSecrets => 14,
            ClusterAdminEquivalent => 15,
            NotSelectedByNetworkPolicy => 16,
            PodSecurityBaselineViolation => 17,
            PodSecurityRestrictedViolation => 18,
        }
    }

    #[test]
    fn every_insight_is_listed_and_found_by_name() {
        for (i, &k) in INSIGHT_KINDS.iter().enumerate() {
            assert_eq!(position(k), i);
            assert_eq!(insight_kind(&insight_name(k)), Some(k));
        }
        assert_eq!(insight_name(InsightKind::HostPid), "hostPid");
        assert_eq!(
            insight_kind("PRIVILEGED_CONTAINER"),
            Some(InsightKind::PrivilegedContainer)
        );
        assert_eq!(insight_kind("privileged"), None);
    }
}
