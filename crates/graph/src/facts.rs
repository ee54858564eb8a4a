//! What a pod spec says about host access and privileges, read once and shared by the
//! attack rules and the insights.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::k8s::{self, bool_at, get, i64_at, list, str_at};

/// A hostPath as one container sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostMount {
    /// Normalized host path, with the mount's `subPath` appended.
    pub path: String,
    pub read_only: bool,
    pub mount_path: String,
}

impl HostMount {
    pub fn describe(&self) -> String {
        format!(
            "hostPath {} at {}{}",
            self.path,
            self.mount_path,
            if self.read_only { " (read-only)" } else { "" }
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ContainerFacts<'a> {
    pub name: String,
    pub image: String,
    pub spec: &'a Value,
    pub privileged: bool,
    pub caps_add: Vec<String>,
    pub caps_drop: Vec<String>,
    pub run_as_user: Option<i64>,
    pub run_as_non_root: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub seccomp: Option<String>,
    pub host_mounts: Vec<HostMount>,
    /// (volume name, mount path, read-only) of every mount.
    pub mounts: Vec<(String, String, bool)>,
    /// Secrets reached through volumes or environment variables.
    pub secrets: Vec<String>,
    pub host_ports: Vec<i64>,
}

impl ContainerFacts<'_> {
    /// The capability is added explicitly or through `ALL`.
    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps_add.iter().any(|c| c == cap || c == "ALL")
    }

    /// Why the container may run as UID 0, or `None` when it cannot.
    pub fn root_reason(&self) -> Option<String> {
        match (self.run_as_user, self.run_as_non_root) {
            (Some(0), _) => Some("runAsUser: 0".into()),
            (Some(_), _) | (None, Some(true)) => None,
            (None, _) => Some(
                "no runAsUser and no runAsNonRoot: the image's user (often root) applies".into(),
            ),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct PodFacts<'a> {
    pub spec: &'a Value,
    pub labels: BTreeMap<String, String>,
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    pub service_account: String,
    pub automount: Option<bool>,
    pub node_name: Option<String>,
    pub containers: Vec<ContainerFacts<'a>>,
}

const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

impl<'a> PodFacts<'a> {
    /// Reads a pod spec; `labels` are the pod's (or template's) labels.
    pub fn read(spec: &'a Value, labels: BTreeMap<String, String>) -> PodFacts<'a> {
        let volumes: HashMap<&str, &Value> = list(spec, &["volumes"])
            .iter()
            .filter_map(|v| Some((str_at(v, &["name"])?, v)))
            .collect();
        let pod_user = i64_at(spec, &["securityContext", "runAsUser"]);
        let pod_non_root = bool_at(spec, &["securityContext", "runAsNonRoot"]);
        let pod_seccomp = str_at(spec, &["securityContext", "seccompProfile", "type"]);
        let mut containers = Vec::new();
        for field in CONTAINER_LISTS {
            for c in list(spec, &[field]) {
                let sc = |f: &[&str]| {
                    let mut path = vec!["securityContext"];
                    path.extend_from_slice(f);
                    get(c, &path)
                };
                let caps = |f: &str| -> Vec<String> {
                    sc(&["capabilities", f])
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(k8s::capability)
                        .collect()
                };
                let mut host_mounts = Vec::new();
                let mut mounts = Vec::new();
                let mut secrets = Vec::new();
                for m in list(c, &["volumeMounts"]) {
                    let name = str_at(m, &["name"]).unwrap_or("");
                    let mount_path = str_at(m, &["mountPath"]).unwrap_or("").to_string();
                    let read_only = bool_at(m, &["readOnly"]).unwrap_or(false);
                    mounts.push((name.to_string(), mount_path.clone(), read_only));
                    let Some(volume) = volumes.get(name) else {
                        continue;
                    };
                    if let Some(host) = str_at(volume, &["hostPath", "path"]) {
                        let sub = str_at(m, &["subPath"]).unwrap_or("");
                        host_mounts.push(HostMount {
                            path: k8s::normalize_host_path(&format!("{host}/{sub}")),
                            read_only,
                            mount_path,
                        });
                    }
                    secrets.extend(volume_secrets(volume));
                }
                for env in list(c, &["env"]) {
                    if let Some(s) = str_at(env, &["valueFrom", "secretKeyRef", "name"]) {
                        secrets.push(s.to_string());
                    }
                }
                for from in list(c, &["envFrom"]) {
                    if let Some(s) = str_at(from, &["secretRef", "name"]) {
                        secrets.push(s.to_string());
                    }
                }
                secrets.sort();
                secrets.dedup();
                containers.push(ContainerFacts {
                    name: str_at(c, &["name"]).unwrap_or("").to_string(),
                    image: str_at(c, &["image"]).unwrap_or("").to_string(),
                    spec: c,
                    privileged: sc(&["privileged"])
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    caps_add: caps("add"),
                    caps_drop: caps("drop"),
                    run_as_user: sc(&["runAsUser"]).and_then(Value::as_i64).or(pod_user),
                    run_as_non_root: sc(&["runAsNonRoot"])
                        .and_then(Value::as_bool)
                        .or(pod_non_root),
                    allow_privilege_escalation: sc(&["allowPrivilegeEscalation"])
                        .and_then(Value::as_bool),
                    seccomp: sc(&["seccompProfile", "type"])
                        .and_then(Value::as_str)
                        .or(pod_seccomp)
                        .map(str::to_string),
                    host_mounts,
                    mounts,
                    secrets,
                    host_ports: list(c, &["ports"])
                        .iter()
                        .filter_map(|p| i64_at(p, &["hostPort"]))
                        .filter(|&p| p > 0)
                        .collect(),
                });
            }
        }
        PodFacts {
            spec,
            labels,
            host_network: bool_at(spec, &["hostNetwork"]).unwrap_or(false),
            host_pid: bool_at(spec, &["hostPID"]).unwrap_or(false),
            host_ipc: bool_at(spec, &["hostIPC"]).unwrap_or(false),
            service_account: str_at(spec, &["serviceAccountName"])
                .or_else(|| str_at(spec, &["serviceAccount"]))
                .filter(|s| !s.is_empty())
                .unwrap_or("default")
                .to_string(),
            automount: bool_at(spec, &["automountServiceAccountToken"]),
            node_name: str_at(spec, &["nodeName"])
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            containers,
        }
    }
}

/// Secrets a volume hands to the pod (`secret` volumes and projected secret sources).
fn volume_secrets(volume: &Value) -> Vec<String> {
    let mut out: Vec<String> = str_at(volume, &["secret", "secretName"])
        .map(str::to_string)
        .into_iter()
        .collect();
    for source in list(volume, &["projected", "sources"]) {
        if let Some(s) = str_at(source, &["secret", "name"]) {
            out.push(s.to_string());
        }
    }
    out
}
