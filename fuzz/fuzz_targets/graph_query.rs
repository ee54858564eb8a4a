//! Graph query text: the lexer and parser must refuse any input with an error, never
//! panic; a query that parses runs on a small graph within its bounds.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use crowsnest_graph::query::{QueryEngine, QueryOptions, parse};
use crowsnest_graph::{BuildOptions, ClusterInput, ImageFindings, SecurityGraph, build};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fn graph() -> &'static SecurityGraph {
    static GRAPH: OnceLock<SecurityGraph> = OnceLock::new();
    GRAPH.get_or_init(|| {
        let mut objects = BTreeMap::new();
        objects.insert(
            "pods".to_string(),
            vec![json!({"metadata": {"name": "p", "namespace": "s", "labels": {"app": "p"}},
                "spec": {"nodeName": "n1", "hostPID": true, "containers": [
                    {"name": "c", "image": "registry.test/app:1", "securityContext": {"privileged": true}}]}})],
        );
        objects.insert(
            "services".to_string(),
            vec![json!({"metadata": {"name": "p", "namespace": "s"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "p"}, "ports": [{"port": 80}]}})],
        );
        let input = ClusterInput {
            cluster_id: "fuzz",
            objects: &objects,
            manifest_mode: false,
        };
        build(&input, &ImageFindings::new(), &BuildOptions::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse(text) else {
        return;
    };
    let options = QueryOptions {
        timeout: Duration::from_millis(50),
        max_rows: 100,
        max_matches: 10_000,
    };
    let _ = QueryEngine::new(graph()).run(&query, &options);
});
