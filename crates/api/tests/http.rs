//! The API over real HTTP on 127.0.0.1, against a real store: SQLite in a temporary
//! directory and PostgreSQL from the test bed (each test runs on both when the test
//! bed's PostgreSQL is configured).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crowsnest_api::{ApiConfig, ApiOptions, ApiState, TriggerKind, auth};
use crowsnest_discover::snapshot::{Origin, Snapshot};
use crowsnest_model::finding::{
    Exploitability, Finding, FindingPackage, FixStatus, KevStatus, Priority,
};
use crowsnest_model::{Digest, Distro, Package, PackageKind, Severity};
use crowsnest_store::{
    AnyStore, Assessment, ClusterSnapshot, ImageSighting, Inventory, JobSpec, PgOptions, PgStore,
    SqliteStore, Store, TokenRole,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Server {
    base: String,
    client: reqwest::Client,
    read: String,
    admin: String,
    store: Arc<AnyStore>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), crowsnest_api::ApiError>>,
    _dir: tempfile::TempDir,
}

enum Backend {
    Sqlite,
    Postgres,
}

async fn open_store(backend: Backend, name: &str, dir: &std::path::Path) -> Option<AnyStore> {
    match backend {
        Backend::Sqlite => Some(AnyStore::Sqlite(SqliteStore::open_dir(dir).await.unwrap())),
        Backend::Postgres => {
            let url = crowsnest_testbed::var("CROWSNEST_TEST_POSTGRES_URL")?;
            let schema = format!("api_{name}");
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await
                .unwrap();
            let options = PgOptions {
                schema: Some(schema),
                max_connections: 16,
                ..PgOptions::default()
            };
            Some(AnyStore::Postgres(
                PgStore::connect(&url, &options).await.unwrap(),
            ))
        }
    }
}

async fn start(
    backend: Backend,
    name: &str,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
) -> Option<Server> {
    start_with(backend, name, tls, |_| {}).await
}

/// The client address a trusted proxy of the test servers connects from (any 127/8
/// address reaches a server on 127.0.0.1).
const PROXY: &str = "127.0.0.3";

async fn start_with(
    backend: Backend,
    name: &str,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    configure: impl FnOnce(&mut ApiConfig),
) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_store(backend, name, dir.path()).await?);
    let read = auth::generate_token().unwrap();
    let admin = auth::generate_token().unwrap();
    store
        .create_api_token("reader", TokenRole::Read, &auth::token_hash(&read))
        .await
        .unwrap();
    store
        .create_api_token("admin", TokenRole::Admin, &auth::token_hash(&admin))
        .await
        .unwrap();
    let mut config = ApiConfig::new(dir.path().to_path_buf());
    config.settings = json!({
        "listen": "127.0.0.1:8080",
        "registries": [{"url": "https://robot:hunter2@registry.test", "passwordEnv": "REG_PASSWORD"}],
    });
    config.trigger = Some(Arc::new(|kind: TriggerKind, target: &str| {
        match (kind, target) {
            (TriggerKind::ClusterSnapshot, "prod") => Ok(JobSpec::new(
                "snapshot-cluster",
                "prod",
                json!({"cluster": "prod"}),
            )),
            (TriggerKind::RegistryPoll, "https://registry.test") => Ok(JobSpec::new(
                "poll-registry",
                "https://registry.test",
                json!({}),
            )),
            _ => Err(format!("no configured target {target:?}")),
        }
    }));
    config.rescan = Some(Arc::new(
        |registry_url: &str, repository: &str, digest: &Digest| match registry_url {
            "https://registry.test" => Ok(JobSpec::new(
                "scan-image",
                digest.to_string(),
                json!({"repository": repository}),
            )),
            _ => Err(format!("no registry {registry_url:?}")),
        },
    ));
    config.clients.trusted_proxies = vec![format!("{PROXY}/32").parse().unwrap()];
    configure(&mut config);
    let state = ApiState::new(Arc::clone(&store), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let https = tls.is_some();
    let mut client = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some((cert, _)) = &tls {
        // The test CA sits next to the server certificate.
        let pem = std::fs::read(cert.with_file_name("ca.pem")).unwrap();
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    let options = ApiOptions {
        listen: addr,
        tls,
        shutdown_grace: Duration::from_secs(5),
    };
    let done = tokio::spawn(crowsnest_api::serve_on(
        listener,
        options,
        state,
        async move {
            let _ = stopped.await;
        },
    ));
    let base = if https {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    Some(Server {
        base,
        client: client.build().unwrap(),
        read,
        admin,
        store,
        stop: Some(stop),
        done,
        _dir: dir,
    })
}

impl Server {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(path, Some(&self.read)).await
    }

    async fn get_as(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let response = r.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("graceful shutdown within 10 s")
            .unwrap()
            .unwrap();
    }
}

/// Every 4xx/5xx body has exactly the one error shape.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    let e = &body["error"];
    assert!(e["code"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
}

const D_WEB: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const D_JOB: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn finding(i: usize, kev: bool) -> Finding {
    Finding {
        id: format!("CVE-2024-{i:05}"),
        aliases: vec![],
        package: FindingPackage {
            name: format!("pkg{i}"),
            version: "1.0".into(),
            kind: if i.is_multiple_of(2) {
                PackageKind::Deb
            } else {
                PackageKind::Python
            },
            purl: format!("pkg:deb/debian/pkg{i}@1.0"),
            ecosystem: "Debian:12".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "1.0".into(),
        fixed_versions: if i.is_multiple_of(3) {
            vec![]
        } else {
            vec!["1.1".into()]
        },
        fix_status: if i.is_multiple_of(3) {
            FixStatus::NoFixAvailable
        } else {
            FixStatus::FixAvailable
        },
        severity: [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ][i % 4],
        severity_source: None,
        cvss: None,
        summary: Some(format!("flaw {i}")),
        references: vec![],
        exploitability: Exploitability {
            in_kev: kev,
            exploit_published: kev,
            kev: kev.then(|| KevStatus {
                date_added: "2024-01-01".into(),
                due_date: None,
                ransomware: false,
            }),
            ..Default::default()
        },
        priority: Priority {
            score: 50.0,
            reasons: vec![],
        },
        advisories: vec![format!("DSA-{i}")],
    }
}

fn pod(ns: &str, name: &str, digest: &str, exposed: bool) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "uid": format!("uid-{ns}-{name}"), "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": format!("registry.test/shop/{name}:1"),
                                  "securityContext": {"privileged": exposed}}],
                 "serviceAccountName": "default", "nodeName": "node-1"},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "main", "imageID": format!("registry.test/shop/{name}@{digest}")}]}
    });
    if exposed {
        p["spec"]["hostNetwork"] = json!(true);
    }
    p
}

