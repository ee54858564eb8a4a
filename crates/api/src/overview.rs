//! `GET /api/v1/overview`: the console's first page in one answer — each cluster's and
//! registry's freshness and status, the feeds' age, finding counts, the top attack paths
//! and choke points over every cluster, and what changed in each cluster since its
//! previous snapshot.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use crowsnest_graph::PathOptions;
use crowsnest_model::Severity;
use crowsnest_store::{ConsoleStore, Store, TargetKind, TargetStatus};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::ApiState;
use crate::error::HttpResult;
use crate::graphs::{load, paths_of};
use crate::handlers::{diff_snapshots, feed_age_seconds, opt_time, rfc3339};
use crate::params::Params;

/// Attack paths and choke points the overview shows.
const TOP_PATHS: usize = 5;
const TOP_CHOKE_POINTS: usize = 3;
/// Object ids listed per kind of change and cluster (the counts are complete).
const CHANGE_IDS: usize = 50;
/// Feeds older than this are stale (the default sync is daily: two missed syncs).
const STALE_FEEDS: time::Duration = time::Duration::hours(48);

/// `ok`, `failing` (the last attempt failed) or `pending` (never done yet).
fn status_word(status: Option<&TargetStatus>) -> &'static str {
    match status {
        Some(s) if s.consecutive_failures > 0 => "failing",
        Some(s) if s.last_success.is_some() => "ok",
        _ => "pending",
    }
}

fn statuses_of(all: &[TargetStatus], kind: TargetKind) -> BTreeMap<&str, &TargetStatus> {
    all.iter()
        .filter(|s| s.kind == kind)
        .map(|s| (s.id.as_str(), s))
        .collect()
}

pub(crate) async fn overview(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let store = state.store();
    let statuses = store.target_statuses().await?;
    let summaries = store.clusters().await?;

    // Clusters: the monitored ones and every one with a snapshot (uploaded by the CLI).
    let monitored = statuses_of(&statuses, TargetKind::Cluster);
    let mut names: Vec<&str> = monitored.keys().copied().collect();
    names.extend(summaries.iter().map(|c| c.cluster_id.as_str()));
    names.sort_unstable();
    names.dedup();
    let clusters: Vec<Value> = names
        .iter()
        .map(|name| {
            let status = monitored.get(name).copied();
            let summary = summaries.iter().find(|c| c.cluster_id == *name);
            json!({
                "name": name,
                "lastSnapshotAt": opt_time(summary.map(|c| c.taken).or(status.and_then(|s| s.last_success))),
                "nextSnapshotAt": opt_time(status.and_then(|s| s.next_attempt)),
                "status": if status.is_none() && summary.is_some() { "ok" } else { status_word(status) },
                "lastError": status.and_then(|s| s.last_error.as_deref()),
            })
        })
        .collect();
    let registries: Vec<Value> = statuses_of(&statuses, TargetKind::Registry)
        .into_iter()
        .map(|(name, status)| {
            json!({
                "name": name,
                "lastPollAt": opt_time(status.last_success),
                "nextPollAt": opt_time(status.next_attempt),
                "status": status_word(Some(status)),
                "lastError": status.last_error,
            })
        })
        .collect();
    let feed_status = statuses.iter().find(|s| s.kind == TargetKind::Feeds);
    let last_sync = feed_status.and_then(|s| s.last_success).or_else(|| {
        feed_age_seconds(&state)
            .map(|age| OffsetDateTime::now_utc() - time::Duration::seconds_f64(age))
    });
    let feeds = json!({
        "lastSyncAt": opt_time(last_sync),
        "nextSyncAt": opt_time(feed_status.and_then(|s| s.next_attempt)),
        "stale": last_sync.is_none_or(|t| OffsetDateTime::now_utc() - t > STALE_FEEDS),
        "status": status_word(feed_status),
        "lastError": feed_status.and_then(|s| s.last_error.as_deref()),
    });

    let counts = store.finding_counts().await?;
    let count = |s: Severity| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    let tallies = store.finding_tallies().await?;
    let findings = json!({
        "bySeverity": {
            "critical": count(Severity::Critical),
            "high": count(Severity::High),
            "medium": count(Severity::Medium),
            "low": count(Severity::Low) + count(Severity::Negligible),
            "unknown": count(Severity::Unknown),
        },
        "exploitable": tallies.exploitable,
        "fixable": tallies.fixable,
        "kev": tallies.kev,
    });

    let mut paths: Vec<Value> = Vec::new();
    let mut chokes: Vec<Value> = Vec::new();
    for loaded in load(&state, None).await? {
        let found = paths_of(&loaded, &PathOptions::default()).await?;
        paths.extend(found.paths_json(&loaded));
        chokes.extend(found.chokes.iter().filter(|c| c.paths_broken > 0).map(|c| {
            json!({
                "cluster": loaded.cluster_id,
                "target": c.target,
                "fix": c.fix,
                "pathsRemoved": c.paths_broken,
                "scoreRemoved": c.score_removed,
            })
        }));
    }
    let score = |v: &Value, key: &str| v[key].as_f64().unwrap_or(0.0);
    paths.sort_by(|a, b| score(b, "score").total_cmp(&score(a, "score")));
    paths.truncate(TOP_PATHS);
    chokes.sort_by(|a, b| {
        score(b, "pathsRemoved")
            .total_cmp(&score(a, "pathsRemoved"))
            .then(score(b, "scoreRemoved").total_cmp(&score(a, "scoreRemoved")))
    });
    chokes.truncate(TOP_CHOKE_POINTS);

    let mut changes = Vec::new();
    for c in &summaries {
        let recent = store
            .cluster_snapshots(Some(&c.cluster_id), None, 2)
            .await?;
        let [latest, previous] = recent.items.as_slice() else {
            continue;
        };
        let diff = diff_snapshots(&state, previous.id, latest.id).await?;
        let ids = |refs: &mut dyn Iterator<Item = &crowsnest_discover::diff::ObjectRef>| {
            refs.take(CHANGE_IDS)
                .map(|o| format!("{}/{}", o.kind, o.key))
                .collect::<Vec<_>>()
        };
        changes.push(json!({
            "cluster": c.cluster_id,
            "from": previous.id,
            "to": latest.id,
            "fromTakenAt": rfc3339(previous.taken),
            "toTakenAt": rfc3339(latest.taken),
            "added": {"count": diff.added.len(), "ids": ids(&mut diff.added.iter())},
            "removed": {"count": diff.removed.len(), "ids": ids(&mut diff.removed.iter())},
            "changed": {"count": diff.changed.len(), "ids": ids(&mut diff.changed.iter().map(|c| &c.object))},
        }));
    }

    Ok(Json(json!({
        "clusters": clusters,
        "registries": registries,
        "feeds": feeds,
        "findings": findings,
        "topPaths": paths,
        "topChokePoints": chokes,
        "changes": changes,
    })))
}
