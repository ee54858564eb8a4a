//! `crowsnest serve` and `crowsnest worker` against real parts: a private registry
//! (Debian's docker-registry with deletes enabled, started here; the test pushes and
//! deletes with skopeo, crowsnest only reads), the feeds of ../shared/feeds as a mirror
//! directory (the real sync runs), and SQLite or the test bed's PostgreSQL. Every wait is
//! bounded; a server left running is killed when its guard drops.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crowsnest_model::Digest;
use crowsnest_store::{AnyStore, PgOptions, PgStore, SqliteStore, Store, TargetKind};

const BIN: &str = env!("CARGO_BIN_EXE_crowsnest");

/// A child process killed (SIGKILL) when dropped, unless it already ended.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A registry of our own, so the test may push and delete without touching the shared
/// test bed's registries.
struct PrivateRegistry {
    host: String,
    _server: Guard,
}

impl PrivateRegistry {
    fn start(dir: &Path) -> PrivateRegistry {
        let port = free_port();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                dir.join("registry-data").display()
            ),
        )
        .unwrap();
        let server = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "docker-registry (Debian package docker-registry, installed by scripts/testenv/up)",
            );
        let host = format!("127.0.0.1:{port}");
        wait_for("the private registry", Duration::from_secs(30), || {
            std::net::TcpStream::connect(&host).ok()
        });
        PrivateRegistry {
            host,
            _server: Guard(server),
        }
    }

    /// Pushes a test-bed image (an OCI layout built by scripts/testenv) as `repo:tag`.
    fn push(&self, fixtures: &Path, image: &str, layout_tag: &str, repo: &str, tag: &str) {
        let status = Command::new("skopeo")
            .args([
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
            ])
            .arg(format!(
                "oci:{}:{layout_tag}",
                fixtures.join("oci").join(image).display()
            ))
            .arg(format!("docker://{}/{repo}:{tag}", self.host))
            .status()
            .unwrap();
        assert!(status.success(), "skopeo copy {image} -> {repo}:{tag}");
    }

    fn delete(&self, repo: &str, digest: &Digest) {
        let status = Command::new("skopeo")
            .args(["delete", "--tls-verify=false"])
            .arg(format!("docker://{}/{repo}@{digest}", self.host))
            .status()
            .unwrap();
        assert!(status.success(), "skopeo delete {repo}@{digest}");
    }
}

fn layout_digest(fixtures: &Path, image: &str) -> Digest {
    let tsv = std::fs::read_to_string(fixtures.join("images.tsv")).unwrap();
    tsv.lines()
        .find(|l| l.starts_with(&format!("crowsnest/{image}\t")))
        .and_then(|l| l.split('\t').nth(2))
        .unwrap()
        .parse()
        .unwrap()
}

/// One HTTP/1.1 GET on loopback (the test's own minimal client): status and body.
fn http_get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    // A chunked body arrives as size lines around the data: keep the data.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n).unwrap_or(tail));
            rest = tail.get(n..).unwrap_or("").trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

struct Setup {
    dir: tempfile::TempDir,
    fixtures: PathBuf,
    feeds: PathBuf,
    /// Where `serve` listens (loopback).
    api_port: u16,
}

fn setup() -> Option<Setup> {
    let fixtures = crowsnest_testbed::path("CROWSNEST_FIXTURES")?;
    Some(Setup {
        dir: tempfile::tempdir().unwrap(),
        fixtures,
        feeds: crowsnest_testbed::shared().join("feeds"),
        api_port: free_port(),
    })
}

