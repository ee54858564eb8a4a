//! Insights: facts about one node that matter to security, each with the evidence that
//! produced it.

use serde::Serialize;

use crate::facts::{ContainerFacts, PodFacts};
use crate::graph::NodeId;
use crate::rules;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InsightKind {
    /// Reachable from the internet: LoadBalancer/NodePort service, ingress, gateway,
    /// hostNetwork/hostPort on a node with an external address (on pods, services,
    /// ingresses and gateways).
    ExposedToInternet,
    PrivilegedContainer,
    HostNetwork,
    HostPid,
    HostIpc,
    /// Added capabilities that reach beyond the container (SYS_ADMIN, SYS_MODULE, …).
    DangerousCapabilities,
    WritableHostPath,
    SensitiveHostPath,
    RuntimeSocketMounted,
    RunsAsRoot,
    ServiceAccountTokenAutomounted,
    /// On images: critical or high findings.
    CriticalOrHighVulnerabilities,
    /// On images: KEV, or critical/high with a network attack vector.
    VulnerableToRemoteCodeExecution,
    /// On images: KEV or a public exploit.
    ExploitableVulnerabilities,
    /// On identities: may get/list/watch secrets.
    CanReadSecrets,
    /// On identities.
    ClusterAdminEquivalent,
    /// On pods: no NetworkPolicy selects the pod, so all traffic is allowed.
    NotSelectedByNetworkPolicy,
    /// On pods: Pod Security Standards baseline violations.
    PodSecurityBaselineViolation,
    /// On pods: Pod Security Standards restricted violations (beyond baseline ones).
    PodSecurityRestrictedViolation,
}

/// One insight on one node.
#[derive(Clone, Debug, Serialize)]
pub struct Insight {
    pub kind: InsightKind,
    #[serde(skip)]
    pub node: NodeId,
    /// Key of the node (`pod:shop/web-1`).
    pub node_key: String,
    pub evidence: Vec<String>,
}

/// Capabilities that reach the host or other containers.
pub(crate) const DANGEROUS_CAPABILITIES: [&str; 10] = [
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "NET_ADMIN",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
];

/// Capabilities Pod Security baseline allows to be added.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

const RESTRICTED_VOLUME_TYPES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Insights on one container.
pub(crate) fn container_insights(c: &ContainerFacts) -> Vec<(InsightKind, Vec<String>)> {
    let mut out = Vec::new();
    if c.privileged {
        out.push((
            InsightKind::PrivilegedContainer,
            vec!["securityContext.privileged: true".into()],
        ));
    }
    let dangerous: Vec<String> = c
        .caps_add
        .iter()
        .filter(|cap| DANGEROUS_CAPABILITIES.contains(&cap.as_str()))
        .map(|cap| format!("capabilities.add: {cap}"))
        .collect();
    if !dangerous.is_empty() {
        out.push((InsightKind::DangerousCapabilities, dangerous));
    }
    let writable: Vec<String> = c
        .host_mounts
        .iter()
        .filter(|m| !m.read_only)
        .map(|m| m.describe())
        .collect();
    if !writable.is_empty() {
        out.push((InsightKind::WritableHostPath, writable));
    }
    let sensitive: Vec<String> = c
        .host_mounts
        .iter()
        .filter(|m| rules::sensitive_host_path(m).is_some())
        .map(|m| m.describe())
        .collect();
    if !sensitive.is_empty() {
        out.push((InsightKind::SensitiveHostPath, sensitive));
    }
    let sockets: Vec<String> = c
        .host_mounts
        .iter()
        .filter(|m| rules::runtime_socket(&m.path).is_some())
        .map(|m| m.describe())
        .collect();
    if !sockets.is_empty() {
        out.push((InsightKind::RuntimeSocketMounted, sockets));
    }
    if let Some(reason) = c.root_reason() {
        out.push((InsightKind::RunsAsRoot, vec![reason]));
    }
    out
}

