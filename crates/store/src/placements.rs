//! Where images run, read out of a stored cluster snapshot: one row per container of
//! every pod whose image digest is known. Kept in `image_placements` for each cluster's
//! latest snapshot, so "findings in namespace X" and "where does this image run" are
//! indexed look-ups instead of a walk through snapshot JSON.
//!
//! The snapshot is the discovery format (`objects.pods` holds Kubernetes Pod objects);
//! the digest comes from the container status' `imageID` (what the node actually
//! pulled), else from an `@sha256:` pinned image in the spec. Hostile or partial pods
//! are skipped, never an error: a snapshot is stored whatever it holds.

use std::collections::HashMap;

use crowsnest_model::Digest;
use serde_json::Value;

use crate::views::ImagePlacement;

/// The placements in `snapshot`, or `None` when it holds no pod list at all (a failed
/// snapshot, which must not erase what the previous one said was running).
pub(crate) fn placements(cluster_id: &str, snapshot: &Value) -> Option<Vec<ImagePlacement>> {
    let pods = snapshot.pointer("/objects/pods")?.as_array()?;
    let mut out = Vec::new();
    for pod in pods {
        let text = |p: &str| pod.pointer(p).and_then(Value::as_str);
        let (Some(namespace), Some(name)) = (text("/metadata/namespace"), text("/metadata/name"))
        else {
            continue;
        };
        let mut pulled: HashMap<&str, &str> = HashMap::new();
        for list in ["/status/containerStatuses", "/status/initContainerStatuses"] {
            for status in pod
                .pointer(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(c), Some(id)) = (
                    status.get("name").and_then(Value::as_str),
                    status.get("imageID").and_then(Value::as_str),
                ) {
                    pulled.insert(c, id);
                }
            }
        }
        for list in ["/spec/containers", "/spec/initContainers"] {
            for container in pod
                .pointer(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(c), Some(image)) = (
                    container.get("name").and_then(Value::as_str),
                    container.get("image").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let digest = pulled
                    .get(c)
                    .and_then(|id| digest_in(id))
                    .or_else(|| digest_in(image));
                if let Some(digest) = digest {
                    out.push(ImagePlacement {
                        cluster_id: cluster_id.to_string(),
                        namespace: namespace.to_string(),
                        pod: name.to_string(),
                        container: c.to_string(),
                        image: image.to_string(),
                        digest,
                    });
                }
            }
        }
    }
    Some(out)
}

/// The manifest digest at the end of an image string or `imageID`
/// (`docker-pullable://repo@sha256:…`, `repo@sha256:…`, `sha256:…`).
fn digest_in(s: &str) -> Option<Digest> {
    let start = s.rfind("sha256:")?;
    s[start..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn status_digest_wins_then_pinned_spec() {
        let snap = json!({"objects": {"pods": [
            {"metadata": {"namespace": "shop", "name": "web-1"},
             "spec": {"containers": [
                {"name": "web", "image": "reg/shop/web:1"},
                {"name": "side", "image": format!("reg/side@{D2}")},
                {"name": "unknown", "image": "reg/x:latest"}]},
             "status": {"containerStatuses": [
                {"name": "web", "imageID": format!("docker-pullable://reg/shop/web@{D1}")}]}},
            {"metadata": {"name": "no-namespace"}},
            "not an object",
            {"metadata": {"namespace": 7, "name": "bad"}}
        ]}});
        let p = placements("c1", &snap).unwrap();
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].digest.to_string(), D1);
        assert_eq!(
            (p[0].namespace.as_str(), p[0].container.as_str()),
            ("shop", "web")
        );
        assert_eq!(p[1].digest.to_string(), D2);
    }

    #[test]
    fn no_pod_list_is_none_and_garbage_is_skipped() {
        assert!(placements("c", &json!({"status": "unreachable"})).is_none());
        assert!(placements("c", &json!({"objects": {"pods": "x"}})).is_none());
        let bad = json!({"objects": {"pods": [{"metadata": {"namespace": "a", "name": "b"},
            "spec": {"containers": [{"name": "c", "image": "x@sha256:zz"}]}}]}});
        assert_eq!(placements("c", &bad).unwrap(), vec![]);
    }
}
