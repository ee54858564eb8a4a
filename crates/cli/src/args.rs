//! The command line, as clap structs. One module per command under `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "crowsnest",
    version,
    about = "Agentless container posture: image inventories, vulnerabilities and Kubernetes attack paths",
    long_about = "Crowsnest reads container images from registries, OCI layouts and docker archives \
                  (never unpacking them to disk), inventories their packages, and reports what is \
                  vulnerable. It only ever reads from registries and clusters.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug). CROWSNEST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Logs as JSON lines on stderr.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect images: digest, platforms, layers, config and history.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Enumerate a registry: repositories, tags, digests and platforms.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Inventory an image's OS and language packages, layer by layer, as an SBOM.
    Sbom(SbomArgs),
    /// Find vulnerabilities in an image or an SBOM, ranked by risk.
    #[command(subcommand)]
    Scan(ScanCommand),
    /// The local vulnerability database: sync feeds, show their status.
    #[command(subcommand)]
    Db(DbCommand),
    /// Snapshot Kubernetes clusters through the API (read-only), or manifests offline.
    Discover(DiscoverArgs),
    /// Check that the identity in use can read everything discovery needs.
    Doctor(DoctorArgs),
    /// Work with saved snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Attack paths through a cluster (Internet or any pod → node, cluster-admin, secrets), with choke points.
    Paths(GraphArgs),
    /// Insights on workloads, identities and images, each with its evidence.
    Insights(GraphArgs),
    /// What to fix: vulnerable running containers (most exposed first), images, and posture, each with the fix.
    Recommendations(GraphArgs),
    /// Run the continuous assessment service: scheduler, workers and the REST API.
    Serve(ServeArgs),
    /// Run job workers only, on the store the configuration names (several processes can share a PostgreSQL store).
    Worker(WorkerArgs),
    /// Read-only graph queries (an openCypher subset) or named templates; see docs/query.md.
    Query(QueryArgs),
    /// API tokens for `crowsnest serve`: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print it once (only its SHA-256 is stored).
    Create(TokenCreateArgs),
    /// List tokens: name, role, created, last used (never the token).
    List(TokenStore),
    /// Revoke a token by name.
    Revoke(TokenRevokeArgs),
}

/// The store the tokens live in (the one `serve` uses).
#[derive(Args, Debug)]
pub struct TokenStore {
    /// The service's data directory (the SQLite store is crowsnest.db in it).
    #[arg(long, env = "CROWSNEST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The service's PostgreSQL store instead.
    #[arg(
        long,
        env = "CROWSNEST_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct TokenCreateArgs {
    /// A name for the token (letters, digits, '-', '_', '.').
    pub name: String,
    /// read: GET only; admin: also POST (trigger polls and snapshots, explorer queries).
    #[arg(long, value_name = "read|admin")]
    pub role: String,
    #[command(flatten)]
    pub store: TokenStore,
}

#[derive(Args, Debug)]
pub struct TokenRevokeArgs {
    pub name: String,
    #[command(flatten)]
    pub store: TokenStore,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The query, e.g. "MATCH (p:Pod) WHERE has_insight(p, 'exposedToInternet') RETURN p.key".
    #[arg(value_name = "QUERY", conflicts_with_all = ["template", "list_templates"])]
    pub query: Option<String>,
    /// Run a named template instead (see --list-templates).
    #[arg(long, value_name = "NAME", conflicts_with = "list_templates")]
    pub template: Option<String>,
    /// List the named templates and exit.
    #[arg(long)]
    pub list_templates: bool,
    /// Stop a query that runs longer than this (exit 3). (`--timeout` is the registry's, for
    /// --scan-images.)
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub query_timeout: f64,
    /// Most rows returned; more are cut off with a warning.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_rows: usize,
    #[command(flatten)]
    pub graph: GraphArgs,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// A snapshot saved by `crowsnest discover`.
    #[arg(long, value_name = "FILE", conflicts_with = "manifests")]
    pub snapshot: Option<PathBuf>,
    /// Manifests (files or directories; repeatable) instead of a snapshot.
    #[arg(long, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Scan every image the workloads run and join the findings into the graph.
    #[arg(long)]
    pub scan_images: bool,
    /// Also start paths from every container (an attacker already runs code in one).
    #[arg(long)]
    pub assume_breach: bool,
    /// Most paths (or insights) shown.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub access: RegistryAccess,
    #[command(flatten)]
    pub db: DbLocation,
    /// With neither --snapshot nor --manifests: the live cluster to read (one context).
    #[command(flatten)]
    pub clusters: ClusterSelection,
    /// Output; dot (Graphviz) and mermaid draw the attack paths, for `paths` only.
    #[arg(long, value_enum, default_value_t = GraphFormat::Table)]
    pub format: GraphFormat,
}

