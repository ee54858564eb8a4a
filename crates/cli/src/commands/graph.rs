// Shared loader: `load_graph` is used by every graph command (paths, insights, query, ...).
//! `crowsnest paths` and `crowsnest insights`: the security graph of a snapshot (or
//! manifests), joined with the findings of the images its workloads run.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, bail};
use crowsnest_discover::{ClusterStatus, DiscoverOptions, Origin, Snapshot, Source};
use crowsnest_graph::{
    BuildOptions, ClusterInput, ImageFindings, PathOptions, SecurityGraph, attack_paths,
    choke_points,
};
use serde_json::Value;

use crate::args::{GlobalArgs, GraphArgs, GraphFormat, ImageOpts};
use crate::output::{self, Table};

/// The snapshot the graph commands work on: a saved one, manifests, or (with neither) the
/// live cluster of the kubeconfig's context, read through the API.
async fn load_snapshot(args: &GraphArgs) -> anyhow::Result<Snapshot> {
    if let Some(path) = &args.snapshot {
        return Ok(Snapshot::read_from(path)?);
    }
    if !args.manifests.is_empty() {
        return Ok(crowsnest_discover::from_manifests(&args.manifests)?);
    }
    let sel = &args.clusters;
    let source = if sel.in_cluster {
        Source::InCluster
    } else if sel.all_contexts {
        bail!("the graph commands read one cluster: give one --context, not --all-contexts")
    } else {
        match sel.contexts.as_slice() {
            [] => Source::CurrentContext,
            [one] => Source::Contexts(vec![one.clone()]),
            _ => bail!("the graph commands read one cluster: give one --context"),
        }
    };
    let targets = crowsnest_discover::targets(sel.kubeconfig.as_deref(), &source)
        .await
        .context("no --snapshot or --manifests given, so reading the live cluster")?;
    let snapshot = crowsnest_discover::discover(targets, &DiscoverOptions::default())
        .await
        .into_iter()
        .next()
        .context("the kubeconfig names no cluster")?;
    match &snapshot.status {
        ClusterStatus::Ok => {}
        ClusterStatus::Partial { .. } => {
            for g in &snapshot.gaps {
                eprintln!("warning: {} not read: {}", g.kind, g.message);
            }
        }
        status => bail!(
            "cluster {} could not be read: {}",
            snapshot.cluster_id,
            status.label()
        ),
    }
    Ok(snapshot)
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
        max_layers: 128,
        max_image_size: 65536,
        max_scan_time: 1800,
        cache_size: 4096,
        parallel: None,
        cache_dir: None,
        no_cache: false,
        maven_index: None,
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

/// The security graph of the snapshot `args` names, and the image findings joined into
/// it, their priority raised by the exposure and privileges of the workloads that run
/// them.
pub(crate) struct LoadedGraph {
    pub graph: SecurityGraph,
    pub findings: ImageFindings,
}

/// The shared loader of the graph commands: reads the snapshot (or manifests, or the
/// live cluster), scans the workloads' images when asked, and builds the graph.
pub(crate) async fn load_graph(
    args: &GraphArgs,
    global: &GlobalArgs,
) -> anyhow::Result<LoadedGraph> {
    let snapshot = load_snapshot(args).await?;
    let findings = scan_images(&snapshot, args, global).await?;
    let loaded = graph_with_runtime_priority(&snapshot, findings);
    for w in &loaded.graph.warnings {
        tracing::warn!("{w}");
    }
    Ok(loaded)
}

/// Builds the graph, re-scores each image's findings for where it runs
/// (`priority::reassess` with the image's runtime context), and rebuilds the graph with
/// the re-scored findings so everything shown from it carries the runtime priority.
fn graph_with_runtime_priority(snapshot: &Snapshot, mut findings: ImageFindings) -> LoadedGraph {
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: matches!(snapshot.origin, Origin::Manifests { .. }),
    };
    let options = BuildOptions::default();
    let graph = crowsnest_graph::build(&input, &findings, &options);
    if findings.is_empty() {
        return LoadedGraph { graph, findings };
    }
    findings.reprioritise(&graph, crowsnest_matcher::priority::reassess);
    let graph = crowsnest_graph::build(&input, &findings, &options);
    LoadedGraph { graph, findings }
}