impl Setup {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A configuration with fast schedules; `registries` is `(name, host)` polled over
    /// plain HTTP.
    fn config(&self, registries: &[(&str, &str)]) -> PathBuf {
        let mut text = format!(
            "data_dir = {:?}\nlisten = \"127.0.0.1:{}\"\nworkers = 2\n\
             [schedules]\nregistry_poll = \"2s\"\nretry_base = \"1s\"\nretry_max = \"4s\"\njob_lease = \"6s\"\n\
             [feeds]\nmirror = {:?}\n",
            self.data_dir(),
            self.api_port,
            self.feeds
        );
        for (name, host) in registries {
            text.push_str(&format!(
                "[[registries]]\nname = \"{name}\"\nurl = \"http://{host}\"\ninsecure = true\n"
            ));
        }
        let path = self.dir.path().join("crowsnest.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts `crowsnest <command> --config …` with JSON logs into `log`.
    fn start(&self, command: &str, config: &Path, log: &str, extra: &[&str]) -> Guard {
        let log = std::fs::File::create(self.dir.path().join(log)).unwrap();
        let child = Command::new(BIN)
            .args([command, "--config"])
            .arg(config)
            .args(extra)
            .env("HOME", self.dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Guard(child)
    }

    fn log(&self, name: &str) -> String {
        let mut s = String::new();
        std::fs::File::open(self.dir.path().join(name))
            .and_then(|mut f| f.read_to_string(&mut s))
            .unwrap_or_default();
        s
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn sqlite(data_dir: &Path) -> AnyStore {
    AnyStore::Sqlite(SqliteStore::open_dir(data_dir).await.unwrap())
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(guard: &mut Guard, limit: Duration) -> std::process::ExitStatus {
    wait_for("the process to exit", limit, || guard.0.try_wait().unwrap())
}

#[test]
fn serve_assesses_new_images_backs_off_a_dead_registry_and_drops_deleted_images() {
    let Some(s) = setup() else { return };
    let registry = PrivateRegistry::start(s.dir.path());
    registry.push(&s.fixtures, "app-bookworm", "1.0", "private/web", "1");
    let digest = layout_digest(&s.fixtures, "app-bookworm");
    let dead = format!("127.0.0.1:{}", free_port());
    let config = s.config(&[("good", &registry.host), ("dead", &dead)]);
    let mut server = s.start("serve", &config, "serve.log", &[]);
    let rt = rt();

    // The feeds sync, the poll and the scan all run unattended.
    let assessment = wait_for(
        "the pushed image's findings",
        Duration::from_secs(240),
        || {
            rt.block_on(async {
                let store = sqlite(&s.data_dir()).await;
                store.assessment(&digest).await.unwrap()
            })
        },
    );
    // The same findings as a one-off `crowsnest scan image` of the image against the
    // database the service synced.
    let cli = std::process::Command::new(BIN)
        .args([
            "scan",
            "image",
            "--offline",
            "--insecure",
            "-q",
            "--format",
            "json",
            "--data-dir",
        ])
        .arg(s.data_dir())
        .arg(format!("{}/private/web:1", registry.host))
        .env("HOME", s.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        cli.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let mut expected: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut stored: Vec<(String, String)> = assessment
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.package.name.clone()))
        .collect();
    expected.sort();
    stored.sort();
    assert!(
        stored.iter().any(|(id, _)| id == "CVE-2021-44228"),
        "the app image carries Log4Shell: {stored:?}"
    );
    assert_eq!(stored, expected);
    let image = rt.block_on(async { sqlite(&s.data_dir()).await.image(&digest).await.unwrap() });
    let location = &image.unwrap().locations[0];
    assert_eq!(
        (location.repository.as_str(), location.tags.clone()),
        ("private/web", vec!["1".to_string()])
    );

    // The same findings through the REST API of the running server (a read token minted
    // with the CLI), and the scan recorded in its metrics.
    let token = Command::new(BIN)
        .args(["token", "create", "e2e", "--role", "read", "--data-dir"])
        .arg(s.data_dir())
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8_lossy(&token.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("cn_"))
        .expect("the token is printed")
        .to_string();
    let (status, body) = http_get(
        s.api_port,
        &format!("/api/v1/findings?cve=CVE-2021-44228&image={digest}"),
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    let items = served["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{body}");
    assert!(body.contains("log4j-core"), "{body}");
    let (status, _) = http_get(s.api_port, "/api/v1/findings", None);
    assert_eq!(status, 401);
    let (status, metrics) = http_get(s.api_port, "/metrics", None);
    assert_eq!(status, 200);
    let scans: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("crowsnest_scan_duration_seconds_count "))
        .expect("scan duration histogram")
        .trim()
        .parse()
        .unwrap();
    assert!(scans >= 1.0, "{metrics}");

    // The dead registry is retried with backoff and its status says so; the good one is
    // healthy.
    let dead_status = wait_for(
        "two failures of the dead registry",
        Duration::from_secs(60),
        || {
            rt.block_on(async {
                let store = sqlite(&s.data_dir()).await;
                store
                    .target_statuses()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|t| {
                        t.kind == TargetKind::Registry
                            && t.id == dead
                            && t.consecutive_failures >= 2
                    })
            })
        },
    );
    assert!(dead_status.last_success.is_none());
    assert!(dead_status.next_attempt > dead_status.last_attempt);
    let error = dead_status.last_error.unwrap();
    assert!(error.contains(&dead), "{error}");
    let good = rt.block_on(async {
        let store = sqlite(&s.data_dir()).await;
        store.target_statuses().await.unwrap()
    });
    let good = good
        .iter()
        .find(|t| t.id == registry.host)
        .expect("status of the good registry");
    assert_eq!(good.consecutive_failures, 0, "{good:?}");
    assert!(good.last_success.is_some());

    // Deleted from the registry: gone from the results at the next poll.
    registry.delete("private/web", &digest);
    wait_for(
        "the deleted image to drop out",
        Duration::from_secs(60),
        || {
            rt.block_on(async {
                let store = sqlite(&s.data_dir()).await;
                store
                    .image(&digest)
                    .await
                    .unwrap()
                    .is_none_or(|i| i.locations.is_empty())
                    .then_some(())
            })
        },
    );

    // Graceful shutdown on SIGTERM, exit code 0.
    sigterm(&server.0);
    let status = wait_exit(&mut server, Duration::from_secs(40));
    let log = s.log("serve.log");
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("crowsnest serve stopped"), "{log}");
    // Every log line is JSON, and no line carries the registry password field or a
    // credential (there are none configured; the database is SQLite).
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
}

/// Waits for a `scan-image` job to start in the log, then kills the process.
fn kill_mid_scan(s: &Setup, guard: &mut Guard, log: &str) {
    wait_for("a scan to start", Duration::from_secs(240), || {
        let text = s.log(log);
        text.lines()
            .any(|l| l.contains("job started") && l.contains("scan-image"))
            .then_some(())
    });
    guard.0.kill().unwrap(); // SIGKILL: no cleanup of any kind runs
    guard.0.wait().unwrap();
}

#[test]
fn kill_9_of_serve_mid_scan_loses_nothing_and_the_scan_completes_after_restart() {
    let Some(s) = setup() else { return };
    let registry = PrivateRegistry::start(s.dir.path());
    registry.push(&s.fixtures, "debian-bookworm", "12", "private/base", "12");
    registry.push(&s.fixtures, "app-bookworm", "1.0", "private/app", "1.0");
    let digests = [
        layout_digest(&s.fixtures, "debian-bookworm"),
        layout_digest(&s.fixtures, "app-bookworm"),
    ];
    let config = s.config(&[("local", &registry.host)]);
    let mut first = s.start("serve", &config, "first.log", &["--workers", "1"]);
    kill_mid_scan(&s, &mut first, "first.log");

    let rt = rt();
    // What was stored before the kill is all there, readable and consistent.
    let before = rt.block_on(async {
        let store = sqlite(&s.data_dir()).await;
        let mut kept = Vec::new();
        for d in &digests {
            let inv = store
                .inventory(d, crowsnest_service::jobs::CATALOGER_VERSION.as_str())
                .await
                .unwrap();
            let assessment = store.assessment(d).await.unwrap();
            kept.push((
                inv.map(|i| i.packages.len()),
                assessment.map(|a| a.findings.len()),
            ));
        }
        kept
    });

    let mut second = s.start("serve", &config, "second.log", &["--workers", "1"]);
    let after = wait_for(
        "both images assessed after the restart",
        Duration::from_secs(240),
        || {
            rt.block_on(async {
                let store = sqlite(&s.data_dir()).await;
                let mut out = Vec::new();
                for d in &digests {
                    let inv = store
                        .inventory(d, crowsnest_service::jobs::CATALOGER_VERSION.as_str())
                        .await
                        .unwrap()?;
                    let a = store.assessment(d).await.unwrap()?;
                    out.push((inv.packages.len(), a.findings.len()));
                }
                Some(out)
            })
        },
    );
    for ((inv_before, findings_before), (inv_after, findings_after)) in before.iter().zip(&after) {
        if let Some(n) = inv_before {
            assert_eq!(n, inv_after, "an inventory stored before the kill changed");
        }
        if let Some(n) = findings_before {
            assert_eq!(
                n, findings_after,
                "an assessment stored before the kill changed"
            );
        }
        assert!(*inv_after > 0);
    }
    sigterm(&second.0);
    assert!(wait_exit(&mut second, Duration::from_secs(40)).success());
}

#[test]
fn kill_9_of_a_worker_on_postgresql_and_another_worker_finishes_the_job() {
    let Some(s) = setup() else { return };
    let Some(url) = crowsnest_testbed::var("CROWSNEST_TEST_POSTGRES_URL") else {
        return;
    };
    // A schema of its own, reached through the URL's search_path like a real deployment
    // with a dedicated schema would.
    let schema = format!("serve_worker_{}", std::process::id());
    let psql = |sql: &str| {
        let status = Command::new("psql")
            .args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");

    let registry = PrivateRegistry::start(s.dir.path());
    registry.push(&s.fixtures, "app-bookworm", "1.0", "private/app", "1.0");
    let digest = layout_digest(&s.fixtures, "app-bookworm");
    let config = s.config(&[("local", &registry.host)]);

    let rt = rt();
    let open = || async {
        let opts = PgOptions {
            schema: Some(schema.clone()),
            ..PgOptions::default()
        };
        AnyStore::Postgres(PgStore::connect(&url, &opts).await.unwrap())
    };
    // The first worker has the feeds synced and the registry polled for it: queue both.
    let first_args = ["--database-url", scoped.as_str(), "--workers", "1"];
    let mut first = s.start("worker", &config, "worker1.log", &first_args);
    rt.block_on(async {
        let store = open().await;
        store
            .enqueue(&crowsnest_service::jobs::sync_feeds())
            .await
            .unwrap();
        store
            .enqueue(&crowsnest_service::jobs::poll_registry("local"))
            .await
            .unwrap();
    });
    kill_mid_scan(&s, &mut first, "worker1.log");

    let mut second = s.start("worker", &config, "worker2.log", &first_args);
    let assessment = wait_for(
        "the scan finished by the second worker",
        Duration::from_secs(240),
        || rt.block_on(async { open().await.assessment(&digest).await.unwrap() }),
    );
    assert!(!assessment.findings.is_empty());
    let log = s.log("worker2.log");
    assert!(
        log.lines()
            .any(|l| l.contains("job done") && l.contains("scan-image")),
        "{log}"
    );
    sigterm(&second.0);
    assert!(wait_exit(&mut second, Duration::from_secs(40)).success());
    psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

/// Cluster monitoring: a snapshot of the test bed's real kube-apiserver is taken with the
/// read-only identity and stored, while a cluster whose API server is a closed port is
/// retried with backoff and shown failing in its status.
#[test]
fn serve_snapshots_a_live_cluster_and_backs_off_an_unreachable_one() {
    let Some(s) = setup() else { return };
    let Some(reader) = crowsnest_testbed::path("CROWSNEST_TEST_KUBECONFIG_READER") else {
        return;
    };
    let dead_port = free_port();
    let dead = s.dir.path().join("dead.kubeconfig");
    std::fs::write(
        &dead,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\n\
             clusters: [{{name: dead, cluster: {{server: \"https://127.0.0.1:{dead_port}\"}}}}]\n\
             users: [{{name: nobody, user: {{token: not-a-token}}}}]\n\
             contexts: [{{name: dead, context: {{cluster: dead, user: nobody}}}}]\n"
        ),
    )
    .unwrap();
    let config = s.config(&[]);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[[clusters]]\nname = \"live\"\nkubeconfig = {reader:?}\n\
         [[clusters]]\nname = \"dead\"\nkubeconfig = {dead:?}\n"
    ));
    std::fs::write(&config, text).unwrap();
    let mut server = s.start("serve", &config, "serve.log", &[]);
    let rt = rt();

    let snapshot = wait_for(
        "a snapshot of the live cluster",
        Duration::from_secs(120),
        || {
            rt.block_on(async {
                sqlite(&s.data_dir())
                    .await
                    .latest_cluster_snapshot("live")
                    .await
                    .unwrap()
            })
        },
    );
    assert_eq!(snapshot.status, "ok", "{:?}", snapshot.snapshot["gaps"]);
    let objects = &snapshot.snapshot["objects"];
    for kind in ["namespaces", "clusterroles", "serviceaccounts"] {
        assert!(
            objects[kind].as_array().is_some_and(|a| !a.is_empty()),
            "no {kind} in the stored snapshot"
        );
    }
    let dead_status = wait_for(
        "two failures of the unreachable cluster",
        Duration::from_secs(90),
        || {
            rt.block_on(async {
                sqlite(&s.data_dir())
                    .await
                    .target_statuses()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|t| t.kind == TargetKind::Cluster && t.id == "dead")
                    .filter(|t| t.consecutive_failures >= 2)
            })
        },
    );
    assert!(dead_status.last_success.is_none(), "{dead_status:?}");
    assert!(dead_status.next_attempt > dead_status.last_attempt);
    assert!(dead_status.last_error.is_some());
    assert!(
        rt.block_on(async {
            sqlite(&s.data_dir())
                .await
                .latest_cluster_snapshot("dead")
                .await
                .unwrap()
        })
        .is_none_or(|snap| snap.status != "ok"),
        "the unreachable cluster has no good snapshot"
    );
    sigterm(&server.0);
    let status = wait_exit(&mut server, Duration::from_secs(40));
    assert!(status.success(), "{}", s.log("serve.log"));
}