fn snapshot(pods: Vec<Value>, taken: time::OffsetDateTime) -> ClusterSnapshot {
    let mut s = Snapshot::new(
        "prod".into(),
        Origin::Cluster {
            context: "prod".into(),
            server: "https://prod.example:6443".into(),
        },
    );
    s.taken_at = taken;
    s.objects.insert("pods".into(), pods);
    s.objects.insert(
        "services".into(),
        vec![json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "shop", "name": "web"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}})],
    );
    ClusterSnapshot {
        cluster_id: "prod".into(),
        taken,
        status: "ok".into(),
        snapshot: serde_json::to_value(&s).unwrap(),
    }
}

/// Two images in one registry, assessed (web: 12 findings, 3 in KEV; job: 4), running
/// in namespaces shop and batch of cluster prod (two snapshots).
async fn populate(store: &AnyStore) -> (i64, i64) {
    let reg = store
        .upsert_registry("https://registry.test")
        .await
        .unwrap();
    let repo = store.upsert_repository(reg, "shop/web").await.unwrap();
    let jobs = store.upsert_repository(reg, "shop/job").await.unwrap();
    for (repo, d, tags, n) in [
        (repo, D_WEB, vec!["1", "latest"], 12),
        (jobs, D_JOB, vec!["2"], 4),
    ] {
        let digest: Digest = d.parse().unwrap();
        store
            .record_image(
                repo,
                &ImageSighting {
                    digest: digest.clone(),
                    media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                    platform: Some("linux/amd64".into()),
                    created: Some(time::macros::datetime!(2024-05-01 10:00 UTC)),
                    pushed: Some(time::macros::datetime!(2024-06-01 10:00 UTC)),
                    tags: tags.into_iter().map(String::from).collect(),
                },
            )
            .await
            .unwrap();
        let packages: Vec<Package> = (0..n)
            .map(|i| Package {
                kind: PackageKind::Deb,
                name: format!("pkg{i}"),
                version: "1.0".into(),
                epoch: None,
                arch: Some("amd64".into()),
                source: None,
                purl: format!("pkg:deb/debian/pkg{i}@1.0?arch=amd64"),
                licenses: vec!["MIT".into()],
                layer: None,
                evidence: vec![],
                identity: None,
            })
            .collect();
        store
            .put_inventory(
                &digest,
                &Inventory {
                    cataloger_version: "c1".into(),
                    distro: Some(Distro {
                        id: "debian".into(),
                        version_id: "12".into(),
                        codename: None,
                        pretty_name: None,
                    }),
                    packages,
                    created: None,
                },
            )
            .await
            .unwrap();
        store
            .put_assessment(
                &digest,
                &Assessment {
                    cataloger_version: "c1".into(),
                    feed_version: "feed-1".into(),
                    assessed: time::macros::datetime!(2024-06-02 10:00 UTC),
                    findings: (0..n).map(|i| finding(i, d == D_WEB && i < 3)).collect(),
                },
            )
            .await
            .unwrap();
    }
    let first = store
        .put_cluster_snapshot(&snapshot(
            vec![pod("shop", "web", D_WEB, false)],
            time::macros::datetime!(2024-06-03 10:00 UTC),
        ))
        .await
        .unwrap();
    let second = store
        .put_cluster_snapshot(&snapshot(
            vec![
                pod("shop", "web", D_WEB, true),
                pod("batch", "job", D_JOB, false),
            ],
            time::macros::datetime!(2024-06-03 11:00 UTC),
        ))
        .await
        .unwrap();
    (first, second)
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let s = super::start(super::Backend::Sqlite, stringify!($name), None).await.unwrap();
                super::$name(s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(s) = super::start(super::Backend::Postgres, stringify!($name), None).await {
                    super::$name(s).await;
                }
            }
        }
    )*};
}

