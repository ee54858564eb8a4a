//! `crowsnest scan image` and `crowsnest scan sbom`.

use std::io::Write;

use anyhow::{Context, bail};
use crowsnest_catalog::Inventory;
use crowsnest_feeds::AdvisoryDb;
use crowsnest_matcher::{AdvisoryIndex, match_packages};
use crowsnest_model::Severity;
use crowsnest_model::finding::{Finding, FixStatus};
use crowsnest_report::findings::{self, FindingsReport};
use crowsnest_report::{DocumentOptions, ImageSubject};
use crowsnest_service::assess::FeedsSource;

use crate::args::{DbLocation, GlobalArgs, ScanFormat, ScanImageArgs, ScanOpts, ScanSbomArgs};

/// Feeds older than this are refreshed before a scan (unless --offline).
const MAX_DB_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Opens the database, syncing first when it is missing or stale and not offline.
async fn open_db(
    opts: &ScanOpts,
    global: &GlobalArgs,
) -> anyhow::Result<AdvisoryIndex<FeedsSource>> {
    open_db_at(&opts.db, opts.offline, global).await
}

/// [`open_db`] for callers without scan options: the matcher's view of the database.
pub async fn open_db_at(
    db: &DbLocation,
    offline: bool,
    global: &GlobalArgs,
) -> anyhow::Result<AdvisoryIndex<FeedsSource>> {
    let dir = super::db::data_dir(db)?;
    let path = crowsnest_feeds::db_path(&dir);
    let age = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    match (age, offline) {
        (None, true) => bail!(
            "no vulnerability database at {} and --offline was given: run `crowsnest db sync` first",
            path.display()
        ),
        (None, false) => {
            if !global.quiet {
                eprintln!(
                    "no vulnerability database yet: syncing feeds into {}",
                    dir.display()
                );
            }
            super::db::sync(db, false, global.quiet).await?;
        }
        (Some(age), false) if age > MAX_DB_AGE => {
            if let Err(e) = super::db::sync(db, false, global.quiet).await {
                eprintln!(
                    "warning: the database is {} h old and refreshing it failed; using it as it is: {e:#}",
                    age.as_secs() / 3600
                );
            }
        }
        _ => {}
    }
    let db = AdvisoryDb::open(&path)
        .with_context(|| format!("opening the vulnerability database {}", path.display()))?;
    Ok(AdvisoryIndex::new(FeedsSource(db)))
}

fn keep(f: &Finding, opts: &ScanOpts) -> bool {
    (opts.severity.is_empty() || opts.severity.contains(&f.severity))
        && (!opts.ignore_unfixed || f.fix_status == FixStatus::FixAvailable)
}

async fn scan(
    subject: ImageSubject,
    inventory: Inventory,
    opts: &ScanOpts,
    global: &GlobalArgs,
) -> anyhow::Result<i32> {
    let source = open_db(opts, global).await?;
    let report = match_packages(&source, &inventory.packages, inventory.distro.as_ref())
        .context("matching packages against advisories")?;
    // Packages that cannot be matched (a Go main module built as "(devel)", a version no
    // comparator parses) are expected in real images: details at -v, not warnings.
    for p in &report.problems {
        tracing::info!(problem = ?p, "not matched");
    }
    let findings: Vec<Finding> = report
        .findings
        .into_iter()
        .filter(|f| keep(f, opts))
        .collect();
    let options = DocumentOptions::default();
    let rendered = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        options: &options,
    };
    let text = match opts.format {
        ScanFormat::Table => findings::table::table(&rendered),
        ScanFormat::Json => findings::json::json(&rendered),
        ScanFormat::Sarif => findings::sarif::sarif(&rendered),
        ScanFormat::Cyclonedx => findings::cyclonedx::cyclonedx(&rendered),
    };
    let mut out = crate::output::writer(opts.output.as_deref())?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    out.flush()?;
    let threshold_met = opts
        .fail_on
        .is_some_and(|min: Severity| findings.iter().any(|f| f.severity >= min));
    Ok(if threshold_met {
        crate::exit::POLICY
    } else {
        crate::exit::OK
    })
}

pub async fn image(args: ScanImageArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (image, inventory) =
        super::sbom::inventory_image(&args.reference, &args.image, global).await?;
    scan(super::sbom::subject(&image), inventory, &args.scan, global).await
}

pub async fn sbom(args: ScanSbomArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.display().to_string();
    let imported = crowsnest_report::sbom_input::read_sbom(&bytes, &name)
        .with_context(|| format!("reading SBOM {name}"))?;
    let subject = ImageSubject {
        name,
        ..ImageSubject::default()
    };
    scan(subject, imported.into_inventory(), &args.scan, global).await
}