/// Pod Security Standards checks: (baseline violations, restricted-only violations).
pub(crate) fn pod_security(pod: &PodFacts) -> (Vec<String>, Vec<String>) {
    use crate::k8s::{bool_at, list, str_at};
    let mut baseline = Vec::new();
    let mut restricted = Vec::new();
    for (flag, field) in [
        (pod.host_network, "hostNetwork"),
        (pod.host_pid, "hostPID"),
        (pod.host_ipc, "hostIPC"),
    ] {
        if flag {
            baseline.push(format!("{field}: true (host namespaces)"));
        }
    }
    if bool_at(
        pod.spec,
        &["securityContext", "windowsOptions", "hostProcess"],
    ) == Some(true)
    {
        baseline.push("windowsOptions.hostProcess: true (HostProcess)".into());
    }
    for sysctl in list(pod.spec, &["securityContext", "sysctls"]) {
        let name = str_at(sysctl, &["name"]).unwrap_or("");
        if !SAFE_SYSCTLS.contains(&name) {
            baseline.push(format!("sysctl {name} (sysctls)"));
        }
    }
    let pod_apparmor = str_at(pod.spec, &["securityContext", "appArmorProfile", "type"]);
    let pod_selinux = str_at(pod.spec, &["securityContext", "seLinuxOptions", "type"]);
    for volume in list(pod.spec, &["volumes"]) {
        let name = str_at(volume, &["name"]).unwrap_or("");
        if volume.get("hostPath").is_some() {
            baseline.push(format!("volume {name} is a hostPath (HostPath Volumes)"));
        }
        let allowed = volume.as_object().is_some_and(|fields| {
            fields
                .keys()
                .filter(|k| k.as_str() != "name")
                .all(|k| RESTRICTED_VOLUME_TYPES.contains(&k.as_str()))
        });
        if !allowed {
            restricted.push(format!(
                "volume {name} has a type outside the restricted list (Volume Types)"
            ));
        }
    }
    for c in &pod.containers {
        let name = &c.name;
        if c.privileged {
            baseline.push(format!(
                "container {name}: privileged (Privileged Containers)"
            ));
        }
        for cap in &c.caps_add {
            if !BASELINE_CAPABILITIES.contains(&cap.as_str()) {
                baseline.push(format!("container {name}: adds {cap} (Capabilities)"));
            }
        }
        for port in &c.host_ports {
            baseline.push(format!("container {name}: hostPort {port} (Host Ports)"));
        }
        if let Some(mount) =
            str_at(c.spec, &["securityContext", "procMount"]).filter(|m| *m != "Default")
        {
            baseline.push(format!(
                "container {name}: procMount {mount} (/proc Mount Type)"
            ));
        }
        if c.seccomp.as_deref() == Some("Unconfined") {
            baseline.push(format!("container {name}: seccomp Unconfined (Seccomp)"));
        }
        let apparmor =
            str_at(c.spec, &["securityContext", "appArmorProfile", "type"]).or(pod_apparmor);
        if apparmor == Some("Unconfined") {
            baseline.push(format!("container {name}: AppArmor Unconfined (AppArmor)"));
        }
        let selinux =
            str_at(c.spec, &["securityContext", "seLinuxOptions", "type"]).or(pod_selinux);
        if let Some(t) = selinux.filter(|t| {
            ![
                "",
                "container_t",
                "container_init_t",
                "container_kvm_t",
                "container_engine_t",
            ]
            .contains(t)
        }) {
            baseline.push(format!("container {name}: SELinux type {t} (SELinux)"));
        }
        if c.allow_privilege_escalation != Some(false) {
            restricted.push(format!(
                "container {name}: allowPrivilegeEscalation is not false (Privilege Escalation)"
            ));
        }
        if c.run_as_non_root != Some(true) {
            restricted.push(format!(
                "container {name}: runAsNonRoot is not true (Running as Non-root)"
            ));
        }
        if c.run_as_user == Some(0) {
            restricted.push(format!(
                "container {name}: runAsUser 0 (Running as Non-root user)"
            ));
        }
        if !matches!(c.seccomp.as_deref(), Some("RuntimeDefault" | "Localhost")) {
            restricted.push(format!(
                "container {name}: seccompProfile is not RuntimeDefault or Localhost (Seccomp)"
            ));
        }
        if !c.caps_drop.iter().any(|d| d == "ALL") {
            restricted.push(format!(
                "container {name}: capabilities.drop lacks ALL (Capabilities)"
            ));
        }
        if let Some(cap) = c
            .caps_add
            .iter()
            .find(|cap| cap.as_str() != "NET_BIND_SERVICE")
        {
            restricted.push(format!("container {name}: adds {cap} (Capabilities)"));
        }
    }
    (baseline, restricted)
}
