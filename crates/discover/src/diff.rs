//! `snapshot diff A B`: objects added, removed and changed, with the changed fields.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::snapshot::{Snapshot, object_key};

/// Fields listed per changed object at most (the rest are counted).
const MAX_FIELDS_PER_OBJECT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Plural resource name.
    pub kind: String,
    /// `namespace/name` or `name`.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    pub object: ObjectRef,
    /// Dotted paths of the fields that differ (`spec.template.spec.containers[0].image`).
    pub fields: Vec<String>,
    /// Changed fields beyond those listed.
    pub more_fields: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDiff {
    pub added: Vec<ObjectRef>,
    pub removed: Vec<ObjectRef>,
    pub changed: Vec<Changed>,
}

impl SnapshotDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Fields that change on every write without a change of meaning.
fn ignored(path: &str) -> bool {
    matches!(
        path,
        "metadata.resourceVersion" | "metadata.managedFields" | "metadata.generation"
    )
}

/// Compares `old` with `new` kind by kind, objects matched by namespace and name.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let mut out = SnapshotDiff::default();
    let kinds: BTreeSet<&String> = old.objects.keys().chain(new.objects.keys()).collect();
    for kind in kinds {
        let index = |s: &'_ Snapshot| -> BTreeMap<String, Value> {
            s.objects_of(kind)
                .iter()
                .map(|o| (object_key(o), o.clone()))
                .collect()
        };
        let (before, after) = (index(old), index(new));
        for (key, new_object) in &after {
            let object = ObjectRef {
                kind: kind.clone(),
                key: key.clone(),
            };
            match before.get(key) {
                None => out.added.push(object),
                Some(old_object) => {
                    let mut fields = Vec::new();
                    let mut total = 0;
                    changed_fields(
                        old_object,
                        new_object,
                        &mut String::new(),
                        &mut fields,
                        &mut total,
                    );
                    if total > 0 {
                        out.changed.push(Changed {
                            object,
                            more_fields: total - fields.len(),
                            fields,
                        });
                    }
                }
            }
        }
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            out.removed.push(ObjectRef {
                kind: kind.clone(),
                key: key.clone(),
            });
        }
    }
    out
}

fn changed_fields(
    old: &Value,
    new: &Value,
    path: &mut String,
    out: &mut Vec<String>,
    total: &mut usize,
) {
    if ignored(path) || old == new {
        return;
    }
    let mut record = |path: &str| {
        *total += 1;
        if out.len() < MAX_FIELDS_PER_OBJECT {
            out.push(path.to_string());
        }
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => changed_fields(x, y, path, out, total),
                    _ if ignored(path) => {}
                    _ => {
                        *total += 1;
                        if out.len() < MAX_FIELDS_PER_OBJECT {
                            out.push(path.clone());
                        }
                    }
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                changed_fields(x, y, path, out, total);
                path.truncate(len);
            }
        }
        _ => record(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Origin;
    use serde_json::json;

    fn snap(pods: Vec<Value>) -> Snapshot {
        let mut s = Snapshot::new("c".into(), Origin::Manifests { paths: vec![] });
        s.objects.insert("pods".into(), pods);
        s
    }

    #[test]
    fn added_removed_changed_with_fields() {
        let a = snap(vec![
            json!({"metadata": {"name": "keep", "namespace": "n", "resourceVersion": "1"},
                   "spec": {"containers": [{"image": "a:1"}], "hostNetwork": false}}),
            json!({"metadata": {"name": "gone", "namespace": "n"}}),
            json!({"metadata": {"name": "same", "namespace": "n", "resourceVersion": "1"}}),
        ]);
        let b = snap(vec![
            json!({"metadata": {"name": "keep", "namespace": "n", "resourceVersion": "2", "labels": {"x": "y"}},
                   "spec": {"containers": [{"image": "a:2"}]}}),
            json!({"metadata": {"name": "new", "namespace": "n"}}),
            json!({"metadata": {"name": "same", "namespace": "n", "resourceVersion": "9"}}),
        ]);
        let d = diff(&a, &b);
        assert_eq!(
            d.added,
            vec![ObjectRef {
                kind: "pods".into(),
                key: "n/new".into()
            }]
        );
        assert_eq!(
            d.removed,
            vec![ObjectRef {
                kind: "pods".into(),
                key: "n/gone".into()
            }]
        );
        assert_eq!(d.changed.len(), 1, "{d:?}");
        assert_eq!(d.changed[0].object.key, "n/keep");
        assert_eq!(
            d.changed[0].fields,
            vec![
                "metadata.labels",
                "spec.containers[0].image",
                "spec.hostNetwork"
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }
}