/// The explorer's bounds hold for read tokens (issue 22): rows are cut off, too many held
/// matches and too long a run are refused, and one token runs at most `per_token`
/// queries at once while another token is not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explorer_limits_hold_for_read_tokens() {
    let s = start_with(Backend::Sqlite, "explorer_limits", None, |c| {
        c.query_limits = crowsnest_api::QueryLimits {
            timeout: Duration::from_secs(3),
            max_rows: 3,
            max_matches: 50,
            per_token: 1,
        };
    })
    .await
    .unwrap();
    populate(&s.store).await;
    let query = |token: &str, text: &str| {
        s.client
            .post(format!("{}/api/v1/explorer/query", s.base))
            .bearer_auth(token)
            .json(&json!({"query": text}))
            .send()
    };
    let r = query(&s.read, "MATCH (a) RETURN a.key").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["truncated"], true, "{v}");
    let r = query(&s.read, "MATCH (a), (b) RETURN DISTINCT a.key")
        .await
        .unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap();
    assert_error(st, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("50"), "names the bound: {v}");
    // A query that would run for ages: stopped at the time bound; while it runs, the
    // same token's next query is refused and another reader's is served.
    let endless = "MATCH (a), (b), (c), (d), (e), (f), (g) WHERE a.key = g.key AND a.key <> g.key RETURN a.key";
    // The running query must hold the token's one slot before a probe does: it gets a head
    // start, and if a probe still won the race (the long query was the one refused), it is
    // started again; bounded.
    let mut refused = None;
    let mut running = None;
    for _ in 0..5 {
        let attempt = tokio::spawn(query(&s.read, endless));
        tokio::time::sleep(Duration::from_millis(500)).await;
        while !attempt.is_finished() {
            let r = query(&s.read, "MATCH (p:Pod) RETURN p.name").await.unwrap();
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(r.json::<Value>().await.unwrap());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if refused.is_some() {
            running = Some(attempt);
            break;
        }
    }
    let running = running.expect("the long query ran while a probe was refused");
    let refused = refused.expect("a second concurrent query of one token is refused");
    assert_eq!(refused["error"]["code"], "too_many_queries", "{refused}");
    let other = query(&s.admin, "MATCH (p:Pod) RETURN p.name")
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another token is not held up"
    );
    let r = running.await.unwrap().unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap();
    assert_error(st, &v, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("time"), "{v}");
    // The slot is free again.
    assert_eq!(
        query(&s.read, "MATCH (p:Pod) RETURN p.name")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    s.stop().await;
}

mod console_api;
use console_api::*;

both_backends!(
    console_sessions,
    tokens_and_saved_queries,
    overview_agrees_with_the_other_endpoints,
    tagged_pod_images_join_their_findings,
    every_endpoint,
    authentication_and_roles,
    malformed_input_is_4xx_with_the_error_body,
    thousand_concurrent_reads,
    openapi_describes_every_route,
    quarantined_images_are_shown_and_retried,
);

