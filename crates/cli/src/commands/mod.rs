//! One module per command. `run` builds the async runtime and dispatches.

mod db;
mod discover;
mod graph;
mod image;
mod query;
mod registry;
mod sbom;
mod scan;
mod serve;
mod token;

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use crowsnest_acquire::credentials::{AuthFileLookup, Credentials};
use crowsnest_acquire::image::AcquireOptions;
use crowsnest_acquire::registry::{RegistryOptions, RetryPolicy};
use crowsnest_acquire::walk::Limits;

use crate::args::{
    Cli, Command, DbCommand, ImageCommand, ImageOpts, RegistryAccess, RegistryCommand, ScanCommand,
    SnapshotCommand,
};

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let global = cli.global;
    runtime.block_on(async move {
        match cli.command {
            Command::Image(ImageCommand::Inspect(args)) => image::inspect(args, &global).await,
            Command::Registry(RegistryCommand::List(args)) => registry::list(args, &global).await,
            Command::Sbom(args) => sbom::sbom(args, &global).await,
            Command::Scan(ScanCommand::Image(args)) => scan::image(*args, &global).await,
            Command::Scan(ScanCommand::Sbom(args)) => scan::sbom(args, &global).await,
            Command::Db(DbCommand::Sync(args)) => db::run_sync(args, &global).await,
            Command::Db(DbCommand::Status(args)) => db::run_status(args, &global).await,
            Command::Discover(args) => discover::discover(args, &global).await,
            Command::Doctor(args) => discover::doctor(args, &global).await,
            Command::Snapshot(SnapshotCommand::Diff(args)) => discover::diff(args, &global),
            Command::Paths(args) => graph::paths(args, &global).await,
            Command::Insights(args) => graph::insights(args, &global).await,
            Command::Recommendations(args) => graph::recommendations(args, &global).await,
            Command::Serve(args) => serve::serve(args, &global).await,
            Command::Worker(args) => serve::worker(args, &global).await,
            Command::Query(args) => query::query(args, &global).await,
            Command::Token(command) => token::token(command).await,
        }
    })
}

/// Credentials from the flags: `--creds`, or `--password-stdin` (with `--username`, or a
/// `USER:PASS` line). `None` means "look in the auth files".
fn explicit_credentials(access: &RegistryAccess) -> anyhow::Result<Option<Credentials>> {
    if access.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']);
        return Ok(Some(match &access.username {
            Some(u) => Credentials::new(u.clone(), line),
            None => Credentials::from_creds_arg(line)
                .context("--password-stdin without --username expects USER:PASS")?,
        }));
    }
    match &access.creds {
        Some(c) => Ok(Some(Credentials::from_creds_arg(c)?)),
        None => Ok(None),
    }
}

pub fn registry_options(access: &RegistryAccess) -> anyhow::Result<RegistryOptions> {
    if access.creds.is_some() && access.password_stdin {
        bail!("use either --creds or --password-stdin, not both");
    }
    Ok(RegistryOptions {
        insecure: access.insecure,
        ca_file: access.ca_file.clone(),
        credentials: explicit_credentials(access)?,
        read_timeout: Duration::from_secs(access.timeout.max(1)),
        retry: RetryPolicy {
            max_retries: access.retries,
            ..RetryPolicy::default()
        },
        ..RegistryOptions::default()
    })
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("crowsnest"))
}

pub fn acquire_options(opts: &ImageOpts) -> anyhow::Result<AcquireOptions> {
    let platform = opts
        .platform
        .parse()
        .with_context(|| format!("--platform {}", opts.platform))?;
    let cache_dir = match (&opts.cache_dir, opts.no_cache) {
        (_, true) => None,
        (Some(p), false) => Some(p.clone()),
        (None, false) => default_cache_dir(),
    };
    let mut acquire = AcquireOptions {
        registry: registry_options(&opts.access)?,
        auth_files: AuthFileLookup {
            authfile: opts.access.authfile.clone(),
        },
        platform,
        limits: Limits {
            max_layer_bytes: opts.max_layer_size.saturating_mul(1 << 20),
            max_layers: opts.max_layers,
            max_image_bytes: opts.max_image_size.saturating_mul(1 << 20),
            max_scan_time: std::time::Duration::from_secs(opts.max_scan_time),
            ..Limits::default()
        },
        cache_dir,
        cache_max_bytes: opts.cache_size.saturating_mul(1 << 20),
        ..AcquireOptions::default()
    };
    if let Some(n) = opts.parallel {
        acquire.parallel_layers = n.max(1);
    }
    Ok(acquire)
}
