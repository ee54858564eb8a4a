//! The security graph at scale: a synthetic cluster of 10,000 pods running 2,000 images
//! (see synthetic.rs). Targets (issue 6): graph build + insights + all attack paths under
//! 5 s; a template query under 200 ms.
//!
//! `cargo bench -p crowsnest-graph --bench scale`; results go to docs/benchmarks.md.

mod synthetic;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crowsnest_graph::query::{QueryEngine, QueryOptions, TEMPLATES, template};
use crowsnest_graph::{BuildOptions, ClusterInput, PathOptions, attack_paths, build};

const PODS: usize = 10_000;
const IMAGES: usize = 2_000;
const BUILD_TARGET: Duration = Duration::from_secs(5);
const QUERY_TARGET: Duration = Duration::from_millis(200);
/// The template the query target is measured with: a four-hop join filtered on insights
/// and vulnerability properties.
const TEMPLATE: &str = "exposed-pods-with-kev";

fn main() {
    let cluster = synthetic::cluster(PODS, IMAGES);
    let input = ClusterInput {
        cluster_id: "synthetic",
        objects: &cluster.objects,
        manifest_mode: false,
    };
    let options = BuildOptions::default();
    let query = template(TEMPLATE).expect("the benchmarked template").query;

    // One timed pass of each stage first, to say where the time goes.
    let started = Instant::now();
    let graph = build(&input, &cluster.findings, &options);
    let built = started.elapsed();
    let started = Instant::now();
    let paths = attack_paths(&graph, &PathOptions::default());
    let internet_paths = started.elapsed();
    let started = Instant::now();
    let breach = attack_paths(
        &graph,
        &PathOptions {
            assume_breach: true,
            ..PathOptions::default()
        },
    );
    let breach_paths = started.elapsed();
    let started = Instant::now();
    let engine = QueryEngine::new(&graph).with_findings(&cluster.findings);
    let prepared = started.elapsed();
    let started = Instant::now();
    let result = engine
        .query(query, &QueryOptions::default())
        .expect("template query");
    let queried = started.elapsed();
    println!(
        "synthetic cluster: {PODS} pods, {IMAGES} images → {} nodes, {} edges, {} insights",
        graph.nodes.len(),
        graph.edges.len(),
        graph.insights.len()
    );
    println!("one pass:");
    println!("  build + insights            {built:>10.2?}");
    println!(
        "  attack paths (Internet)     {internet_paths:>10.2?} ({} paths)",
        paths.len()
    );
    println!(
        "  attack paths (assume breach){breach_paths:>10.2?} ({} paths)",
        breach.len()
    );
    println!(
        "  build + insights + paths    {:>10.2?}  target < {BUILD_TARGET:?} (Internet entry)",
        built + internet_paths
    );
    println!("  query engine preparation    {prepared:>10.2?}");
    println!(
        "  template {TEMPLATE}: {queried:.2?} ({} rows)  target < {QUERY_TARGET:?}",
        result.rows.len()
    );

    println!("every template (engine prepared once):");
    for t in TEMPLATES {
        let started = Instant::now();
        let outcome = match engine.query(t.query, &QueryOptions::default()) {
            Ok(r) => format!("{} rows", r.rows.len()),
            Err(e) => format!("error: {e}"),
        };
        println!("  {:<42} {:>10.2?} ({outcome})", t.name, started.elapsed());
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .configure_from_args();
    c.bench_function("build + insights + attack paths (10k pods)", |b| {
        b.iter(|| {
            let g = build(black_box(&input), &cluster.findings, &options);
            black_box(attack_paths(&g, &PathOptions::default()))
        })
    });
    c.bench_function("template query exposed-pods-with-kev (10k pods)", |b| {
        b.iter(|| {
            let engine = QueryEngine::new(&graph).with_findings(&cluster.findings);
            black_box(engine.query(black_box(query), &QueryOptions::default()))
        })
    });
    c.final_summary();
}
