//! The kinds discovery reads: one table drives the API lists, the manifest reader, the
//! permissions `doctor` checks and the rules of `deploy/rbac.yaml` (a test keeps them equal).

/// How a kind is read from the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Whole objects (managedFields and last-applied annotations removed).
    Full,
    /// Metadata-only list requests (`PartialObjectMeta`): the object's values never leave
    /// the API server. Used for secrets, config maps and CRDs.
    MetadataOnly,
}

/// One kind of object in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// API group ("" for the core group).
    pub group: &'static str,
    /// Version listed when the kind is built in; optional kinds use the version the
    /// cluster prefers.
    pub version: &'static str,
    /// The `kind` field of the objects.
    pub kind: &'static str,
    /// Plural resource name; also the key of the kind in a snapshot (unique across groups).
    pub plural: &'static str,
    pub namespaced: bool,
    pub read: Read,
    /// Served only when a CRD installs it (Gateway API): absent is not a gap.
    pub optional: bool,
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> KindSpec {
    KindSpec {
        group,
        version,
        kind,
        plural,
        namespaced,
        read: Read::Full,
        optional: false,
    }
}

const fn metadata_only(mut spec: KindSpec) -> KindSpec {
    spec.read = Read::MetadataOnly;
    spec
}

const fn optional(mut spec: KindSpec) -> KindSpec {
    spec.optional = true;
    spec
}

/// Gateway API group: its kinds are listed only when the cluster serves them.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Every kind a snapshot holds, in the order they are listed.
pub const KINDS: &[KindSpec] = &[
    kind("", "v1", "Node", "nodes", false),
    kind("", "v1", "Namespace", "namespaces", false),
    kind("", "v1", "Pod", "pods", true),
    kind("apps", "v1", "Deployment", "deployments", true),
    kind("apps", "v1", "ReplicaSet", "replicasets", true),
    kind("apps", "v1", "StatefulSet", "statefulsets", true),
    kind("apps", "v1", "DaemonSet", "daemonsets", true),
    kind("batch", "v1", "Job", "jobs", true),
    kind("batch", "v1", "CronJob", "cronjobs", true),
    kind(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    kind("", "v1", "Service", "services", true),
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    kind("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    kind(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    optional(kind(
        GATEWAY_GROUP,
        "v1",
        "GatewayClass",
        "gatewayclasses",
        false,
    )),
    optional(kind(GATEWAY_GROUP, "v1", "Gateway", "gateways", true)),
    optional(kind(GATEWAY_GROUP, "v1", "HTTPRoute", "httproutes", true)),
    optional(kind(GATEWAY_GROUP, "v1", "GRPCRoute", "grpcroutes", true)),
    optional(kind(
        GATEWAY_GROUP,
        "v1alpha2",
        "TLSRoute",
        "tlsroutes",
        true,
    )),
    optional(kind(
        GATEWAY_GROUP,
        "v1alpha2",
        "TCPRoute",
        "tcproutes",
        true,
    )),
    optional(kind(
        GATEWAY_GROUP,
        "v1alpha2",
        "UDPRoute",
        "udproutes",
        true,
    )),
    kind("", "v1", "ServiceAccount", "serviceaccounts", true),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    metadata_only(kind("", "v1", "Secret", "secrets", true)),
    metadata_only(kind("", "v1", "ConfigMap", "configmaps", true)),
    kind("", "v1", "PersistentVolume", "persistentvolumes", false),
    kind(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    metadata_only(kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    )),
];

/// The namespace whose UID identifies a cluster (it exists from the first start and is
/// never recreated); reading it needs `get` on namespaces.
pub const CLUSTER_ID_NAMESPACE: &str = "kube-system";

/// Finds the kind of a manifest object by its `apiVersion` group and `kind`.
pub fn by_group_kind(group: &str, kind: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.group == group && k.kind == kind)
}

/// Finds a kind by its plural resource name (the snapshot key).
pub fn by_plural(plural: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.plural == plural)
}

/// Splits an `apiVersion` ("apps/v1", "v1") into group and version.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn plural_names_are_unique_snapshot_keys() {
        let mut seen = HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.plural), "duplicate plural {}", k.plural);
        }
    }

    #[test]
    fn values_stay_on_the_server_for_secrets_and_config_maps() {
        for plural in ["secrets", "configmaps"] {
            assert_eq!(by_plural(plural).unwrap().read, Read::MetadataOnly);
        }
    }

    #[test]
    fn api_version_split() {
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(
            by_group_kind("apps", "Deployment").unwrap().plural,
            "deployments"
        );
        assert!(by_group_kind("", "Deployment").is_none());
    }
}
