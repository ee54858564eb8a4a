//! Acquisition against the real test bed: Debian's docker-registry (CNCF distribution) with
//! TLS from a test CA and htpasswd auth, a token-auth instance, a plain-HTTP instance, and
//! images built from real packages (see docs/testbed.md). Faults a real registry cannot be
//! made to produce go through `support::fault_proxy`, in front of the real registry.

mod support;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crowsnest_acquire::credentials::Credentials;
use crowsnest_acquire::enumerate::{ListOptions, list_registry};
use crowsnest_acquire::image::{AcquireError, AcquireOptions, Image};
use crowsnest_acquire::reference::ImageRef;
use crowsnest_acquire::registry::{RegistryClient, RegistryError, RegistryOptions, RetryPolicy};
use crowsnest_acquire::walk::WalkError;
use crowsnest_model::layer::{LayerAnalyzer, LayerContents};
use support::fault_proxy::{self, Fault};

/// Records the dpkg status file's size: enough to tell images apart.
struct StatusSize;

impl LayerAnalyzer for StatusSize {
    type Output = u64;
    fn cache_key(&self) -> String {
        "test-status-size/1".into()
    }
    fn wants(&self, path: &str, _: u64, _: u32) -> bool {
        path == "/var/lib/dpkg/status"
    }
    fn analyze(&self, _: &str, _: u64, content: &mut dyn Read) -> Result<u64, String> {
        std::io::copy(content, &mut std::io::sink()).map_err(|e| e.to_string())
    }
}

struct Bed {
    tls: String,
    plain: String,
    token: Option<String>,
    user: String,
    password: String,
    ca: PathBuf,
    fixtures: PathBuf,
    /// repository → (tag, manifest digest)
    images: HashMap<String, (String, String)>,
}

fn bed() -> Option<Bed> {
    let fixtures = crowsnest_testbed::path("CROWSNEST_FIXTURES")?;
    let images = std::fs::read_to_string(fixtures.join("images.tsv"))
        .expect("images.tsv written by scripts/testenv/up")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 3).then(|| (f[0].to_string(), (f[1].to_string(), f[2].to_string())))
        })
        .collect();
    Some(Bed {
        tls: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY")?,
        plain: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_PLAIN")?,
        token: std::env::var("CROWSNEST_TEST_REGISTRY_TOKEN").ok(),
        user: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_USER")?,
        password: crowsnest_testbed::var("CROWSNEST_TEST_REGISTRY_PASSWORD")?,
        ca: crowsnest_testbed::path("CROWSNEST_TEST_CA")?,
        fixtures,
        images,
    })
}

impl Bed {
    fn opts(&self) -> AcquireOptions {
        let mut o = AcquireOptions::default();
        o.registry.ca_file = Some(self.ca.clone());
        o.registry.credentials = Some(Credentials::new(&self.user, &self.password));
        o
    }
    fn reference(&self, host: &str, repo: &str) -> ImageRef {
        let (tag, _) = &self.images[repo];
        format!("{host}/{repo}:{tag}").parse().unwrap()
    }
    fn digest(&self, repo: &str) -> &str {
        &self.images[repo].1
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

async fn walk(
    image: &Image,
    opts: &AcquireOptions,
) -> Result<Vec<LayerContents<u64>>, AcquireError> {
    image.walk_layers(Arc::new(StatusSize), opts, None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_and_basic_auth_registry_serves_the_built_images() {
    let Some(bed) = bed() else { return };
    let opts = bed.opts();
    let image = Image::open(&bed.reference(&bed.tls, "crowsnest/debian-bookworm"), &opts)
        .await
        .unwrap();
    assert_eq!(
        image.manifest_digest.to_string(),
        bed.digest("crowsnest/debian-bookworm")
    );
    let layers = walk(&image, &opts).await.unwrap();
    assert_eq!(layers.len(), image.manifest.layers.len());
    // Every diffID was verified against the config while streaming.
    for (l, d) in layers.iter().zip(&image.config.rootfs.diff_ids) {
        assert_eq!(&l.diff_id, d);
    }
    assert!(layers.iter().any(|l| {
        l.analyzed
            .iter()
            .any(|a| matches!(a.result, Ok(n) if n > 10_000))
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_missing_credentials_and_untrusted_ca_are_refused() {
    let Some(bed) = bed() else { return };
    let r = bed.reference(&bed.tls, "crowsnest/debian-bookworm");
    let mut no_creds = bed.opts();
    no_creds.registry.credentials = None;
    no_creds.auth_files.authfile = Some(bed.fixtures.join("no-such-auth.json"));
    let err = Image::open(&r, &no_creds).await.unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Credentials(_)
                | AcquireError::Registry(RegistryError::Unauthorized { .. })
        ),
        "{err}"
    );
    no_creds.auth_files.authfile = None;
    let err = Image::open(&r, &no_creds).await.unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::Unauthorized { .. })
        ),
        "{err}"
    );

    let mut wrong = bed.opts();
    wrong.registry.credentials = Some(Credentials::new(&bed.user, "not-the-password"));
    let err = Image::open(&r, &wrong).await.unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::Unauthorized { .. })
        ),
        "{err}"
    );