/// Output formats of the graph commands.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Table,
    Json,
    /// A Graphviz digraph (render with `dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (Markdown renderers draw it).
    Mermaid,
}

/// Which clusters to talk to (kubectl-compatible flag names).
#[derive(Args, Debug, Clone)]
pub struct ClusterSelection {
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context (repeatable). Default: the current context.
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// Every context in the kubeconfig.
    #[arg(long, conflicts_with_all = ["contexts", "in_cluster"])]
    pub all_contexts: bool,
    /// Use the pod's own service account (when running inside a cluster).
    #[arg(long, conflicts_with = "contexts")]
    pub in_cluster: bool,
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub clusters: ClusterSelection,
    /// Build the snapshot from YAML/JSON manifests instead (files or directories; repeatable).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["contexts", "all_contexts", "in_cluster"])]
    pub manifests: Vec<PathBuf>,
    /// Print the snapshot(s) as JSON on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the snapshot to FILE (one cluster) instead of the data directory.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Data directory; snapshots are saved under DIR/snapshots/<cluster>/<time>.json.
    #[arg(long, env = "CROWSNEST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Requests per second to each API server.
    #[arg(long, default_value_t = 50)]
    pub qps: u32,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub clusters: ClusterSelection,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Objects added, removed and changed (with the changed fields) from A to B.
    Diff(SnapshotDiffArgs),
}

#[derive(Args, Debug)]
pub struct SnapshotDiffArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum ScanCommand {
    /// Scan an image (registry reference or TRANSPORT:PATH[:TAG]).
    Image(Box<ScanImageArgs>),
    /// Scan a CycloneDX or SPDX JSON SBOM made by Crowsnest or another tool.
    Sbom(ScanSbomArgs),
}

#[derive(Args, Debug)]
pub struct ScanImageArgs {
    pub reference: String,
    #[command(flatten)]
    pub image: ImageOpts,
    #[command(flatten)]
    pub scan: ScanOpts,
}

#[derive(Args, Debug)]
pub struct ScanSbomArgs {
    /// The SBOM file (CycloneDX 1.4-1.6 or SPDX 2.2/2.3, JSON).
    pub file: PathBuf,
    #[command(flatten)]
    pub scan: ScanOpts,
}

#[derive(Args, Debug, Clone)]
pub struct ScanOpts {
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these severities (comma-separated: critical,high,medium,low,negligible,unknown).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<crowsnest_model::Severity>,
    /// Hide findings that have no fixed version (same as --only-fixed).
    #[arg(long, visible_alias = "only-fixed")]
    pub ignore_unfixed: bool,
    /// Exit with code 1 when an open finding at or above this severity remains after
    /// filtering (suppressed findings never count).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<crowsnest_model::Severity>,
    /// Ignore rules (YAML; `.trivyignore.yaml` files read as they are). Default:
    /// `.crowsnestignore.yaml` next to the target (the current directory for registry
    /// images), when there is one. See docs/exceptions.md.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// A VEX document (OpenVEX, CycloneDX, CSAF) or a directory of them (`*.json`);
    /// repeatable. `not_affected` and `fixed` suppress findings, `under_investigation`
    /// annotates them.
    #[arg(long, value_name = "FILE|DIR")]
    pub vex: Vec<PathBuf>,
    /// List suppressed findings (table and JSON; counts are always shown).
    #[arg(long)]
    pub show_suppressed: bool,
    /// Use the local database as it is: no feed sync, no network.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub db: DbLocation,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Table,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
    /// CycloneDX 1.6 with a vulnerabilities section.
    Cyclonedx,
    /// OpenVEX 0.2 statements: affected findings and suppressed ones with their justification.
    Openvex,
    /// CycloneDX 1.6 VEX: the same statements as CycloneDX vulnerability analyses.
    CyclonedxVex,
}

/// Where the vulnerability database lives and where feeds come from.
#[derive(Args, Debug, Clone)]
pub struct DbLocation {
    /// Data directory holding advisories.db (default: $XDG_DATA_HOME/crowsnest or ~/.local/share/crowsnest).
    #[arg(long, env = "CROWSNEST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fetch feeds from a mirror (a directory or base URL laid out like the upstream locations)
    /// instead of the upstream URLs.
    #[arg(long, env = "CROWSNEST_MIRROR", value_name = "DIR|URL")]
    pub mirror: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Fetch OSV, KEV, EPSS and Exploit-DB and rebuild the local database (atomically).
    Sync(DbSyncArgs),
    /// Show each feed's age and record count.
    Status(DbStatusArgs),
}

