//! `crowsnest discover`, `crowsnest doctor` and `crowsnest snapshot diff`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use crowsnest_discover::{ClusterStatus, DiscoverOptions, Snapshot, Source};

use crate::args::{
    ClusterSelection, DiscoverArgs, DoctorArgs, Format, GlobalArgs, SnapshotDiffArgs,
};
use crate::output::{self, Table};

fn source(sel: &ClusterSelection) -> Source {
    if sel.in_cluster {
        Source::InCluster
    } else if sel.all_contexts {
        Source::AllContexts
    } else if !sel.contexts.is_empty() {
        Source::Contexts(sel.contexts.clone())
    } else {
        Source::CurrentContext
    }
}

/// A cluster that could not be snapshotted at all (the others still were).
fn failed(status: &ClusterStatus) -> bool {
    !matches!(status, ClusterStatus::Ok | ClusterStatus::Partial { .. })
}

fn snapshot_dir(data_dir: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    let base = data_dir
        .cloned()
        .or_else(crowsnest_feeds::default_data_dir)
        .context("no data directory: set --data-dir or HOME")?;
    Ok(base.join("snapshots"))
}

/// File-name-safe form of a cluster id (a UID, `server:<url>` or `manifests`).
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub async fn discover(args: DiscoverArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let snapshots: Vec<Snapshot> = if !args.manifests.is_empty() {
        vec![crowsnest_discover::from_manifests(&args.manifests)?]
    } else {
        let targets = crowsnest_discover::targets(
            args.clusters.kubeconfig.as_deref(),
            &source(&args.clusters),
        )
        .await?;
        let opts = DiscoverOptions {
            requests_per_second: args.qps.max(1),
            ..DiscoverOptions::default()
        };
        crowsnest_discover::discover(targets, &opts).await
    };
    if args.output.is_some() && snapshots.len() > 1 {
        bail!(
            "--output takes one cluster; {} were discovered (omit --output to save each under the data directory)",
            snapshots.len()
        );
    }
    let mut saved = Vec::new();
    for snap in &snapshots {
        let path = match &args.output {
            Some(p) => p.clone(),
            None => {
                let stamp = snap.taken_at.unix_timestamp();
                snapshot_dir(args.data_dir.as_ref())?
                    .join(file_safe(&snap.cluster_id))
                    .join(format!("{stamp}.json"))
            }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        snap.write_to(&path)?;
        saved.push(path);
    }
    match args.format {
        Format::Json if snapshots.len() == 1 => output::json(&snapshots[0])?,
        Format::Json => output::json(&snapshots)?,
        Format::Table => {
            let mut t = Table::new(["CLUSTER", "STATUS", "VERSION", "OBJECTS", "GAPS", "SAVED"]);
            for (snap, path) in snapshots.iter().zip(&saved) {
                let objects: usize = snap.objects.values().map(Vec::len).sum();
                let name = match &snap.origin {
                    crowsnest_discover::Origin::Cluster { context, .. } => context.clone(),
                    _ => snap.cluster_id.clone(),
                };
                t.row([
                    name,
                    snap.status.label().to_string(),
                    snap.version.clone().unwrap_or_default(),
                    objects.to_string(),
                    snap.gaps
                        .iter()
                        .map(|g| g.kind.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    path.display().to_string(),
                ]);
            }
            t.write(&mut output::writer(None)?)?;
            for snap in &snapshots {
                for g in &snap.gaps {
                    eprintln!(
                        "gap: {} {}: {:?}: {}",
                        snap.cluster_id, g.kind, g.reason, g.message
                    );
                }
            }
        }
    }
    Ok(if snapshots.iter().any(|s| failed(&s.status)) {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
}

pub async fn doctor(args: DoctorArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let targets =
        crowsnest_discover::targets(args.clusters.kubeconfig.as_deref(), &source(&args.clusters))
            .await?;
    let reports = crowsnest_discover::doctor(targets, &DiscoverOptions::default()).await;
    match args.format {
        Format::Json => output::json(&reports)?,
        Format::Table => {
            let mut out = output::writer(None)?;
            for r in &reports {
                let verdict = match (&r.unreachable, r.is_ok()) {
                    (Some(status), _) => format!("cannot check: {}", status.label()),
                    (None, true) => "ok: every permission discovery needs is granted".to_string(),
                    (None, false) => format!("{} permission(s) missing", r.missing.len()),
                };
                writeln!(out, "{} ({}): {verdict}", r.context, r.server)?;
                for p in &r.missing {
                    writeln!(out, "  missing: {p}")?;
                }
                for (p, e) in &r.errors {
                    writeln!(out, "  could not check {p}: {e}")?;
                }
                if let Some(yaml) = r.grant_yaml() {
                    writeln!(out, "\n  To grant what is missing, apply:\n")?;
                    for line in yaml.lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
            out.flush()?;
        }
    }
    Ok(if reports.iter().all(|r| r.is_ok()) {
        crate::exit::OK
    } else {
        crate::exit::POLICY
    })
}

pub fn diff(args: SnapshotDiffArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let a = Snapshot::read_from(&args.a)?;
    let b = Snapshot::read_from(&args.b)?;
    let d = crowsnest_discover::diff(&a, &b);
    match args.format {
        Format::Json => output::json(&d)?,
        Format::Table => {
            let mut t = Table::new(["CHANGE", "KIND", "OBJECT", "FIELDS"]);
            for o in &d.added {
                t.row(["added", o.kind.as_str(), o.key.as_str(), ""]);
            }
            for o in &d.removed {
                t.row(["removed", o.kind.as_str(), o.key.as_str(), ""]);
            }
            for c in &d.changed {
                let mut fields = c.fields.join(", ");
                if c.more_fields > 0 {
                    fields.push_str(&format!(" (+{} more)", c.more_fields));
                }
                t.row([
                    "changed".to_string(),
                    c.object.kind.clone(),
                    c.object.key.clone(),
                    fields,
                ]);
            }
            t.write(&mut output::writer(None)?)?;
        }
    }
    Ok(crate::exit::OK)
}