    let mut untrusted = bed.opts();
    untrusted.registry.ca_file = None;
    let err = Image::open(&r, &untrusted).await.unwrap_err();
    let text = format!("{err:?}").to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("unknownissuer"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_a_docker_auth_file() {
    let Some(bed) = bed() else { return };
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", bed.user, bed.password));
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, bed.tls),
    )
    .unwrap();
    let mut opts = bed.opts();
    opts.registry.credentials = None;
    opts.auth_files.authfile = Some(file);
    let image = Image::open(&bed.reference(&bed.tls, "crowsnest/debian-bookworm"), &opts)
        .await
        .unwrap();
    assert_eq!(
        image.manifest_digest.to_string(),
        bed.digest("crowsnest/debian-bookworm")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_flow() {
    let Some(bed) = bed() else { return };
    let Some(token_registry) = bed.token.clone() else {
        assert!(
            !crowsnest_testbed::required(),
            "CROWSNEST_TEST_REGISTRY_TOKEN missing from the test bed"
        );
        return;
    };
    let opts = bed.opts();
    let image = Image::open(
        &bed.reference(&token_registry, "crowsnest/debian-bookworm"),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        image.manifest_digest.to_string(),
        bed.digest("crowsnest/debian-bookworm")
    );
    walk(&image, &opts).await.unwrap();
    let mut wrong = bed.opts();
    wrong.registry.credentials = Some(Credentials::new(&bed.user, "nope"));
    let err = Image::open(
        &bed.reference(&token_registry, "crowsnest/debian-bookworm"),
        &wrong,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::Unauthorized { .. })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_needs_insecure() {
    let Some(bed) = bed() else { return };
    let r = bed.reference(&bed.plain, "crowsnest/debian-bookworm");
    let secure = AcquireOptions::default();
    assert!(
        Image::open(&r, &secure).await.is_err(),
        "https to a plain-HTTP registry must fail"
    );
    let mut insecure = AcquireOptions::default();
    insecure.registry.insecure = true;
    let image = Image::open(&r, &insecure).await.unwrap();
    assert_eq!(
        image.manifest_digest.to_string(),
        bed.digest("crowsnest/debian-bookworm")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_arch_index_platform_selection() {
    let Some(bed) = bed() else { return };
    let r = bed.reference(&bed.tls, "crowsnest/multiarch");
    let mut opts = bed.opts();
    let amd = Image::open(&r, &opts).await.unwrap();
    assert_eq!(amd.platform().architecture, "amd64");
    assert_eq!(
        amd.index.as_ref().unwrap().digest.to_string(),
        bed.digest("crowsnest/multiarch")
    );
    opts.platform = "linux/arm64".parse().unwrap();
    let arm = Image::open(&r, &opts).await.unwrap();
    assert_eq!(arm.platform().architecture, "arm64");
    assert_ne!(arm.manifest_digest, amd.manifest_digest);
    let all = Image::open_all_platforms(&r, &opts).await.unwrap();
    assert_eq!(all.len(), 2);
    opts.platform = "linux/s390x".parse().unwrap();
    match Image::open(&r, &opts).await.unwrap_err() {
        AcquireError::NoSuchPlatform { available, .. } => {
            assert!(available.contains("linux/arm64"), "{available}")
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transport_gives_the_same_layers() {
    let Some(bed) = bed() else { return };
    let opts = AcquireOptions::default();
    let fx = &bed.fixtures;
    let registry = {
        let o = bed.opts();
        let img = Image::open(&bed.reference(&bed.tls, "crowsnest/debian-bookworm"), &o)
            .await
            .unwrap();
        walk(&img, &o).await.unwrap()
    };
    let refs = [
        format!("oci:{}/oci/debian-bookworm", fx.display()),
        format!(
            "oci-archive:{}/archives/debian-bookworm.oci.tar",
            fx.display()
        ),
        format!(
            "docker-archive:{}/archives/debian-bookworm.docker.tar",
            fx.display()
        ),
        format!("oci:{}/oci/debian-bookworm-zstd", fx.display()),
    ];
    for r in refs {
        let image = Image::open(&r.parse().unwrap(), &opts)
            .await
            .unwrap_or_else(|e| panic!("{r}: {e}"));
        let layers = walk(&image, &opts)
            .await
            .unwrap_or_else(|e| panic!("{r}: {e}"));
        // Same uncompressed content whatever the container or compression.
        assert_eq!(layers, registry, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn whiteout_image_records_deletions() {
    let Some(bed) = bed() else { return };
    let opts = AcquireOptions::default();
    let r: ImageRef = format!("oci:{}/oci/whiteout", bed.fixtures.display())
        .parse()
        .unwrap();
    let image = Image::open(&r, &opts).await.unwrap();
    let layers = walk(&image, &opts).await.unwrap();
    assert!(
        layers.iter().any(|l| !l.whiteouts.is_empty()),
        "no .wh. files in the whiteout image"
    );
    assert!(
        layers.iter().any(|l| !l.opaque_dirs.is_empty()),
        "no opaque directory in the whiteout image"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_listing_finds_every_pushed_image() {
    let Some(bed) = bed() else { return };
    let mut ropts = RegistryOptions {
        ca_file: Some(bed.ca.clone()),
        credentials: Some(Credentials::new(&bed.user, &bed.password)),
        ..RegistryOptions::default()
    };
    ropts.retry = fast_retry();
    let client = Arc::new(RegistryClient::new(&bed.tls, ropts).unwrap());
    let listing = list_registry(client, &ListOptions::default())
        .await
        .unwrap();
    for (repo, (tag, digest)) in &bed.images {
        let r = listing
            .iter()
            .find(|l| &l.repository == repo)
            .unwrap_or_else(|| panic!("{repo} not listed"));
        let t = r
            .tags
            .iter()
            .find(|t| &t.tag == tag)
            .unwrap_or_else(|| panic!("{repo}:{tag} not listed"));
        assert_eq!(t.digest.as_ref().unwrap().to_string(), *digest);
        assert!(
            t.platforms.iter().all(|p| p.created.is_some()),
            "{repo}: created time from the config"
        );
    }
    let multi = listing
        .iter()
        .find(|l| l.repository == "crowsnest/multiarch")
        .unwrap();
    assert_eq!(multi.tags[0].platforms.len(), 2);
}

// ---- faults, through the proxy in front of the real plain-HTTP registry ----

fn proxied(proxy: &fault_proxy::FaultProxy, bed: &Bed, repo: &str) -> (ImageRef, AcquireOptions) {
    let mut opts = AcquireOptions::default();
    opts.registry.insecure = true;
    opts.registry.retry = fast_retry();
    opts.registry.read_timeout = Duration::from_secs(2);
    (bed.reference(&proxy.addr, repo), opts)
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_then_success_are_retried() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(
        bed.plain.clone(),
        vec![(
            "/manifests/",
            Fault::StatusThenPass {
                status: 500,
                times: 2,
                retry_after: None,
            },
        )],
    )
    .await;
    let (r, opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    let image = Image::open(&r, &opts).await.unwrap();
    assert_eq!(
        image.manifest_digest.to_string(),
        bed.digest("crowsnest/debian-bookworm")
    );
    assert_eq!(proxy.faulted.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_requests_honours_retry_after_and_gives_up_when_bounded() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(
        bed.plain.clone(),
        vec![(
            "/manifests/",
            Fault::StatusThenPass {
                status: 429,
                times: 1,
                retry_after: Some(1),
            },
        )],
    )
    .await;
    let (r, opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    let start = Instant::now();
    Image::open(&r, &opts).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured ({:?})",
        start.elapsed()
    );

    let always = fault_proxy::start(
        bed.plain.clone(),
        vec![(
            "/manifests/",
            Fault::StatusThenPass {
                status: 503,
                times: 1000,
                retry_after: None,
            },
        )],
    )
    .await;
    let (r, opts) = proxied(&always, &bed, "crowsnest/debian-bookworm");
    let err = Image::open(&r, &opts).await.unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::RetriesExhausted { attempts: 4, .. })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_registry_times_out() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(bed.plain.clone(), vec![("/manifests/", Fault::Stall)]).await;
    let (r, mut opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    opts.registry.retry.max_retries = 1;
    opts.registry.read_timeout = Duration::from_millis(500);
    let start = Instant::now();
    let err = Image::open(&r, &opts).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stall not bounded: {:?}",
        start.elapsed()
    );
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::RetriesExhausted { .. })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_dropped_mid_stream_resumes_with_range() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(
        bed.plain.clone(),
        vec![(
            "/blobs/sha256",
            Fault::TruncateBody {
                bytes: 100_000,
                times: 1,
            },
        )],
    )
    .await;
    let (r, opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    let image = Image::open(&r, &opts).await.unwrap();
    // The config fetch is the first blob request and absorbs the fault unless it is
    // smaller than the cut; walk the layers either way and check everything verified.
    let layers = walk(&image, &opts).await.unwrap();
    assert_eq!(layers.len(), image.manifest.layers.len());
    assert!(proxy.faulted.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_layer_is_a_digest_mismatch_naming_the_blob() {
    let Some(bed) = bed() else { return };
    let plain_opts = {
        let mut o = AcquireOptions::default();
        o.registry.insecure = true;
        o
    };
    let image = Image::open(
        &bed.reference(&bed.plain, "crowsnest/debian-bookworm"),
        &plain_opts,
    )
    .await
    .unwrap();
    let layer = image.manifest.layers.last().unwrap().digest.to_string();
    let proxy = fault_proxy::start(
        bed.plain.clone(),
        vec![(layer.as_str(), Fault::CorruptBody)],
    )
    .await;
    let (r, opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    let image = Image::open(&r, &opts).await.unwrap();
    let err = walk(&image, &opts).await.unwrap_err();
    let AcquireError::Layer { digest, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(digest.to_string(), layer);
    // Whatever breaks first (inflate, tar, the gzip CRC), the cause reported is the digest.
    assert!(
        matches!(**source, WalkError::DigestMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&layer));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_manifest_is_refused() {
    let Some(bed) = bed() else { return };
    let digest = bed.digest("crowsnest/debian-bookworm").to_string();
    let proxy =
        fault_proxy::start(bed.plain.clone(), vec![("/manifests/", Fault::CorruptBody)]).await;
    let (_, opts) = proxied(&proxy, &bed, "crowsnest/debian-bookworm");
    let r: ImageRef = format!("{}/crowsnest/debian-bookworm@{digest}", proxy.addr)
        .parse()
        .unwrap();
    let err = Image::open(&r, &opts).await.unwrap_err();
    assert!(
        matches!(
            err,
            AcquireError::Registry(RegistryError::DigestMismatch { .. })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_tags_are_listed_page_by_page() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(
        bed.plain.clone(),
        vec![("/tags/list", Fault::ManyTags { count: 100_000 })],
    )
    .await;
    let client = RegistryClient::new(
        &proxy.addr,
        RegistryOptions {
            insecure: true,
            retry: fast_retry(),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let tags = client
        .tags("crowsnest/debian-bookworm", 1_000_000)
        .await
        .unwrap();
    assert_eq!(tags.len(), 100_000);
    assert_eq!(tags[99_999], "tag-099999");
    assert_eq!(
        proxy.requests.lock().unwrap().len(),
        100,
        "1,000 tags a page"
    );
    let err = client
        .tags("crowsnest/debian-bookworm", 50_000)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 50000"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_only_reads() {
    let Some(bed) = bed() else { return };
    let proxy = fault_proxy::start(bed.plain.clone(), vec![]).await;
    let (r, opts) = proxied(&proxy, &bed, "crowsnest/app-bookworm");
    let image = Image::open(&r, &opts).await.unwrap();
    walk(&image, &opts).await.unwrap();
    let client = Arc::new(RegistryClient::new(&proxy.addr, opts.registry.clone()).unwrap());
    list_registry(client, &ListOptions::default())
        .await
        .unwrap();
    let requests = proxy.requests.lock().unwrap();
    assert!(requests.len() > 10);
    for r in requests.iter() {
        assert!(
            r.starts_with("GET ") || r.starts_with("HEAD "),
            "a write reached the registry: {r}"
        );
    }
}
