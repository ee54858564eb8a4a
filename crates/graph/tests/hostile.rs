//! Snapshot objects are hostile input: any shape must build a graph (with warnings),
//! never panic, and the analyses must finish on it.

use std::collections::BTreeMap;

use crowsnest_graph::{
    BuildOptions, ClusterInput, ImageFindings, PathOptions, attack_paths, build, choke_points,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const KINDS: [&str; 12] = [
    "pods",
    "deployments",
    "cronjobs",
    "services",
    "ingresses",
    "networkpolicies",
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
    "secrets",
    "httproutes",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("*"),
            Just("s"),
            Just("/"),
            Just("pods/exec"),
            Just("Role"),
            Just("ClusterRole"),
            Just("ServiceAccount"),
            Just("LoadBalancer"),
            Just("")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("metadata"),
                    Just("name"),
                    Just("namespace"),
                    Just("spec"),
                    Just("containers"),
                    Just("securityContext"),
                    Just("privileged"),
                    Just("volumes"),
                    Just("hostPath"),
                    Just("path"),
                    Just("rules"),
                    Just("verbs"),
                    Just("resources"),
                    Just("apiGroups"),
                    Just("subjects"),
                    Just("roleRef"),
                    Just("kind"),
                    Just("selector"),
                    Just("template"),
                    Just("ownerReferences"),
                    Just("labels"),
                    Just("type")
                ]
                .prop_map(str::to_string),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn any_objects_build_and_analyse(objects in prop::collection::vec((0..KINDS.len(), json_value()), 0..12)) {
        let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (kind, value) in objects {
            map.entry(KINDS[kind].to_string()).or_default().push(value);
        }
        for manifest_mode in [false, true] {
            let input = ClusterInput { cluster_id: "c", objects: &map, manifest_mode };
            let graph = build(&input, &ImageFindings::new(), &BuildOptions::default());
            let paths = attack_paths(&graph, &PathOptions { assume_breach: true, ..PathOptions::default() });
            choke_points(&graph, &paths, 10);
        }
    }
}

#[test]
fn wrong_types_everywhere_are_skipped() {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    map.insert(
        "pods".into(),
        vec![
            json!(5),
            json!({"metadata": []}),
            json!({"metadata": {"name": "p"}, "spec": "x"}),
        ],
    );
    map.insert(
        "clusterrolebindings".into(),
        vec![json!({"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"}})],
    );
    let input = ClusterInput {
        cluster_id: "c",
        objects: &map,
        manifest_mode: true,
    };
    let graph = build(&input, &ImageFindings::new(), &BuildOptions::default());
    assert!(graph.find("pod:default/p").is_some());
    assert!(
        graph
            .warnings
            .iter()
            .any(|w| w.contains("without metadata.name")),
        "{:?}",
        graph.warnings
    );
    assert!(
        graph
            .warnings
            .iter()
            .any(|w| w.contains("clusterrolebindings b")),
        "{:?}",
        graph.warnings
    );
}