#[derive(Args, Debug)]
pub struct DbSyncArgs {
    #[command(flatten)]
    pub db: DbLocation,
    /// Re-parse every feed even when unchanged.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DbStatusArgs {
    #[command(flatten)]
    pub db: DbLocation,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// The image: registry reference or TRANSPORT:PATH[:TAG].
    pub reference: String,
    #[command(flatten)]
    pub image: ImageOpts,
    #[arg(long, value_enum, default_value_t = SbomFormat::Table)]
    pub format: SbomFormat,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    Table,
    /// Crowsnest's own inventory JSON (distro, packages with layer and evidence, unreadable files).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Show an image's manifest digest, platforms, layers, config and history.
    #[command(
        after_help = "REFERENCE forms:\n  debian:12                       registry (docker.io/library/debian:12)\n  ghcr.io/org/app@sha256:…        registry, by digest\n  oci:DIR[:TAG]                   OCI image layout directory\n  oci-archive:FILE[:TAG]          OCI layout in a tar archive\n  docker-archive:FILE[:NAME:TAG]  `docker save` output"
    )]
    Inspect(InspectArgs),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The image: registry reference or TRANSPORT:PATH[:TAG].
    pub reference: String,
    #[command(flatten)]
    pub image: ImageOpts,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// List repositories, tags, digests, platforms and created times.
    List(RegistryListArgs),
}

#[derive(Args, Debug)]
pub struct RegistryListArgs {
    /// Registry host[:port], e.g. ghcr.io or 127.0.0.1:5000.
    pub registry: String,
    /// Only repositories whose name contains this.
    #[arg(long)]
    pub repo: Option<String>,
    /// Skip fetching image configs (no created times; one request fewer per image).
    #[arg(long)]
    pub no_created: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[command(flatten)]
    pub access: RegistryAccess,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// How to reach a registry (skopeo-compatible flag names).
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryAccess {
    /// Credentials as USERNAME:PASSWORD (prefer --password-stdin: arguments are visible to other users).
    #[arg(
        long,
        value_name = "USER:PASS",
        env = "CROWSNEST_CREDS",
        hide_env_values = true
    )]
    pub creds: Option<String>,
    /// Username, with the password read from standard input.
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password from standard input (with --username, or USER:PASS on one line).
    #[arg(long)]
    pub password_stdin: bool,
    /// Docker-style auth file (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for the registry.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow plain HTTP (for a registry you run without TLS). Never implied.
    #[arg(long)]
    pub insecure: bool,
    /// Seconds to wait for the next bytes of a response before giving up (stall timeout).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// Retries for 429/5xx answers and dropped connections.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
}

/// Options for reading one image.
#[derive(Args, Debug, Clone)]
pub struct ImageOpts {
    #[command(flatten)]
    pub access: RegistryAccess,
    /// Platform to pick from a multi-platform index, os/arch[/variant].
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Every platform of a multi-platform index.
    #[arg(long, conflicts_with = "platform")]
    pub all_platforms: bool,
    /// Largest uncompressed layer accepted, in MiB (a guard against decompression bombs).
    #[arg(long, default_value_t = 32768, value_name = "MIB")]
    pub max_layer_size: u64,
    /// Most layers an image may have.
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub max_layers: usize,
    /// Largest uncompressed image (all its layers together) accepted, in MiB.
    #[arg(long, default_value_t = 65536, value_name = "MIB")]
    pub max_image_size: u64,
    /// Wall-time limit for reading an image's layers, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub max_scan_time: u64,
    /// Most the per-layer results cache may hold, in MiB (least recently used go first).
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub cache_size: u64,
    /// Layers read at once.
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Directory for cached per-layer results (default: ~/.cache/crowsnest).
    #[arg(long, env = "CROWSNEST_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Read every layer again instead of reusing cached per-layer results.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// A local SHA-1 → Maven coordinates index (`<sha1> <groupId>:<artifactId>:<version>`
    /// per line; see docs/inventory.md) naming Java archives that do not declare their
    /// coordinates. Without one, such coordinates are inferred and marked so.
    #[arg(long, env = "CROWSNEST_MAVEN_INDEX", value_name = "FILE")]
    pub maven_index: Option<PathBuf>,
}

/// What `serve` and `worker` share: the configuration file and its overrides.
#[derive(Args, Debug)]
pub struct ServiceArgs {
    /// The configuration file (TOML; see examples/crowsnest.toml and docs/service.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Overrides data_dir (and CROWSNEST_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL instead of SQLite; overrides database_url. Prefer CROWSNEST_DATABASE_URL
    /// for a URL with a password (the command line is visible to other users).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Jobs run at once in this process; overrides workers.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The API's address; overrides listen (default 127.0.0.1:8080, loopback only).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
}