/// `crowsnest paths`: ranked attack paths with stories, fixes and choke points.
pub async fn paths(args: GraphArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let LoadedGraph { graph, .. } = load_graph(&args, global).await?;
    let options = PathOptions {
        assume_breach: args.assume_breach,
        ..PathOptions::default()
    };
    let mut found = attack_paths(&graph, &options);
    found.truncate(args.limit);
    let chokes = choke_points(&graph, &found, 10);
    match args.format {
        GraphFormat::Dot => write_text(&crowsnest_graph::paths_dot(&graph, &found, &chokes))?,
        GraphFormat::Mermaid => {
            write_text(&crowsnest_graph::paths_mermaid(&graph, &found, &chokes))?
        }
        GraphFormat::Json => {
            output::json(&serde_json::json!({ "paths": found, "chokePoints": chokes }))?
        }
        GraphFormat::Table => {
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

fn write_text(text: &str) -> anyhow::Result<()> {
    let mut out = output::writer(None)?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn only_paths_draw(format: GraphFormat) -> anyhow::Result<()> {
    if matches!(format, GraphFormat::Dot | GraphFormat::Mermaid) {
        bail!("--format dot and mermaid draw attack paths: use them with `crowsnest paths`");
    }
    Ok(())
}

/// `crowsnest insights`: facts about workloads, identities and images, with evidence.
pub async fn insights(args: GraphArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    only_paths_draw(args.format)?;
    let LoadedGraph { graph, .. } = load_graph(&args, global).await?;
    if args.format == GraphFormat::Json {
        output::json(&graph.insights)?;
        return Ok(crate::exit::OK);
    }
    let mut t = Table::new(["INSIGHT", "RESOURCE", "EVIDENCE"]);
    for i in graph.insights.iter().take(args.limit.max(1) * 10) {
        t.row([
            format!("{:?}", i.kind),
            i.node_key.clone(),
            i.evidence.join("; "),
        ]);
    }
    t.write(&mut output::writer(None)?)?;
    Ok(crate::exit::OK)
}

/// `crowsnest recommendations`: what to fix, for running containers (most exposed
/// first), images and posture, each with its resources and the fix.
pub async fn recommendations(args: GraphArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    only_paths_draw(args.format)?;
    let LoadedGraph { graph, findings } = load_graph(&args, global).await?;
    let recs = crowsnest_graph::recommendations(&graph, &findings);
    if args.format == GraphFormat::Json {
        output::json(&recs)?;
        return Ok(crate::exit::OK);
    }
    let mut out = output::writer(None)?;
    if recs.is_empty() {
        writeln!(out, "No recommendations.")?;
    }
    for (i, r) in recs.iter().take(args.limit).enumerate() {
        let mut head = format!("{}. [{}] {}", i + 1, r.severity, r.title);
        if r.priority > 0.0 {
            head.push_str(&format!(" (priority {:.1})", r.priority));
        }
        writeln!(out, "{head}")?;
        if !r.findings_by_severity.is_empty() {
            let counts: Vec<String> = r
                .findings_by_severity
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            writeln!(out, "     findings: {}", counts.join(", "))?;
        }
        for res in &r.resources {
            writeln!(out, "     - {}", res.label)?;
            for d in &res.details {
                writeln!(out, "         {d}")?;
            }
        }
        writeln!(out, "     fix: {}", r.fix)?;
    }
    if recs.len() > args.limit {
        writeln!(
            out,
            "\n{} more (raise --limit or use --format json)",
            recs.len() - args.limit
        )?;
    }
    out.flush()?;
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crowsnest_graph::RecommendationKind;
    use crowsnest_model::finding::{
        Cvss, Exploitability, Finding, FindingPackage, FixStatus, Priority,
    };
    use crowsnest_model::{PackageKind, Severity};

    use super::*;

    /// A high, locally exploitable finding with a fix: 100 × 0.75 × 0.3 × 1.0 = 22.5
    /// before any runtime context.
    fn finding() -> Finding {
        let mut f = Finding {
            id: "CVE-2024-0001".into(),
            aliases: vec![],
            package: FindingPackage {
                name: "left-pad".into(),
                version: "1.0".into(),
                kind: PackageKind::Npm,
                purl: "pkg:npm/left-pad@1.0".into(),
                ecosystem: "npm".into(),
                layer: None,
                matched_source: None,
                identity: None,
            },
            installed_version: "1.0".into(),
            fixed_versions: vec!["1.3.0".into()],
            fix_status: FixStatus::FixAvailable,
            severity: Severity::High,
            severity_source: Some("CVSS_V3".into()),
            cvss: Some(Cvss {
                version: "3.1".into(),
                vector: "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                base_score: 7.5,
            }),
            summary: None,
            references: vec![],
            exploitability: Exploitability::default(),
            priority: Priority::default(),
            advisories: vec![],
        };
        f.priority = crowsnest_matcher::priority::assess(&f, None);
        f
    }

    #[test]
    fn the_same_finding_ranks_higher_in_the_exposed_privileged_workload() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios/recommend");
        let snapshot = crowsnest_discover::from_manifests(&[dir]).expect("scenario");
        let mut findings = ImageFindings::new();
        findings.insert_reference("registry.test/front:1", vec![finding()]);
        findings.insert_reference("registry.test/back:1", vec![finding()]);
        assert_eq!(finding().priority.score, 22.5);

        let loaded = graph_with_runtime_priority(&snapshot, findings);
        let recs = crowsnest_graph::recommendations(&loaded.graph, &loaded.findings);
        let ranked = |kind: RecommendationKind| -> Vec<(String, f64)> {
            recs.iter()
                .filter(|r| r.kind == kind)
                .map(|r| (r.resources[0].label.clone(), r.priority))
                .collect()
        };
        // Front: internet exposed (0.35) + privileged (0.2) + pod-creating identity (0.1)
        // + root (0.05), capped at 0.6: 22.5 × 1.6 = 36. Back keeps its 22.5.
        assert_eq!(
            ranked(RecommendationKind::RunningContainerVulnerabilities),
            vec![
                ("workload s/front".to_string(), 36.0),
                ("workload s/back".to_string(), 22.5),
            ]
        );
        assert_eq!(
            ranked(RecommendationKind::ImageVulnerabilities),
            vec![
                ("image registry.test/front:1".to_string(), 36.0),
                ("image registry.test/back:1".to_string(), 22.5),
            ]
        );
    }
}
