// Shared loader: `load_graph` is used by every graph command (paths, insights, query, ...).
//! `crowsnest paths` and `crowsnest insights`: the security graph of a snapshot (or
//! manifests), joined with the findings of the images its workloads run.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, bail};
use crowsnest_discover::{Origin, Snapshot};
use crowsnest_graph::{
    BuildOptions, ClusterInput, ImageFindings, PathOptions, SecurityGraph, attack_paths,
    choke_points,
};
use serde_json::Value;

use crate::args::{Format, GlobalArgs, GraphArgs, ImageOpts};
use crate::output::{self, Table};

fn load_snapshot(args: &GraphArgs) -> anyhow::Result<Snapshot> {
    match (&args.snapshot, args.manifests.is_empty()) {
        (Some(path), _) => Ok(Snapshot::read_from(path)?),
        (None, false) => Ok(crowsnest_discover::from_manifests(&args.manifests)?),
        (None, true) => {
            bail!("give --snapshot FILE (from `crowsnest discover`) or --manifests PATH")
        }
    }
}

/// Every container image a workload names (pods and controller templates alike).
fn image_references(snapshot: &Snapshot) -> BTreeSet<String> {
    fn walk(v: &Value, in_containers: bool, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if in_containers && let Some(Value::String(image)) = map.get("image") {
                    out.insert(image.clone());
                }
                for (k, child) in map {
                    let containers = matches!(
                        k.as_str(),
                        "containers" | "initContainers" | "ephemeralContainers"
                    );
                    walk(child, containers, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, in_containers, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for objects in snapshot.objects.values() {
        for o in objects {
            walk(o, false, &mut out);
        }
    }
    out
}

/// Scans each image the snapshot's workloads run; an image that cannot be scanned is
/// reported and left without findings.
async fn scan_images(
    snapshot: &Snapshot,
    args: &GraphArgs,
    global: &GlobalArgs,
) -> anyhow::Result<ImageFindings> {
    let mut findings = ImageFindings::new();
    if !args.scan_images {
        return Ok(findings);
    }
    let db = super::scan::open_db_at(&args.db, true, global).await?;
    let opts = ImageOpts {
        access: args.access.clone(),
        platform: "linux/amd64".into(),
        all_platforms: false,
        max_layer_size: 32768,
        parallel: None,
        cache_dir: None,
        no_cache: false,
    };
    for reference in image_references(snapshot) {
        match super::sbom::inventory_image(&reference, &opts, global).await {
            Ok((_, inventory)) => {
                let report = crowsnest_matcher::match_packages(
                    &db,
                    &inventory.packages,
                    inventory.distro.as_ref(),
                )
                .with_context(|| format!("matching {reference}"))?;
                findings.insert_reference(&reference, report.findings);
            }
            Err(e) => eprintln!("warning: image {reference} not scanned: {e:#}"),
        }
    }
    Ok(findings)
}

/// The security graph of the snapshot `args` names.
pub(crate) struct LoadedGraph {
    pub graph: SecurityGraph,
}

/// The shared loader of the graph commands: reads the snapshot (or manifests), scans the
/// workloads' images when asked, and builds the graph.
pub(crate) async fn load_graph(
    args: &GraphArgs,
    global: &GlobalArgs,
) -> anyhow::Result<LoadedGraph> {
    let snapshot = load_snapshot(args)?;
    let findings = scan_images(&snapshot, args, global).await?;
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: matches!(snapshot.origin, Origin::Manifests { .. }),
    };
    let graph = crowsnest_graph::build(&input, &findings, &BuildOptions::default());
    for w in &graph.warnings {
        tracing::warn!("{w}");
    }
    Ok(LoadedGraph { graph })
}

pub async fn paths(args: GraphArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let graph = load_graph(&args, global).await?.graph;
    let options = PathOptions {
        assume_breach: args.assume_breach,
        ..PathOptions::default()
    };
    let mut found = attack_paths(&graph, &options);
    found.truncate(args.limit);
    let chokes = choke_points(&graph, &found, 10);
    match args.format {
        Format::Json => {
            output::json(&serde_json::json!({ "paths": found, "chokePoints": chokes }))?
        }
        Format::Table => {
            let mut out = output::writer(None)?;
            if found.is_empty() {
                writeln!(out, "No attack paths found.")?;
            }
            for (i, p) in found.iter().enumerate() {
                writeln!(out, "{}. [score {:.0}] {}", i + 1, p.score, p.story)?;
                for s in &p.steps {
                    writeln!(out, "     fix: {}", s.remediation)?;
                }
            }
            if !chokes.is_empty() {
                writeln!(out, "\nChoke points (fix these first):")?;
                let mut t = Table::new(["PATHS BROKEN", "FIX"]);
                for c in &chokes {
                    t.row([c.paths_broken.to_string(), c.fix.clone()]);
                }
                t.write(&mut out)?;
            }
            out.flush()?;
        }
    }
    Ok(crate::exit::OK)
}

pub async fn insights(args: GraphArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let graph = load_graph(&args, global).await?.graph;
    match args.format {
        Format::Json => output::json(&graph.insights)?,
        Format::Table => {
            let mut t = Table::new(["INSIGHT", "RESOURCE", "EVIDENCE"]);
            for i in graph.insights.iter().take(args.limit.max(1) * 10) {
                t.row([
                    format!("{:?}", i.kind),
                    i.node_key.clone(),
                    i.evidence.join("; "),
                ]);
            }
            t.write(&mut output::writer(None)?)?;
        }
    }
    Ok(crate::exit::OK)
}
