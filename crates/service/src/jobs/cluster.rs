//! `snapshot-cluster`: a read-only snapshot of one cluster, stored.

use crowsnest_discover::{ClusterStatus, DiscoverOptions, Source};
use crowsnest_store::{ClusterSnapshot, Store};

use super::JobError;
use crate::Service;

pub(super) async fn run(service: &Service, name: &str) -> Result<(), JobError> {
    let cluster = service
        .config
        .cluster(name)
        .ok_or_else(|| JobError::NotConfigured {
            what: "cluster",
            name: name.to_string(),
        })?;
    let fail = |reason: String| JobError::Cluster {
        cluster: name.to_string(),
        reason,
    };
    let source = if cluster.in_cluster {
        Source::InCluster
    } else if let Some(context) = &cluster.context {
        Source::Contexts(vec![context.clone()])
    } else {
        Source::CurrentContext
    };
    let mut targets = crowsnest_discover::targets(cluster.kubeconfig.as_deref(), &source)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let target = targets
        .pop()
        .ok_or_else(|| fail("the kubeconfig names no cluster".into()))?;
    // Discovery's future is not `Send` as the compiler sees it (a higher-ranked closure
    // inside the discover crate), so it cannot live in a spawned job task: it runs on a
    // blocking thread that drives it on this runtime.
    let runtime = tokio::runtime::Handle::current();
    let snapshot = tokio::task::spawn_blocking(move || {
        runtime.block_on(crowsnest_discover::discover_target(
            target,
            &DiscoverOptions::default(),
        ))
    })
    .await
    .map_err(|e| JobError::Task(e.to_string()))?;
    let status = snapshot.status.clone();
    let json = serde_json::to_value(&snapshot).map_err(|e| fail(e.to_string()))?;
    // Stored whatever the outcome, so the cluster page shows it; the store keeps the
    // previous placements when this snapshot listed no pods.
    let id = service
        .store
        .put_cluster_snapshot(&ClusterSnapshot {
            cluster_id: name.to_string(),
            taken: snapshot.taken_at,
            status: status.label().to_string(),
            snapshot: json,
        })
        .await?;
    tracing::info!(
        cluster = name,
        id,
        status = status.label(),
        objects = snapshot.object_count(),
        "cluster snapshot stored"
    );
    match &status {
        ClusterStatus::Ok | ClusterStatus::Partial { .. } => Ok(()),
        ClusterStatus::Forbidden { message }
        | ClusterStatus::AuthenticationFailed { message }
        | ClusterStatus::Unreachable { message, .. } => {
            Err(fail(format!("{}: {message}", status.label())))
        }
    }
}
