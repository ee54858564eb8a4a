//! Benchmark driver (scripts/bench/kube-discover): fills the test API server with nodes
//! and pods, then times a Crowsnest snapshot against the same paginated lists made with a
//! plain kube client, and reports peak RSS.
//!
//! Usage: bench_snapshot ADMIN_KUBECONFIG READER_KUBECONFIG NODES PODS

use std::path::PathBuf;
use std::time::Instant;

use crowsnest_discover::kinds::KINDS;
use crowsnest_discover::{DiscoverOptions, Source, discover, targets};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use serde_json::json;

async fn client(path: &PathBuf) -> Client {
    let file = Kubeconfig::read_from(path).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

async fn populate(admin: &Client, nodes: usize, pods: usize) {
    let node_api: Api<Node> = Api::all(admin.clone());
    let have_nodes = node_api
        .list_metadata(&ListParams::default().labels("crowsnest-bench=1"))
        .await
        .unwrap()
        .items
        .len();
    futures::stream::iter(have_nodes..nodes)
        .map(|i| {
            let api = node_api.clone();
            async move {
                let node: Node = serde_json::from_value(json!({"metadata": {"name": format!("bench-node-{i}"),
                    "labels": {"crowsnest-bench": "1", "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}}}))
                .unwrap();
                api.create(&PostParams::default(), &node).await.map(|_| ())
            }
        })
        .buffer_unordered(16)
        .for_each(|r| async move { r.expect("create node") })
        .await;
    let ns = "bench";
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(admin.clone());
    if ns_api.get_opt(ns).await.unwrap().is_none() {
        let namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        ns_api
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        let sa_api: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(admin.clone(), ns);
        let sa = serde_json::from_value(json!({"metadata": {"name": "default"}})).unwrap();
        sa_api.create(&PostParams::default(), &sa).await.unwrap();
    }
    let pod_api: Api<Pod> = Api::namespaced(admin.clone(), ns);
    let have_pods = pod_api
        .list_metadata(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    futures::stream::iter(have_pods..pods)
        .map(|i| {
            let api = pod_api.clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({"metadata": {"name": format!("bench-pod-{i}"),
                    "labels": {"app": format!("app-{}", i % 50)}},
                    "spec": {"nodeName": format!("bench-node-{}", i % nodes.max(1)),
                             "containers": [{"name": "app", "image": format!("registry.test/app-{}:1.{}", i % 50, i % 7),
                                             "ports": [{"containerPort": 8080}],
                                             "env": [{"name": "MODE", "value": "production"}]}]}}))
                .unwrap();
                api.create(&PostParams::default(), &pod).await.map(|_| ())
            }
        })
        .buffer_unordered(16)
        .for_each(|r| async move { r.expect("create pod") })
        .await;
}

/// The same paginated lists discovery makes, with a plain client: no pacing, no slimming.
async fn plain_lists(reader: &Client, page_size: u32) -> usize {
    let mut total = 0;
    for spec in KINDS.iter().filter(|k| !k.optional) {
        let api_version = if spec.group.is_empty() {
            spec.version.to_string()
        } else {
            format!("{}/{}", spec.group, spec.version)
        };
        let resource = ApiResource {
            group: spec.group.into(),
            version: spec.version.into(),
            api_version,
            kind: spec.kind.into(),
            plural: spec.plural.into(),
        };
        let api: Api<DynamicObject> = Api::all_with(reader.clone(), &resource);
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(page_size);
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let page = if spec.read == crowsnest_discover::kinds::Read::MetadataOnly {
                let page = api.list_metadata(&params).await.expect("list");
                total += page.items.len();
                page.metadata.continue_
            } else {
                let page = api.list(&params).await.expect("list");
                total += page.items.len();
                page.metadata.continue_
            };
            token = page.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
    }
    total
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, admin, reader, nodes, pods] = args.as_slice() else {
        eprintln!("usage: bench_snapshot ADMIN_KUBECONFIG READER_KUBECONFIG NODES PODS");
        std::process::exit(2);
    };
    let (admin, reader) = (PathBuf::from(admin), PathBuf::from(reader));
    let (nodes, pods): (usize, usize) = (nodes.parse().unwrap(), pods.parse().unwrap());
    let start = Instant::now();
    populate(&client(&admin).await, nodes, pods).await;
    println!("populate: {:.1} s", start.elapsed().as_secs_f64());

    let options = DiscoverOptions::default();
    let reader_client = client(&reader).await;
    // Warm the API server's caches once so neither side pays for the first read.
    plain_lists(&reader_client, options.page_size).await;
    let start = Instant::now();
    let plain = plain_lists(&reader_client, options.page_size).await;
    let plain_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let snaps = discover(
        targets(Some(&reader), &Source::CurrentContext)
            .await
            .unwrap(),
        &options,
    )
    .await;
    let snapshot_secs = start.elapsed().as_secs_f64();
    let snap = &snaps[0];
    println!(
        "snapshot status: {}, gaps: {}",
        snap.status.label(),
        snap.gaps.len()
    );
    println!("objects: snapshot {} / plain {plain}", snap.object_count());
    println!(
        "nodes {} pods {}",
        snap.objects_of("nodes").len(),
        snap.objects_of("pods").len()
    );
    println!("plain paginated lists: {plain_secs:.2} s");
    println!(
        "crowsnest snapshot:    {snapshot_secs:.2} s ({:.2}x)",
        snapshot_secs / plain_secs
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
