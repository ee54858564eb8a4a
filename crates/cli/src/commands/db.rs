//! `crowsnest db sync` and `crowsnest db status`.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use crowsnest_feeds::{SourceSpec, SyncEvent, SyncOptions, SyncReport};

use crate::args::{DbLocation, DbStatusArgs, DbSyncArgs, Format, GlobalArgs};
use crate::output::{self, Table};

pub fn data_dir(db: &DbLocation) -> anyhow::Result<PathBuf> {
    db.data_dir
        .clone()
        .or_else(crowsnest_feeds::default_data_dir)
        .ok_or_else(|| anyhow!("no data directory: set --data-dir or HOME"))
}

/// Syncs the feeds into the data directory, from the mirror if one is named.
pub async fn sync(db: &DbLocation, force: bool, quiet: bool) -> anyhow::Result<SyncReport> {
    let dir = data_dir(db)?;
    let source = match &db.mirror {
        Some(m) => SourceSpec::mirror(m).with_context(|| format!("--mirror {m}"))?,
        None => SourceSpec::Upstream,
    };
    let mut opts = SyncOptions::new(&dir, source);
    opts.force = force;
    let report = crowsnest_feeds::sync(&opts, |event: SyncEvent| {
        if !quiet {
            tracing::info!(?event, "sync");
        }
    })
    .await
    .with_context(|| format!("syncing the vulnerability database in {}", dir.display()))?;
    Ok(report)
}

pub async fn run_sync(args: DbSyncArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let report = sync(&args.db, args.force, global.quiet).await?;
    let mut t = Table::new(["FEED", "OUTCOME", "RECORDS", "SKIPPED", "FROM"]);
    for f in &report.feeds {
        t.row([
            f.feed.clone(),
            format!("{:?}", f.outcome).to_lowercase(),
            f.records.to_string(),
            f.skipped.to_string(),
            f.location.clone(),
        ]);
    }
    let mut out = output::writer(None)?;
    t.write(&mut out)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    writeln!(
        out,
        "database: {} ({:.1} s)",
        report.db_path.display(),
        report.elapsed.as_secs_f64()
    )?;
    Ok(crate::exit::OK)
}

pub async fn run_status(args: DbStatusArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let dir = data_dir(&args.db)?;
    let status = crowsnest_feeds::status(&dir).with_context(|| {
        format!(
            "reading the vulnerability database in {} (run `crowsnest db sync` first)",
            dir.display()
        )
    })?;
    match args.format {
        Format::Json => output::json(&status)?,
        Format::Table => {
            let mut t = Table::new(["FEED", "RECORDS", "SKIPPED", "UPDATED", "CHECKED", "FROM"]);
            for s in &status {
                t.row([
                    s.feed.clone(),
                    s.records.to_string(),
                    s.skipped.to_string(),
                    s.updated_at.clone(),
                    s.checked_at.clone(),
                    s.location.clone(),
                ]);
            }
            t.write(&mut output::writer(None)?)?;
        }
    }
    Ok(crate::exit::OK)
}

use std::io::Write;
