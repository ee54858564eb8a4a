//! RBAC evaluation: which identity may do what, where, and through which binding.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::k8s::{self, list, str_at, strings};

/// One rule of a Role or ClusterRole.
#[derive(Clone, Debug)]
pub(crate) struct PolicyRule {
    verbs: Vec<String>,
    groups: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
}

impl PolicyRule {
    fn parse(rule: &Value) -> PolicyRule {
        let owned = |f: &str| {
            strings(rule, &[f])
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        PolicyRule {
            verbs: owned("verbs"),
            groups: owned("apiGroups"),
            resources: owned("resources"),
            names: owned("resourceNames"),
        }
    }

    fn allows_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    fn allows_resource(&self, group: &str, resource: &str) -> bool {
        let group_ok = self.groups.iter().any(|g| g == "*" || g == group);
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || r == resource
                || r.strip_suffix("/*").is_some_and(|base| {
                    resource
                        .split_once('/')
                        .is_some_and(|(resource_base, _)| resource_base == base)
                })
        });
        group_ok && resource_ok
    }

    /// Every verb on every resource of every group, for every name.
    fn is_full(&self) -> bool {
        self.names.is_empty()
            && self.verbs.iter().any(|v| v == "*")
            && self.groups.iter().any(|g| g == "*")
            && self.resources.iter().any(|r| r == "*")
    }
}

/// One binding of a role to a subject.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    /// Graph key of the subject (`sa:ns/name`, `user:alice`, `group:devs`).
    pub subject: String,
    pub subject_kind: SubjectKind,
    pub subject_name: String,
    pub subject_namespace: Option<String>,
    /// Graph key of the role (`role:ns/name` or `clusterrole:name`).
    pub role: String,
    /// The namespace the grant applies to; `None` for a ClusterRoleBinding.
    pub namespace: Option<String>,
    /// `ClusterRoleBinding admins → ClusterRole admin`.
    pub via: String,
    rules: Arc<[PolicyRule]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubjectKind {
    ServiceAccount,
    User,
    Group,
}

/// Where a permission holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Allowed {
    /// `None`: cluster-wide.
    pub namespace: Option<String>,
    /// `None`: every object; otherwise only these names.
    pub names: Option<Vec<String>>,
    pub via: String,
}

impl Allowed {
    pub fn covers(&self, namespace: Option<&str>, name: &str) -> bool {
        let namespace_ok = match (&self.namespace, namespace) {
            (None, _) => true,
            (Some(granted), Some(ns)) => granted == ns,
            (Some(_), None) => false,
        };
        namespace_ok
            && self
                .names
                .as_ref()
                .is_none_or(|n| n.iter().any(|x| x == name))
    }

    /// `create pods/exec cluster-wide via ClusterRoleBinding x → ClusterRole y`.
    pub fn describe(&self, what: &str) -> String {
        let scope = match &self.namespace {
            None => "cluster-wide".to_string(),
            Some(ns) => format!("in namespace {ns}"),
        };
        let names = match &self.names {
            None => String::new(),
            Some(n) => format!(" (only {})", n.join(", ")),
        };
        format!("{what} {scope}{names} via {}", self.via)
    }
}

/// All bindings of a snapshot, indexed by subject.
#[derive(Debug, Default)]
pub(crate) struct Rbac {
    pub bindings: Vec<Binding>,
    by_subject: HashMap<String, Vec<usize>>,
    pub warnings: Vec<String>,
}

