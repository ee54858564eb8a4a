//! Tolerant readers for Kubernetes objects held as JSON. Snapshot objects come from a
//! cluster or from files a user gave us: any field may be missing or of the wrong type,
//! and every reader here answers "absent" rather than failing.

use std::collections::BTreeMap;

use serde_json::Value;

/// The value at `path`, if every step is an object field.
pub(crate) fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, step| v.get(step))
}

pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

pub(crate) fn bool_at(value: &Value, path: &[&str]) -> Option<bool> {
    get(value, path).and_then(Value::as_bool)
}

pub(crate) fn i64_at(value: &Value, path: &[&str]) -> Option<i64> {
    get(value, path).and_then(Value::as_i64)
}

/// The array at `path` (empty when absent or not an array).
pub(crate) fn list<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The strings of the array at `path`, skipping non-strings.
pub(crate) fn strings<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a str> {
    list(value, path).iter().filter_map(Value::as_str).collect()
}

/// A string map (labels, selectors); non-string values are skipped.
pub(crate) fn string_map(value: &Value, path: &[&str]) -> BTreeMap<String, String> {
    get(value, path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn name(object: &Value) -> Option<&str> {
    str_at(object, &["metadata", "name"]).filter(|n| !n.is_empty())
}

pub(crate) fn namespace(object: &Value) -> &str {
    str_at(object, &["metadata", "namespace"])
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
}

/// Whether a `LabelSelector` (`matchLabels` + `matchExpressions`) selects `labels`. An
/// empty selector selects everything; an operator this code does not know selects
/// nothing (never widen on doubt).
pub(crate) fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = string_map(selector, &["matchLabels"]);
    if match_labels.iter().any(|(k, v)| labels.get(k) != Some(v)) {
        return false;
    }
    list(selector, &["matchExpressions"]).iter().all(|expr| {
        let key = str_at(expr, &["key"]).unwrap_or("");
        let values = strings(expr, &["values"]);
        let value = labels.get(key);
        match str_at(expr, &["operator"]).unwrap_or("") {
            "In" => value.is_some_and(|v| values.contains(&v.as_str())),
            "NotIn" => value.is_none_or(|v| !values.contains(&v.as_str())),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    })
}

/// Whether a plain map selector (a Service's `spec.selector`) selects `labels`. An empty
/// map selects nothing: such a service has manually managed endpoints.
pub(crate) fn map_selects(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Normalizes a host path for comparisons: collapses repeated slashes, drops `.` steps
/// and a trailing slash. `..` steps are kept (the comparison then fails closed: such a
/// path is treated as naming nothing sensitive only if no prefix matches, and a
/// hostPath with `..` is reported as a warning by the caller).
pub(crate) fn normalize_host_path(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// `ancestor` is `path` or a directory above it.
pub(crate) fn is_same_or_parent(ancestor: &str, path: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// Capability names as the runtime uses them (`CAP_SYS_ADMIN` → `SYS_ADMIN`).
pub(crate) fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        assert!(selector_matches(&json!({}), &l));
        assert!(selector_matches(
            &json!({"matchLabels": {"app": "web"}}),
            &l
        ));
        assert!(!selector_matches(
            &json!({"matchLabels": {"app": "db"}}),
            &l
        ));
        let expr = |op: &str, values: &[&str]| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selector_matches(&expr("In", &["front", "x"]), &l));
        assert!(!selector_matches(&expr("NotIn", &["front"]), &l));
        assert!(selector_matches(&expr("Exists", &[]), &l));
        assert!(!selector_matches(&expr("DoesNotExist", &[]), &l));
        assert!(!selector_matches(&expr("Gt", &["1"]), &l));
        // Wrong types are read as absent, never as a panic.
        assert!(selector_matches(
            &json!({"matchLabels": {"app": 5}, "matchExpressions": "x"}),
            &l
        ));
        assert!(map_selects(&labels(&[("app", "web")]), &l));
        assert!(!map_selects(&labels(&[]), &l));
    }

    #[test]
    fn host_paths() {
        assert_eq!(
            normalize_host_path("//var//run/./docker.sock/"),
            "/var/run/docker.sock"
        );
        assert_eq!(normalize_host_path(""), "/");
        assert!(is_same_or_parent("/", "/etc"));
        assert!(is_same_or_parent("/var/lib", "/var/lib/kubelet/pods"));
        assert!(is_same_or_parent("/etc", "/etc"));
        assert!(!is_same_or_parent("/et", "/etc"));
        assert!(!is_same_or_parent("/etc/kubernetes", "/etc"));
        assert_eq!(capability("cap_sys_admin"), "SYS_ADMIN");
    }
}