/// An image whose scan job failed on its last attempt shows the failure (on the image and
/// in the status) until an admin retries it, which queues a new scan.
async fn quarantined_images_are_shown_and_retried(s: Server) {
    populate(&s.store).await;
    let reg = s
        .store
        .upsert_registry("https://registry.test")
        .await
        .unwrap();
    let repo = s.store.upsert_repository(reg, "shop/bad").await.unwrap();
    let bad: Digest = format!("sha256:{}", "c".repeat(64)).parse().unwrap();
    let sighting = ImageSighting {
        digest: bad.clone(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        platform: None,
        created: None,
        pushed: None,
        tags: vec!["evil".into()],
    };
    s.store.record_image(repo, &sighting).await.unwrap();
    let spec = JobSpec {
        max_attempts: 1,
        ..JobSpec::new("scan-image", bad.to_string(), json!({}))
    };
    s.store.enqueue(&spec).await.unwrap();
    let lease = s
        .store
        .claim("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.key, bad.to_string());
    let reason = "layer 3: 2,000,001 tar entries, limit 2,000,000";
    s.store
        .fail(&lease, reason, &crowsnest_store::RetryPolicy::default())
        .await
        .unwrap();

    let (status, image) = s.get(&format!("/api/v1/images/{bad}")).await;
    assert_eq!(status, StatusCode::OK, "{image}");
    assert_eq!(image["scanFailure"]["error"], reason);
    assert_eq!(image["scanFailure"]["attempts"], 1);
    let (_, web) = s.get(&format!("/api/v1/images/{D_WEB}")).await;
    assert_eq!(web["scanFailure"], Value::Null);
    let (_, status_body) = s.get("/api/v1/status").await;
    let listed = status_body["quarantinedImages"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{status_body}");
    assert_eq!(listed[0]["digest"], bad.to_string());
    assert_eq!(listed[0]["error"], reason);

    let retry = format!("/api/v1/images/{bad}/retry");
    let (code, body) = s.post(&retry, &s.read, json!({})).await;
    assert_error(code, &body, StatusCode::FORBIDDEN);
    let (code, body) = s.post(&retry, &s.admin, json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["kind"], "scan-image");
    assert_eq!(body["alreadyActive"], false);
    let queued = s
        .store
        .claim("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.key, bad.to_string());
    assert_eq!(queued.payload["repository"], "shop/bad");
    let unknown = format!("/api/v1/images/sha256:{}/retry", "d".repeat(64));
    let (code, body) = s.post(&unknown, &s.admin, json!({})).await;
    assert_error(code, &body, StatusCode::NOT_FOUND);
}

/// A pod that names its image by tag only (no digest, no `imageID`: a kubelet that has
/// not reported, or a cluster without one) gets the findings of the digest the registry
/// poll recorded for that tag; a tag no poll saw gets none.
async fn tagged_pod_images_join_their_findings(s: Server) {
    populate(&s.store).await;
    let tag_only = |name: &str, tag: &str| {
        let mut p = pod("shop", name, D_WEB, false);
        p["spec"]["containers"][0]["image"] = json!(format!("registry.test/shop/web:{tag}"));
        p.as_object_mut().unwrap().remove("status");
        p
    };
    s.store
        .put_cluster_snapshot(&snapshot(
            vec![tag_only("web", "1"), tag_only("stale", "9")],
            time::macros::datetime!(2024-06-03 12:00 UTC),
        ))
        .await
        .unwrap();
    let (st, v) = s
        .get("/api/v1/insights?cluster=prod&kind=exploitableVulnerabilities")
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let subjects: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert!(
        subjects.iter().any(|i| i.contains("shop/web")),
        "the tagged web pod has the KEV findings of its digest: {v}"
    );
    assert!(
        !subjects.iter().any(|i| i.contains("shop/stale")),
        "a tag no poll recorded joins nothing: {v}"
    );
}

async fn every_endpoint(s: Server) {
    let (first, second) = populate(&s.store).await;
    // Open endpoints.
    let (st, v) = s.get_as("/healthz", None).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, v) = s.get_as("/readyz", None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["schemaVersion"],
        json!(crowsnest_store::schema::latest_version())
    );
    let (st, metrics) = s.get_as("/metrics", None).await;
    assert_eq!(st, StatusCode::OK);
    let metrics = metrics.as_str().unwrap().to_string();
    for series in [
        "crowsnest_findings{severity=\"critical\"} 4",
        "crowsnest_queue_jobs{state=\"ready\"} 0",
        "crowsnest_store_up 1",
        "crowsnest_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1",
        "crowsnest_scan_duration_seconds_count 0",
    ] {
        assert!(metrics.contains(series), "{series} missing in\n{metrics}");
    }

    // Clusters and snapshots.
    let (st, v) = s.get("/api/v1/clusters").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0]["clusterId"], "prod");
    assert_eq!(v["items"][0]["latestSnapshot"], second);
    assert_eq!(v["items"][0]["snapshots"], 2);
    let (st, v) = s.get("/api/v1/clusters/prod").await;
    assert_eq!(
        (st, v["latestSnapshot"].as_i64()),
        (StatusCode::OK, Some(second))
    );
    let (st, v) = s.get("/api/v1/clusters/nope").await;
    assert_error(st, &v, StatusCode::NOT_FOUND);
    let (st, v) = s.get("/api/v1/snapshots?limit=1").await;
    assert_eq!(v["items"][0]["id"], second, "{v}");
    let next = v["next"].as_str().unwrap().to_string();
    let (_, v2) = s
        .get(&format!("/api/v1/snapshots?limit=1&cursor={next}"))
        .await;
    assert_eq!(
        (st, v2["items"][0]["id"].as_i64(), &v2["next"]),
        (StatusCode::OK, Some(first), &Value::Null)
    );
    let (st, v) = s.get(&format!("/api/v1/snapshots/{second}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v["snapshot"]["objects"]["pods"].as_array().unwrap().len(),
        2
    );
    let (st, v) = s
        .get(&format!("/api/v1/snapshots/diff?from={first}&to={second}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["diff"]["added"][0]["key"], "batch/job", "{v}");
    assert_eq!(v["diff"]["changed"][0]["object"]["key"], "shop/web", "{v}");

    // Registries, repositories, images.
    let (_, v) = s.get("/api/v1/registries").await;
    assert_eq!(
        (
            v["items"][0]["url"].as_str(),
            v["items"][0]["repositories"].as_u64()
        ),
        (Some("https://registry.test"), Some(2))
    );
    let reg = v["items"][0]["id"].as_i64().unwrap();
    let (_, v) = s.get(&format!("/api/v1/repositories?registry={reg}")).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = s.get("/api/v1/images?limit=1").await;
    assert_eq!(v["items"][0]["digest"], D_WEB);
    assert_eq!(v["items"][0]["findings"], 12);
    let (_, v) = s.get(&format!("/api/v1/images/{D_WEB}")).await;
    assert_eq!(v["locations"][0]["tags"], json!(["1", "latest"]), "{v}");
    assert_eq!(v["locations"][0]["lastPushed"], "2024-06-01T10:00:00Z");
    assert_eq!(v["runningIn"][0]["namespace"], "shop", "{v}");
    assert_eq!(v["assessment"]["bySeverity"]["critical"], 3);
    let response = s
        .client
        .get(format!("{}/api/v1/images/{D_WEB}/sbom", s.base))
        .bearer_auth(&s.read)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let sbom: Value = response.json().await.unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let components = sbom["components"].as_array().unwrap();
    assert_eq!(
        components.iter().filter(|c| c["type"] == "library").count(),
        12,
        "{sbom}"
    );
    assert!(
        components
            .iter()
            .any(|c| c["type"] == "operating-system" && c["name"] == "debian")
    );

    // Findings with filters and pages (Link header included).
    let response = s
        .client
        .get(format!(
            "{}/api/v1/findings?limit=5&severity=critical,high",
            s.base
        ))
        .bearer_auth(&s.read)
        .send()
        .await
        .unwrap();
    let link = response
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        link.contains("rel=\"next\"") && link.contains("severity=critical%2Chigh"),
        "{link}"
    );
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    let (_, rest) = s
        .get(&format!(
            "/api/v1/findings?limit=5&severity=critical,high&cursor={}",
            v["next"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        rest["items"].as_array().unwrap().len(),
        3,
        "6 + 2 critical/high in all"
    );
    let count = |q: &'static str| {
        let s = &s;
        async move {
            s.get(&format!("/api/v1/findings?limit=1000&{q}")).await.1["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("kev=true").await, 3);
    assert_eq!(count("exploit=false").await, 13);
    assert_eq!(count("fixStatus=NoFixAvailable").await, 4 + 2);
    assert_eq!(count("package=pkg1").await, 2);
    assert_eq!(count("cve=CVE-2024-00002").await, 2);
    assert_eq!(
        count(concat!(
            "image=",
            "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        ))
        .await,
        4
    );
    assert_eq!(count("namespace=batch").await, 4);
    assert_eq!(count("namespace=shop&cluster=prod&kev=true").await, 3);

    // Defender-shaped assessments.
    let (_, v) = s.get("/api/v1/assessments").await;
    assert_eq!(v["items"][0]["status"]["code"], "Unhealthy");
    let (_, v) = s.get(&format!("/api/v1/assessments/{D_WEB}")).await;
    assert_eq!(
        v["displayName"],
        "Container registry images should have vulnerability findings resolved"
    );
    let (st, v) = s
        .get(&format!(
            "/api/v1/assessments/{D_WEB}/subAssessments?kev=true"
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sub = &v["items"][0];
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert_eq!(sub["status"]["severity"], "Critical");
    let data = &sub["additionalData"];
    assert_eq!(data["artifactDetails"]["repositoryName"], "shop/web");
    assert_eq!(data["artifactDetails"]["registryHost"], "registry.test");
    assert_eq!(data["softwareDetails"]["fixStatus"], "NoFixAvailable");
    assert_eq!(data["softwareDetails"]["category"], "OS");
    assert_eq!(
        data["vulnerabilityDetails"]["exploitabilityAssessment"]["exploitStepsVerified"],
        true
    );

    // The security graph.
    let (st, v) = s.get("/api/v1/insights?cluster=prod").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(!v["items"].as_array().unwrap().is_empty(), "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["cluster"] == "prod")
    );
    let (st, v) = s.get("/api/v1/attack-paths").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s.get("/api/v1/recommendations").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "imageVulnerabilities"),
        "{v}"
    );
    // Explorer queries are reads (issue 22): a read token runs templates and queries.
    let (_, v) = s.get("/api/v1/explorer/templates").await;
    let template = v["items"][0]["name"].as_str().unwrap().to_string();
    let (st, v) = s
        .post(
            "/api/v1/explorer/query",
            &s.read,
            json!({"template": template}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "a read token runs a template: {v}");
    let (st, v) = s
        .post(
            "/api/v1/explorer/query",
            &s.read,
            json!({"query": "MATCH (p:Pod) RETURN p.name AS name ORDER BY name"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["rows"], json!([["job"], ["web"]]));
    let (st, v) = s
        .post(
            "/api/v1/explorer/query",
            &s.admin,
            json!({"query": "MATCH (p:Pod RETURN"}),
        )
        .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = s
        .post(
            "/api/v1/explorer/query",
            &s.admin,
            json!({"query": "MATCH (p:Pod) DELETE p"}),
        )
        .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);

    // Settings never show a credential.
    let (_, v) = s.get("/api/v1/settings").await;
    let text = v.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("REG_PASSWORD"),
        "{text}"
    );
    assert!(text.contains("registry.test"));

    // Jobs: admin triggers, everyone lists.
    let (st, v) = s
        .post(
            "/api/v1/jobs",
            &s.admin,
            json!({"kind": "cluster-snapshot", "target": "prod"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, again) = s
        .post(
            "/api/v1/jobs",
            &s.admin,
            json!({"kind": "cluster-snapshot", "target": "prod"}),
        )
        .await;
    assert_eq!(
        (again["id"].as_i64(), again["alreadyActive"].as_bool()),
        (Some(id), Some(true))
    );
    let (st, v) = s
        .post(
            "/api/v1/jobs",
            &s.admin,
            json!({"kind": "registry-poll", "target": "elsewhere"}),
        )
        .await;
    assert_error(st, &v, StatusCode::NOT_FOUND);
    let (_, v) = s.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(
        (v["kind"].as_str(), v["state"].as_str()),
        (Some("snapshot-cluster"), Some("queued"))
    );
    let (_, v) = s.get("/api/v1/jobs?state=queued").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = s.get("/api/v1/status").await;
    assert_eq!(v["queue"]["ready"], 1, "{v}");

    // ETags: the same answer again is 304.
    let response = s
        .client
        .get(format!("{}/api/v1/findings?kev=true", s.base))
        .bearer_auth(&s.read)
        .send()
        .await
        .unwrap();
    let etag = response.headers().get("etag").unwrap().clone();
    let again = s
        .client
        .get(format!("{}/api/v1/findings?kev=true", s.base))
        .bearer_auth(&s.read)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.text().await.unwrap().is_empty());
    let other = s
        .client
        .get(format!("{}/api/v1/findings?kev=false", s.base))
        .bearer_auth(&s.read)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    s.stop().await;
}

async fn authentication_and_roles(s: Server) {
    let (st, v) = s.get_as("/api/v1/findings", None).await;
    assert_error(st, &v, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .post(
            "/api/v1/jobs",
            &s.read,
            json!({"kind": "cluster-snapshot", "target": "prod"}),
        )
        .await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    let (st, _) = s.get_as("/api/v1/findings", Some(&s.admin)).await;
    assert_eq!(st, StatusCode::OK, "admin can read");
    // A revoked token stops working once the verification cache expires.
    let temp = auth::generate_token().unwrap();
    s.store
        .create_api_token("temp", TokenRole::Read, &auth::token_hash(&temp))
        .await
        .unwrap();
    assert_eq!(
        s.get_as("/api/v1/jobs", Some(&temp)).await.0,
        StatusCode::OK
    );
    assert!(s.store.revoke_api_token("temp").await.unwrap());
    tokio::time::sleep(auth::TOKEN_CACHE + Duration::from_millis(200)).await;
    assert_eq!(
        s.get_as("/api/v1/jobs", Some(&temp)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let used = s.store.api_tokens().await.unwrap();
    assert!(
        used.iter()
            .all(|t| t.name == "temp" || t.last_used.is_some()),
        "{used:?}"
    );
    assert!(!used.iter().any(|t| t.name == "temp"));

    // Failed attempts from one client are rate limited (issue 12 item 10). Two failed
    // above (no token, the revoked token).
    for i in 2..auth::MAX_FAILURES {
        let (st, v) = s
            .get_as("/api/v1/images", Some(&format!("cn_wrong{i}")))
            .await;
        assert_error(st, &v, StatusCode::UNAUTHORIZED);
    }
    let response = s
        .client
        .get(format!("{}/api/v1/images", s.base))
        .bearer_auth("cn_wrong-again")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_error(
        StatusCode::TOO_MANY_REQUESTS,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
    );
    // The locked-out address still gets in with a valid token, one not yet cached too.
    assert_eq!(s.get("/api/v1/images").await.0, StatusCode::OK);
    let fresh = auth::generate_token().unwrap();
    s.store
        .create_api_token("fresh", TokenRole::Read, &auth::token_hash(&fresh))
        .await
        .unwrap();
    assert_eq!(
        s.get_as("/api/v1/images", Some(&fresh)).await.0,
        StatusCode::OK
    );
    // Another address is not affected: its failures are its own.
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let other = from("127.0.0.2");
    let wrong = other
        .get(format!("{}/api/v1/images", s.base))
        .bearer_auth("cn_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A forwarding header from a client that is no trusted proxy is not believed...
    let spoofed = s
        .client
        .get(format!("{}/api/v1/images", s.base))
        .bearer_auth("cn_wrong")
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...from the trusted proxy it names the client: the proxy's clients are counted
    // apart, and one that fails too often does not block the others behind the proxy.
    let proxy = from(PROXY);
    let via_proxy = |client: &'static str| {
        proxy
            .get(format!("{}/api/v1/images", s.base))
            .bearer_auth("cn_wrong")
            .header("x-forwarded-for", client)
            .send()
    };
    for _ in 0..auth::MAX_FAILURES {
        assert_eq!(
            via_proxy("198.51.100.1").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        via_proxy("198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        via_proxy("198.51.100.2").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // The open endpoints stay open.
    assert_eq!(s.get_as("/healthz", None).await.0, StatusCode::OK);
    s.stop().await;
}

async fn malformed_input_is_4xx_with_the_error_body(s: Server) {
    populate(&s.store).await;
    let cases: &[(&str, StatusCode)] = &[
        (
            "/api/v1/findings?severity=catastrophic",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/findings?limit=0", StatusCode::BAD_REQUEST),
        (
            "/api/v1/findings?limit=99999999999",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/findings?limit=-1", StatusCode::BAD_REQUEST),
        ("/api/v1/findings?kev=maybe", StatusCode::BAD_REQUEST),
        ("/api/v1/findings?fixStatus=Soon", StatusCode::BAD_REQUEST),
        ("/api/v1/findings?cursor=garbage!!", StatusCode::BAD_REQUEST),
        (
            "/api/v1/findings?cursor=eyJrIjoiam9icyIsInYiOjF9",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/findings?image=sha256:zz", StatusCode::BAD_REQUEST),
        ("/api/v1/findings?image=md5:00", StatusCode::BAD_REQUEST),
        ("/api/v1/findings?unknown=1", StatusCode::BAD_REQUEST),
        (
            "/api/v1/findings?kev=true&kev=false",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/findings?package=%FF%FE", StatusCode::OK),
        ("/api/v1/images/not-a-digest", StatusCode::BAD_REQUEST),
        (
            "/api/v1/images/sha256:0000000000000000000000000000000000000000000000000000000000000000",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/images/%FF", StatusCode::BAD_REQUEST),
        (
            "/api/v1/images/sha256:0000000000000000000000000000000000000000000000000000000000000000/sbom",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/snapshots/abc", StatusCode::BAD_REQUEST),
        ("/api/v1/snapshots/0", StatusCode::BAD_REQUEST),
        ("/api/v1/snapshots/99999", StatusCode::NOT_FOUND),
        ("/api/v1/snapshots/diff?from=1", StatusCode::BAD_REQUEST),
        ("/api/v1/jobs/-4", StatusCode::BAD_REQUEST),
        ("/api/v1/jobs?state=sleeping", StatusCode::BAD_REQUEST),
        ("/api/v1/repositories?registry=x", StatusCode::BAD_REQUEST),
        ("/api/v1/insights?cluster=nowhere", StatusCode::NOT_FOUND),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND),
        ("/nothing", StatusCode::NOT_FOUND),
    ];
    for (path, expected) in cases {
        let (st, v) = s.get(path).await;
        if *expected == StatusCode::OK {
            assert_eq!(st, StatusCode::OK, "{path}: {v}");
        } else {
            assert!(st.is_client_error(), "{path}: {st} {v}");
            assert_error(st, &v, *expected);
        }
    }
    let url = |p: &str| format!("{}{p}", s.base);
    let admin = s.admin.clone();
    let send = |r: reqwest::RequestBuilder| {
        let r = r.bearer_auth(&admin);
        async move {
            let r = r.send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, v) = send(
        s.client
            .post(url("/api/v1/jobs"))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = send(
        s.client
            .post(url("/api/v1/jobs"))
            .json(&json!({"kind": "format-disk", "target": "x"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = send(
        s.client
            .post(url("/api/v1/jobs"))
            .json(&json!({"kind": "cluster-snapshot", "target": "prod", "extra": 1})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = send(
        s.client
            .post(url("/api/v1/jobs"))
            .body("kind=cluster-snapshot"),
    )
    .await;
    assert_error(st, &v, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!(
        "{{\"query\": \"{}\"}}",
        "x".repeat(crowsnest_api::MAX_BODY * 4)
    );
    // The server answers 413 without reading the rest and closes that connection: a
    // client of its own, so no pooled connection is reused after it.
    let once = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let (st, v) = send(
        once.post(url("/api/v1/explorer/query"))
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_error(st, &v, StatusCode::PAYLOAD_TOO_LARGE);
    let (st, v) = send(s.client.delete(url("/api/v1/findings"))).await;
    assert_error(st, &v, StatusCode::METHOD_NOT_ALLOWED);
    let (st, v) = send(
        s.client
            .post(url("/api/v1/explorer/query"))
            .json(&json!({"template": "no-such"})),
    )
    .await;
    assert_error(st, &v, StatusCode::NOT_FOUND);
    let (st, v) = send(
        s.client
            .post(url("/api/v1/explorer/query"))
            .json(&json!({"query": "MATCH (n) RETURN n", "template": "x"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    s.stop().await;
}

async fn thousand_concurrent_reads(s: Server) {
    populate(&s.store).await;
    let paths = [
        "/api/v1/findings?severity=critical",
        "/api/v1/images",
        &format!("/api/v1/images/{D_WEB}"),
        "/api/v1/findings?namespace=shop&limit=3",
        "/api/v1/clusters",
    ];
    let started = std::time::Instant::now();
    let requests = (0..1000).map(|i| {
        let url = format!("{}{}", s.base, paths[i % paths.len()]);
        let r = s.client.get(url).bearer_auth(&s.read);
        async move { r.send().await.map(|r| r.status()) }
    });
    let results =
        tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(requests))
            .await
            .expect("1,000 concurrent reads within 60 s");
    let ok = results
        .iter()
        .filter(|r| matches!(r, Ok(StatusCode::OK)))
        .count();
    let errors: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r, Ok(StatusCode::OK)))
        .take(3)
        .collect();
    assert_eq!(ok, 1000, "{errors:?}");
    eprintln!("1,000 concurrent reads in {:?}", started.elapsed());
    s.stop().await;
}

async fn openapi_describes_every_route(s: Server) {
    let (st, doc) = s.get_as("/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // The routes the router serves: each must be described, and each described one
    // must be served (a request reaches a handler, not the "no such endpoint" fallback).
    let served = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/api/v1/clusters",
        "/api/v1/clusters/{cluster}",
        "/api/v1/snapshots",
        "/api/v1/snapshots/diff",
        "/api/v1/snapshots/{id}",
        "/api/v1/registries",
        "/api/v1/repositories",
        "/api/v1/images",
        "/api/v1/images/{digest}",
        "/api/v1/images/{digest}/sbom",
        "/api/v1/images/{digest}/retry",
        "/api/v1/findings",
        "/api/v1/assessments",
        "/api/v1/assessments/{digest}",
        "/api/v1/assessments/{digest}/subAssessments",
        "/api/v1/insights",
        "/api/v1/attack-paths",
        "/api/v1/recommendations",
        "/api/v1/explorer/templates",
        "/api/v1/explorer/query",
        "/api/v1/settings",
        "/api/v1/status",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/session",
        "/api/v1/overview",
        "/api/v1/tokens",
        "/api/v1/tokens/{name}",
        "/api/v1/explorer/saved",
        "/api/v1/explorer/saved/{id}",
    ];
    let mut described: Vec<&str> = paths.keys().map(String::as_str).collect();
    described.sort();
    let mut expected = served.to_vec();
    expected.sort();
    assert_eq!(described, expected);
    for (path, ops) in paths {
        let concrete = path
            .replace("{digest}", D_WEB)
            .replace("{id}", "1")
            .replace("{cluster}", "prod");
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            let request = |token: Option<&str>| {
                let url = format!("{}{concrete}", s.base);
                let r = match method.as_str() {
                    "get" => s.client.get(url),
                    "post" => s.client.post(url).json(&json!({})),
                    "patch" => s.client.patch(url).json(&json!({})),
                    "delete" => s.client.delete(url),
                    other => panic!("unexpected method {other}"),
                };
                match token {
                    Some(t) => r.bearer_auth(t),
                    None => r,
                }
            };
            let r = request(Some(&s.admin)).send().await.unwrap();
            let st = r.status();
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("no such endpoint"),
                "{method} {path} is described but not served"
            );
            assert!(
                st.as_u16() < 500 || st == StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}: {st} {body}"
            );
            // (401 can still come from a handler: DELETE /session without a session.)
            assert_ne!(
                st,
                StatusCode::FORBIDDEN,
                "an admin token may do everything: {method} {path}: {body}"
            );
            // The documented role is the enforced one (issue 22). Anonymous requests are
            // failed authentications: after ten this client's get 429 instead of 401.
            let refused = |st: StatusCode| {
                st == StatusCode::UNAUTHORIZED || st == StatusCode::TOO_MANY_REQUESTS
            };
            let role = op["x-crowsnest-role"].as_str().unwrap_or("undocumented");
            let as_reader = request(Some(&s.read)).send().await.unwrap().status();
            let anonymous = request(None).send().await.unwrap().status();
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
                .collect();
            match role {
                "none" => {
                    assert_ne!(anonymous, StatusCode::UNAUTHORIZED, "{method} {path}");
                    assert!(schemes.is_empty(), "{method} {path}: {schemes:?}");
                }
                "read" => {
                    assert_ne!(
                        as_reader,
                        StatusCode::FORBIDDEN,
                        "{method} {path} is documented for readers"
                    );
                    assert!(refused(anonymous), "{method} {path}: {anonymous}");
                    assert_eq!(
                        schemes,
                        ["readToken", "adminToken", "session"],
                        "{method} {path}"
                    );
                }
                "admin" => {
                    assert_eq!(as_reader, StatusCode::FORBIDDEN, "{method} {path}");
                    assert!(refused(anonymous), "{method} {path}: {anonymous}");
                    assert_eq!(schemes, ["adminToken", "session"], "{method} {path}");
                }
                other => panic!("{method} {path}: x-crowsnest-role {other:?}"),
            }
        }
    }
    // What a request does decides, not its method: a query is a POST for readers, a
    // job trigger a POST for admins only.
    let role = |path: &str, method: &str| doc["paths"][path][method]["x-crowsnest-role"].clone();
    assert_eq!(role("/api/v1/explorer/query", "post"), "read");
    assert_eq!(role("/api/v1/jobs", "post"), "admin");
    s.stop().await;
}

/// HTTPS with a certificate generated for the test (openssl), and a client that trusts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serving_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key) = (dir.path().join("ca.pem"), dir.path().join("ca-key.pem"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let csr = dir.path().join("server.csr");
    let ext = dir.path().join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: Vec<&std::ffi::OsStr>| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    openssl(vec![
        os("req"),
        os("-x509"),
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:prime256v1"),
        os("-nodes"),
        os("-days"),
        os("1"),
        os("-subj"),
        os("/CN=crowsnest test CA"),
        os("-keyout"),
        ca_key.as_os_str(),
        os("-out"),
        ca.as_os_str(),
    ]);
    openssl(vec![
        os("req"),
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:prime256v1"),
        os("-nodes"),
        os("-subj"),
        os("/CN=localhost"),
        os("-keyout"),
        key.as_os_str(),
        os("-out"),
        csr.as_os_str(),
    ]);
    openssl(vec![
        os("x509"),
        os("-req"),
        os("-in"),
        csr.as_os_str(),
        os("-CA"),
        ca.as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("1"),
        os("-extfile"),
        ext.as_os_str(),
        os("-out"),
        cert.as_os_str(),
    ]);
    let s = start(Backend::Sqlite, "tls", Some((cert.clone(), key.clone())))
        .await
        .unwrap();
    let (st, v) = s.get("/api/v1/clusters").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // A plain-HTTP client on the TLS port gets nothing useful (and the server lives on).
    let plain = reqwest::Client::new()
        .get(s.base.replace("https://", "http://") + "/healthz")
        .send()
        .await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    assert_eq!(s.get_as("/healthz", None).await.0, StatusCode::OK);
    s.stop().await;

    // A key that does not go with the certificate is refused at start, naming the file.
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let state = ApiState::new(
        Arc::new(AnyStore::Sqlite(
            SqliteStore::open_dir(dir.path()).await.unwrap(),
        )),
        ApiConfig::new(dir.path().to_path_buf()),
    );
    let options = ApiOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some((cert, key.clone())),
        ..ApiOptions::default()
    };
    let err = crowsnest_api::serve(options, state, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&key.display().to_string()),
        "{err}"
    );
}