/// One permission a rule needs: (verbs, any of which will do; API group; resource).
pub(crate) type Need<'a> = (&'a [&'a str], &'a str, &'a str);

pub(crate) const SYSTEM_MASTERS: &str = "system:masters";

impl Rbac {
    pub fn from_objects(objects: &BTreeMap<String, Vec<Value>>) -> Rbac {
        let empty = Vec::new();
        let of = |plural: &str| objects.get(plural).unwrap_or(&empty);
        let mut roles: HashMap<String, Arc<[PolicyRule]>> = HashMap::new();
        for role in of("roles") {
            if let Some(name) = k8s::name(role) {
                let rules: Vec<_> = list(role, &["rules"])
                    .iter()
                    .map(PolicyRule::parse)
                    .collect();
                roles.insert(
                    format!("role:{}/{name}", k8s::namespace(role)),
                    rules.into(),
                );
            }
        }
        // Aggregated cluster roles: the API server fills their rules from the roles their
        // selectors pick; manifests leave them empty, so the union is computed here.
        let cluster_roles = of("clusterroles");
        for role in cluster_roles {
            let Some(name) = k8s::name(role) else {
                continue;
            };
            let mut rules: Vec<_> = list(role, &["rules"])
                .iter()
                .map(PolicyRule::parse)
                .collect();
            let selectors = list(role, &["aggregationRule", "clusterRoleSelectors"]);
            if rules.is_empty() && !selectors.is_empty() {
                for other in cluster_roles {
                    let labels = k8s::string_map(other, &["metadata", "labels"]);
                    if k8s::name(other) != Some(name)
                        && selectors.iter().any(|s| k8s::selector_matches(s, &labels))
                    {
                        rules.extend(list(other, &["rules"]).iter().map(PolicyRule::parse));
                    }
                }
            }
            roles.insert(format!("clusterrole:{name}"), rules.into());
        }

        let mut rbac = Rbac::default();
        for (plural, cluster_wide) in [("clusterrolebindings", true), ("rolebindings", false)] {
            for binding in of(plural) {
                let Some(binding_name) = k8s::name(binding) else {
                    continue;
                };
                let binding_ns = k8s::namespace(binding);
                let role_name = str_at(binding, &["roleRef", "name"]).unwrap_or("");
                let (role_key, role_label) = match str_at(binding, &["roleRef", "kind"]) {
                    Some("ClusterRole") => (
                        format!("clusterrole:{role_name}"),
                        format!("ClusterRole {role_name}"),
                    ),
                    Some("Role") if !cluster_wide => (
                        format!("role:{binding_ns}/{role_name}"),
                        format!("Role {binding_ns}/{role_name}"),
                    ),
                    other => {
                        rbac.warnings.push(format!(
                            "{plural} {binding_name}: roleRef kind {other:?} is not usable here"
                        ));
                        continue;
                    }
                };
                let Some(rules) = roles.get(&role_key).cloned() else {
                    rbac.warnings.push(format!(
                        "{plural} {binding_name}: {role_label} is not in the snapshot"
                    ));
                    continue;
                };
                let (namespace, via) = if cluster_wide {
                    (
                        None,
                        format!("ClusterRoleBinding {binding_name} → {role_label}"),
                    )
                } else {
                    (
                        Some(binding_ns.to_string()),
                        format!("RoleBinding {binding_ns}/{binding_name} → {role_label}"),
                    )
                };
                for subject in list(binding, &["subjects"]) {
                    let Some(name) = str_at(subject, &["name"]).filter(|n| !n.is_empty()) else {
                        continue;
                    };
                    let (kind, key, subject_ns) = match str_at(subject, &["kind"]) {
                        Some("ServiceAccount") => {
                            let ns = str_at(subject, &["namespace"])
                                .filter(|n| !n.is_empty())
                                .unwrap_or(if cluster_wide { "default" } else { binding_ns });
                            (
                                SubjectKind::ServiceAccount,
                                format!("sa:{ns}/{name}"),
                                Some(ns),
                            )
                        }
                        Some("User") => (SubjectKind::User, format!("user:{name}"), None),
                        Some("Group") => (SubjectKind::Group, format!("group:{name}"), None),
                        _ => continue,
                    };
                    let index = rbac.bindings.len();
                    rbac.by_subject.entry(key.clone()).or_default().push(index);
                    rbac.bindings.push(Binding {
                        subject: key,
                        subject_kind: kind,
                        subject_name: name.to_string(),
                        subject_namespace: subject_ns.map(str::to_string),
                        role: role_key.clone(),
                        namespace: namespace.clone(),
                        via: via.clone(),
                        rules: rules.clone(),
                    });
                }
            }
        }
        rbac
    }

    /// The graph keys whose bindings apply to an identity: a service account is also in
    /// `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`;
    /// a user in `system:authenticated`.
    pub fn effective_subjects(key: &str) -> Vec<String> {
        let mut keys = vec![key.to_string()];
        if let Some(rest) = key.strip_prefix("sa:") {
            let ns = rest.split('/').next().unwrap_or("");
            keys.push("group:system:serviceaccounts".into());
            keys.push(format!("group:system:serviceaccounts:{ns}"));
            keys.push("group:system:authenticated".into());
        } else if key.starts_with("user:") {
            keys.push("group:system:authenticated".into());
        }
        keys
    }

    /// Where any of `verbs` on `group`/`resource` is allowed for the identity `key`.
    pub fn allowed(&self, key: &str, verbs: &[&str], group: &str, resource: &str) -> Vec<Allowed> {
        let mut out = Vec::new();
        for subject in Self::effective_subjects(key) {
            for &index in self.by_subject.get(&subject).into_iter().flatten() {
                let binding = &self.bindings[index];
                for rule in binding.rules.iter() {
                    if verbs.iter().any(|v| rule.allows_verb(v))
                        && rule.allows_resource(group, resource)
                    {
                        let names = (!rule.names.is_empty()).then(|| rule.names.clone());
                        let allowed = Allowed {
                            namespace: binding.namespace.clone(),
                            names,
                            via: binding.via.clone(),
                        };
                        if !out.contains(&allowed) {
                            out.push(allowed);
                        }
                    }
                }
            }
        }
        out
    }

    /// Every allowed scope for all of `verbs` together (each verb allowed somewhere that
    /// covers the scope). Used for rules that need two verbs (`create` bindings + `bind`).
    pub fn allowed_all(
        &self,
        key: &str,
        needs: &[Need],
        namespace: Option<&str>,
    ) -> Option<Vec<String>> {
        let mut evidence = Vec::new();
        for (verbs, group, resource) in needs {
            let hit = self
                .allowed(key, verbs, group, resource)
                .into_iter()
                .find(|a| a.names.is_none() && a.covers(namespace, ""))?;
            evidence.push(hit.describe(&format!("{} {resource}", verbs.join("/"))));
        }
        Some(evidence)
    }

    /// A binding that makes the identity cluster-admin equivalent.
    pub fn cluster_admin(&self, key: &str) -> Option<String> {
        if key == format!("group:{SYSTEM_MASTERS}") {
            return Some(format!("member of {SYSTEM_MASTERS}"));
        }
        Self::effective_subjects(key).iter().find_map(|subject| {
            self.by_subject.get(subject)?.iter().find_map(|&index| {
                let binding = &self.bindings[index];
                (binding.namespace.is_none() && binding.rules.iter().any(PolicyRule::is_full))
                    .then(|| format!("* on */* cluster-wide via {}", binding.via))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_matching() {
        let rule = PolicyRule::parse(
            &json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/*"]}),
        );
        assert!(rule.allows_resource("", "pods/exec"));
        assert!(!rule.allows_resource("", "pods"));
        assert!(!rule.allows_resource("apps", "pods/exec"));
        let star =
            PolicyRule::parse(&json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(star.allows_resource("", "pods/exec") && star.is_full());
        let hostile =
            PolicyRule::parse(&json!({"verbs": "get", "apiGroups": [1, null], "resources": {}}));
        assert!(!hostile.allows_verb("get"));
    }
}
