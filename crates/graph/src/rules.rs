//! Attack-edge rules. Each variant of [`RuleId`] is one rule; its doc comment says what
//! the edge means, why an attacker can take it, the exact condition Crowsnest checks and
//! where the technique is described. docs/graph.md is generated from these comments
//! (`CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test rules_doc` rewrites it).
//!
//! Likelihoods are the chance that an attacker at the edge's start reaches its end this
//! way; they are deliberately coarse (a few levels), and only their order matters for
//! ranking.

use serde::Serialize;

use crate::graph::EdgeKind;

/// One attack-edge rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum RuleId {
    /// **What:** pod → container: code execution in a container reached over the network
    /// by exploiting a vulnerability of its image.
    /// **Why:** a remotely exploitable flaw in software that listens on the network turns
    /// reachability into a shell.
    /// **Condition:** the pod is reachable from the Internet (a chain of traversable
    /// "routes traffic to"/"exposes" edges leads from the Internet to it) and the container's image has a finding that is in CISA KEV, or is critical
    /// or high with a network attack vector (`AV:N`) in its CVSS vector. Likelihood 0.9 for
    /// KEV, 0.7 with a public exploit, 0.5 for network critical, 0.3 for network high.
    /// **References:** KubeHound ENDPOINT_EXPLOIT; Defender for Cloud "Internet exposed
    /// Kubernetes pod is running a container with RCE vulnerabilities".
    EndpointExploit,
    /// **What:** container → node: a privileged container owns its node.
    /// **Why:** `privileged: true` gives every capability and every host device; mounting
    /// the host's disk (`mount /dev/sda1`) or loading a module is one command.
    /// **Condition:** `securityContext.privileged: true` on the container.
    /// **References:** KubeHound CE_PRIV_MOUNT; Pod Security Standards baseline
    /// "Privileged Containers".
    EscapePrivileged,
    /// **What:** container → node: enter the host's namespaces through PID 1.
    /// **Why:** with the host PID namespace the host's init is visible, and a privileged
    /// process can `nsenter -t 1 -a` into every namespace of the host.
    /// **Condition:** `hostPID: true` on the pod and `privileged: true` on the container.
    /// **References:** KubeHound CE_NSENTER.
    EscapeNsenter,
    /// **What:** container → node: load a kernel module.
    /// **Why:** `CAP_SYS_MODULE` lets the container insert code into the host kernel.
    /// **Condition:** `SYS_MODULE` in `securityContext.capabilities.add` (or `ALL`).
    /// **References:** KubeHound CE_MODULE_LOAD; capabilities(7).
    EscapeModuleLoad,
    /// **What:** container → node: inject code into a host process.
    /// **Why:** with the host PID namespace, `CAP_SYS_PTRACE` and `CAP_SYS_ADMIN`, a
    /// process can attach to a root process of the host and run code in it.
    /// **Condition:** `hostPID: true`, and both `SYS_PTRACE` and `SYS_ADMIN` added (or
    /// `ALL`).
    /// **References:** KubeHound CE_SYS_PTRACE.
    EscapeSysPtrace,
    /// **What:** container → node: rewrite the kernel's core-dump handler.
    /// **Why:** `/proc/sys/kernel/core_pattern` names a program the kernel runs as root on
    /// the host when any process crashes; writing it runs the attacker's program there.
    /// **Condition:** the container may run as root (no `runAsNonRoot: true`, no non-zero
    /// `runAsUser`) and mounts, not read-only, a hostPath that is `/proc/sys/kernel` or a
    /// parent of it (`/proc/sys`, `/proc`, `/`).
    /// **References:** KubeHound CE_UMH_CORE_PATTERN; core(5).
    EscapeCorePattern,
    /// **What:** container → node: write to a sensitive host directory.
    /// **Why:** writing under `/etc`, `/root`, binaries, kubelet or runtime state lets the
    /// attacker add a cron job, an SSH key, a static pod or a replaced binary.
    /// **Condition:** a hostPath mounted without `readOnly` whose path is, contains or lies
    /// under one of `/etc`, `/root`, `/home`, `/usr`, `/bin`, `/sbin`, `/lib`, `/lib64`,
    /// `/boot`, `/dev`, `/var/lib/kubelet`, `/var/lib/docker`, `/var/lib/containerd`,
    /// `/var/spool/cron`.
    /// **References:** KubeHound EXPLOIT_HOST_WRITE; Pod Security Standards baseline
    /// "HostPath Volumes".
    HostPathWrite,
    /// **What:** container → node: read host credentials.
    /// **Why:** kubelet and control-plane keys, SSH keys and password hashes give access to
    /// the node (or the cluster) from outside the container.
    /// **Condition:** a hostPath (read-only or not) whose path is, contains or lies under
    /// one of `/etc/kubernetes`, `/var/lib/kubelet/pki`, `/etc/shadow`, `/etc/ssh`,
    /// `/root`, `/home`, `/var/lib/etcd`.
    /// **References:** KubeHound EXPLOIT_HOST_READ.
    HostPathRead,
    /// **What:** container → node: drive the container runtime.
    /// **Why:** the runtime socket starts containers as root on the host; one
    /// `docker run --privileged -v /:/host` later the node is the attacker's.
    /// **Condition:** a hostPath (read-only does not help: connecting to a socket is not a
    /// write to the file system) that is or contains a runtime socket:
    /// `/var/run/docker.sock`, `/run/containerd/containerd.sock`, `/var/run/crio/crio.sock`,
    /// `/var/run/cri-dockerd.sock` and their `/run` ↔ `/var/run` twins.
    /// **References:** Pod Security Standards baseline "HostPath Volumes"; Kubescape
    /// C-0074 "Container runtime socket mounted".
    RuntimeSocket,
    /// **What:** container → service account: use the token mounted in the pod.
    /// **Why:** code execution in a container reads
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token` and calls the API as the pod's
    /// service account.
    /// **Condition:** the pod's `automountServiceAccountToken` is not `false` (the pod's
    /// field wins; when unset, the service account's field; default true).
    /// **References:** Kubernetes docs "Configure Service Accounts for Pods"; KubeHound
    /// IDENTITY_ASSUME.
    TokenMounted,
    /// **What:** node → service account: steal the tokens of the pods on a node.
    /// **Why:** root on a node reads every projected token under `/var/lib/kubelet/pods`.
    /// **Condition:** a pod with an automounted token runs on the node. For the "any node"
    /// stand-in (a node of the attacker's choice), the pods of DaemonSets, which run on
    /// every node.
    /// **References:** KubeHound TOKEN_STEAL.
    TokenStealFromNode,
    /// **What:** container → service account: read other pods' tokens through a hostPath.
    /// **Why:** the kubelet keeps every pod's projected token under
    /// `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~projected/`.
    /// **Condition:** a hostPath that is `/var/lib/kubelet/pods` or a parent of it; the
    /// edge goes to the service accounts of the pods with automounted tokens on the same
    /// node (for a pod not yet scheduled: the DaemonSets' pods).
    /// **References:** KubeHound TOKEN_VAR_LOG_SYMLINK and TOKEN_STEAL.
    TokenKubeletPods,
    /// **What:** secret → service account: a legacy service-account token secret.
    /// **Why:** reading a secret of type `kubernetes.io/service-account-token` yields a
    /// long-lived token for the service account it names.
    /// **Condition:** secret type `kubernetes.io/service-account-token` with annotation
    /// `kubernetes.io/service-account.name`.
    /// **References:** Kubernetes docs "Manually create a long-lived API token";
    /// KubeHound TOKEN_LIST.
    TokenFromSecret,
    /// **What:** container → secret: read the secrets mounted into the container.
    /// **Why:** secret volumes and `secretKeyRef`/`secretRef` environment variables are
    /// plain text inside the container.
    /// **Condition:** the container mounts a `secret` (or projected secret) volume, or takes
    /// an environment variable from a secret.
    /// **References:** Kubernetes docs "Secrets: good practices".
    MountedSecret,
    /// **What:** identity → container: `kubectl exec` into running pods.
    /// **Why:** exec is code execution in the container, with its service account and
    /// host access.
    /// **Condition:** RBAC allows `create` (or `get`, for the WebSocket upgrade) on
    /// `pods/exec` in the pod's namespace or cluster-wide (resourceNames respected).
    /// **References:** KubeHound POD_EXEC.
    PodExec,
    /// **What:** identity → container: replace a running pod's image.
    /// **Why:** `spec.containers[].image` is mutable; the kubelet restarts the container
    /// with the attacker's image, same service account and mounts.
    /// **Condition:** RBAC allows `patch` or `update` on `pods` in the pod's namespace or
    /// cluster-wide.
    /// **References:** KubeHound POD_PATCH.
    PodPatch,
    /// **What:** identity → namespace: run any pod in a namespace.
    /// **Why:** a new pod chooses its service account, mounts, host access and node.
    /// **Condition:** RBAC allows `create` on `pods` in the namespace (cluster-wide: every
    /// namespace).
    /// **References:** KubeHound POD_CREATE.
    PodCreate,
    /// **What:** identity → namespace: create or change a controller, which creates pods.
    /// **Why:** the controller manager creates whatever pod template it is given.
    /// **Condition:** RBAC allows `create`, `patch` or `update` on deployments,
    /// daemonsets, statefulsets or replicasets (`apps`), jobs or cronjobs (`batch`), or
    /// replicationcontrollers (core).
    /// **References:** KubeHound POD_PATCH; IceKube "create workload".
    ControllerWrite,
    /// **What:** identity → secret: read secrets through the API.
    /// **Why:** secrets hold credentials: tokens, passwords, keys.
    /// **Condition:** RBAC allows `get`, `list` or `watch` on `secrets` in the secret's
    /// namespace or cluster-wide (`get` limited by resourceNames).
    /// **References:** KubeHound TOKEN_LIST; IceKube "get secret".
    SecretsRead,
    /// **What:** identity → cluster or namespace: bind any role to oneself.
    /// **Why:** the `bind` verb lifts the rule that one may only grant what one holds; with
    /// binding creation that is every permission of the scope.
    /// **Condition:** `create` on `clusterrolebindings` and `bind` on `clusterroles`
    /// (→ cluster); or, in a namespace, `create` on `rolebindings` and `bind` on `roles` or
    /// `clusterroles` (→ that namespace).
    /// **References:** KubeHound ROLE_BIND; Kubernetes docs "RBAC: privilege escalation
    /// prevention".
    RoleBind,
    /// **What:** identity → cluster or namespace: add permissions to a role one holds.
    /// **Why:** the `escalate` verb lifts the rule that one may only write permissions one
    /// already has.
    /// **Condition:** `escalate` and one of `update`/`patch` on `clusterroles` (→ cluster),
    /// or on `roles` in a namespace (→ that namespace).
    /// **References:** IceKube "escalate"; Kubernetes docs "RBAC: privilege escalation
    /// prevention".
    RoleEscalate,
    /// **What:** identity → identity: act as another user, group or service account.
    /// **Why:** `Impersonate-User`/`Impersonate-Group` headers make every request run with
    /// the other identity's permissions (`system:masters` is cluster-admin).
    /// **Condition:** `impersonate` on `users`, `groups` or `serviceaccounts`
    /// (resourceNames respected); the edge goes to every such identity the bindings name,
    /// and to `system:masters` when groups are unrestricted.
    /// **References:** KubeHound IDENTITY_IMPERSONATE.
    Impersonate,
    /// **What:** identity → service account: mint a token for a service account.
    /// **Why:** the TokenRequest API issues a fresh token for any account one may
    /// `create serviceaccounts/token` on.
    /// **Condition:** RBAC allows `create` on `serviceaccounts/token` in the account's
    /// namespace or cluster-wide.
    /// **References:** IceKube "serviceaccounts/token create".
    TokenCreate,
    /// **What:** identity → node: talk to the kubelet API through the API server.
    /// **Why:** `nodes/proxy` reaches the kubelet's `/exec` and `/run` endpoints, which run
    /// commands in any pod of the node, bypassing admission and audit of pod exec.
    /// **Condition:** `get` or `create` on `nodes/proxy` (cluster-wide).
    /// **References:** IceKube "nodes/proxy".
    NodesProxy,
    /// **What:** identity → cluster: cluster-admin equivalent.
    /// **Why:** all verbs on all resources of all groups, cluster-wide, is full control.
    /// **Condition:** a ClusterRoleBinding grants a rule with `*` verbs, `*` resources and
    /// `*` API groups and no resourceNames; or the identity is the group `system:masters`.
    /// **References:** Kubernetes docs "RBAC: user-facing roles (cluster-admin)".
    ClusterAdmin,
    /// **What:** namespace → service account: run a pod as any service account of the
    /// namespace.
    /// **Why:** whoever can create pods in a namespace names the pod's
    /// `serviceAccountName` and reads its token.
    /// **Condition:** the namespace has the service account (every namespace has
    /// `default`).
    /// **References:** KubeHound POD_CREATE → IDENTITY_ASSUME.
    NamespaceAssumeServiceAccount,
    /// **What:** namespace → node: run a privileged pod.
    /// **Why:** a new pod can be privileged, share the host's namespaces, mount `/` and
    /// pick its node with `nodeName`.
    /// **Condition:** the namespace does not enforce Pod Security `baseline` or
    /// `restricted` (label `pod-security.kubernetes.io/enforce`); the edge goes to the
    /// "any node" stand-in.
    /// **References:** Pod Security Admission; KubeHound POD_CREATE with CE_PRIV_MOUNT.
    NamespacePrivilegedPod,
    /// **What:** namespace → secret: mount any secret of the namespace in a new pod.
    /// **Why:** pod creation is not checked against `get secrets`; a secret volume hands
    /// the values to the pod.
    /// **Condition:** the secret is in the namespace.
    /// **References:** Kubernetes docs "Secrets: least-privilege access".
    NamespaceMountSecret,
    /// **What:** any node → node: the attacker chooses the node.
    /// **Why:** a pod created with `nodeName` (or a tolerating DaemonSet) lands on the node
    /// the attacker wants, so taking "a node" means taking each one in turn.
    /// **Condition:** always, from the "any node" stand-in to every node in the snapshot.
    /// **References:** Kubernetes docs "Assigning Pods to Nodes (nodeName)".
    NodeChoice,
}

impl RuleId {
    pub const ALL: [RuleId; 29] = [
        RuleId::EndpointExploit,
        RuleId::EscapePrivileged,
        RuleId::EscapeNsenter,
        RuleId::EscapeModuleLoad,
        RuleId::EscapeSysPtrace,
        RuleId::EscapeCorePattern,
        RuleId::HostPathWrite,
        RuleId::HostPathRead,
        RuleId::RuntimeSocket,
        RuleId::TokenMounted,
        RuleId::TokenStealFromNode,
        RuleId::TokenKubeletPods,
        RuleId::TokenFromSecret,
        RuleId::MountedSecret,
        RuleId::PodExec,
        RuleId::PodPatch,
        RuleId::PodCreate,
        RuleId::ControllerWrite,
        RuleId::SecretsRead,
        RuleId::RoleBind,
        RuleId::RoleEscalate,
        RuleId::Impersonate,
        RuleId::TokenCreate,
        RuleId::NodesProxy,
        RuleId::ClusterAdmin,
        RuleId::NamespaceAssumeServiceAccount,
        RuleId::NamespacePrivilegedPod,
        RuleId::NamespaceMountSecret,
        RuleId::NodeChoice,
    ];

    /// Stable upper-case id (`CE_PRIVILEGED`), used in JSON, docs and scenario folders
    /// (lower-case with dashes).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::EndpointExploit => "ENDPOINT_EXPLOIT",
            RuleId::EscapePrivileged => "CE_PRIVILEGED",
            RuleId::EscapeNsenter => "CE_NSENTER",
            RuleId::EscapeModuleLoad => "CE_MODULE_LOAD",
            RuleId::EscapeSysPtrace => "CE_SYS_PTRACE",
            RuleId::EscapeCorePattern => "CE_UMH_CORE_PATTERN",
            RuleId::HostPathWrite => "EXPLOIT_HOST_WRITE",
            RuleId::HostPathRead => "EXPLOIT_HOST_READ",
            RuleId::RuntimeSocket => "CE_RUNTIME_SOCKET",
            RuleId::TokenMounted => "TOKEN_MOUNTED",
            RuleId::TokenStealFromNode => "TOKEN_STEAL",
            RuleId::TokenKubeletPods => "TOKEN_KUBELET_PODS",
            RuleId::TokenFromSecret => "TOKEN_SECRET",
            RuleId::MountedSecret => "SECRET_MOUNTED",
            RuleId::PodExec => "POD_EXEC",
            RuleId::PodPatch => "POD_PATCH",
            RuleId::PodCreate => "POD_CREATE",
            RuleId::ControllerWrite => "CONTROLLER_WRITE",
            RuleId::SecretsRead => "SECRETS_READ",
            RuleId::RoleBind => "ROLE_BIND",
            RuleId::RoleEscalate => "ROLE_ESCALATE",
            RuleId::Impersonate => "IDENTITY_IMPERSONATE",
            RuleId::TokenCreate => "SA_TOKEN_CREATE",
            RuleId::NodesProxy => "NODES_PROXY",
            RuleId::ClusterAdmin => "CLUSTER_ADMIN",
            RuleId::NamespaceAssumeServiceAccount => "POD_CREATE_ASSUME_SA",
            RuleId::NamespacePrivilegedPod => "POD_CREATE_PRIVILEGED",
            RuleId::NamespaceMountSecret => "POD_CREATE_MOUNT_SECRET",
            RuleId::NodeChoice => "NODE_CHOICE",
        }
    }

    /// The kind of edge the rule produces.
    pub fn edge_kind(self) -> EdgeKind {
        use RuleId::*;
        match self {
            EndpointExploit => EdgeKind::Exploits,
            EscapePrivileged
            | EscapeNsenter
            | EscapeModuleLoad
            | EscapeSysPtrace
            | EscapeCorePattern
            | HostPathWrite
            | HostPathRead
            | RuntimeSocket
            | NamespacePrivilegedPod => EdgeKind::CanEscapeTo,
            TokenMounted | TokenFromSecret => EdgeKind::AuthenticatesAs,
            TokenStealFromNode | TokenKubeletPods => EdgeKind::CanStealTokenOf,
            MountedSecret | SecretsRead | NamespaceMountSecret => EdgeKind::CanReadSecretsOf,
            PodExec => EdgeKind::CanExecInto,
            PodPatch => EdgeKind::CanPatch,
            PodCreate | ControllerWrite => EdgeKind::CanCreatePodsIn,
            RoleBind | RoleEscalate | ClusterAdmin => EdgeKind::Administers,
            Impersonate => EdgeKind::CanImpersonate,
            TokenCreate | NamespaceAssumeServiceAccount => EdgeKind::CanAssume,
            NodesProxy | NodeChoice => EdgeKind::Controls,
        }
    }

    /// Default likelihood of the edge (see the module comment).
    pub fn likelihood(self) -> f64 {
        use RuleId::*;
        match self {
            EndpointExploit => 0.5,
            EscapePrivileged | EscapeNsenter => 0.95,
            EscapeModuleLoad | RuntimeSocket => 0.9,
            HostPathWrite => 0.85,
            EscapeCorePattern => 0.8,
            EscapeSysPtrace => 0.7,
            HostPathRead => 0.5,
            TokenKubeletPods => 0.9,
            NamespacePrivilegedPod | NodesProxy | RoleBind | RoleEscalate => 0.9,
            TokenMounted
            | TokenStealFromNode
            | TokenFromSecret
            | MountedSecret
            | PodExec
            | PodPatch
            | PodCreate
            | ControllerWrite
            | SecretsRead
            | Impersonate
            | TokenCreate
            | ClusterAdmin
            | NamespaceAssumeServiceAccount
            | NamespaceMountSecret
            | NodeChoice => 1.0,
        }
    }

    /// What to change to remove the edge.
    pub fn remediation(self) -> &'static str {
        use RuleId::*;
        match self {
            EndpointExploit => {
                "update the image to a version that fixes the vulnerability, or stop exposing the workload"
            }
            EscapePrivileged | EscapeNsenter => {
                "remove `privileged: true` (grant only the capabilities the container needs)"
            }
            EscapeModuleLoad => "drop the SYS_MODULE capability",
            EscapeSysPtrace => "drop SYS_PTRACE and SYS_ADMIN, or remove `hostPID: true`",
            EscapeCorePattern => {
                "do not mount /proc/sys from the host, or mount it read-only and run as non-root"
            }
            HostPathWrite => "remove the hostPath volume or mount it `readOnly: true`",
            HostPathRead => "remove the hostPath volume of host credentials",
            RuntimeSocket => "do not mount the container runtime socket",
            TokenMounted => {
                "set `automountServiceAccountToken: false` on the pod or its service account when it does not call the API"
            }
            TokenStealFromNode => {
                "give the pod a service account with no permissions, or disable token automount"
            }
            TokenKubeletPods => "do not mount /var/lib/kubelet (or a parent) from the host",
            TokenFromSecret => {
                "delete legacy service-account token secrets; use short-lived projected tokens"
            }
            MountedSecret => "mount only the secrets the container needs",
            PodExec => "remove `pods/exec` from the identity's roles",
            PodPatch => "remove `patch`/`update` on pods from the identity's roles",
            PodCreate => "remove `create` on pods from the identity's roles",
            ControllerWrite => {
                "remove write access to workload controllers from the identity's roles"
            }
            SecretsRead => "remove `get`/`list`/`watch` on secrets, or limit it with resourceNames",
            RoleBind => {
                "remove the `bind` verb (and role binding creation) from the identity's roles"
            }
            RoleEscalate => "remove the `escalate` verb from the identity's roles",
            Impersonate => "remove the `impersonate` verb, or limit it with resourceNames",
            TokenCreate => "remove `create` on serviceaccounts/token from the identity's roles",
            NodesProxy => "remove `nodes/proxy` from the identity's roles",
            ClusterAdmin => "bind a role with only the permissions the identity needs",
            NamespaceAssumeServiceAccount => {
                "keep powerful service accounts out of namespaces where others can create pods"
            }
            NamespacePrivilegedPod => {
                "label the namespace `pod-security.kubernetes.io/enforce: baseline` (or restricted)"
            }
            NamespaceMountSecret => "keep secrets out of namespaces where others can create pods",
            NodeChoice => "isolate sensitive workloads on dedicated nodes and restrict nodeName",
        }
    }
}

impl From<RuleId> for &'static str {
    fn from(rule: RuleId) -> &'static str {
        rule.as_str()
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Host directories whose write access gives the node (see [`RuleId::HostPathWrite`]).
const HOST_WRITE_PATHS: [&str; 14] = [
    "/etc",
    "/root",
    "/home",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/boot",
    "/dev",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/spool/cron",
];

/// Host files and directories holding credentials (see [`RuleId::HostPathRead`]).
const HOST_READ_PATHS: [&str; 7] = [
    "/etc/kubernetes",
    "/var/lib/kubelet/pki",
    "/etc/shadow",
    "/etc/ssh",
    "/root",
    "/home",
    "/var/lib/etcd",
];

/// Container runtime sockets (see [`RuleId::RuntimeSocket`]).
const RUNTIME_SOCKETS: [&str; 8] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
];

pub(crate) const KUBELET_PODS: &str = "/var/lib/kubelet/pods";
pub(crate) const PROC_SYS_KERNEL: &str = "/proc/sys/kernel";

/// `path` is, contains or lies under one of `roots`; returns the root it touches.
fn touches<'r>(roots: &[&'r str], path: &str) -> Option<&'r str> {
    use crate::k8s::is_same_or_parent;
    roots
        .iter()
        .copied()
        .find(|root| is_same_or_parent(path, root) || is_same_or_parent(root, path))
}

/// The runtime socket a host path is or contains.
pub(crate) fn runtime_socket(path: &str) -> Option<&'static str> {
    RUNTIME_SOCKETS
        .iter()
        .copied()
        .find(|socket| crate::k8s::is_same_or_parent(path, socket))
}

/// The rule a hostPath mount triggers by its path alone (write or read of sensitive host
/// files), with the sensitive root it touches.
pub(crate) fn sensitive_host_path(
    mount: &crate::facts::HostMount,
) -> Option<(RuleId, &'static str)> {
    if !mount.read_only
        && let Some(root) = touches(&HOST_WRITE_PATHS, &mount.path)
    {
        return Some((RuleId::HostPathWrite, root));
    }
    touches(&HOST_READ_PATHS, &mount.path).map(|root| (RuleId::HostPathRead, root))
}
