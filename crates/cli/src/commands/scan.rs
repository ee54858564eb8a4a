//! `crowsnest scan image` and `crowsnest scan sbom`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use crowsnest_catalog::Inventory;
use crowsnest_feeds::AdvisoryDb;
use crowsnest_matcher::{AdvisoryIndex, match_packages};
use crowsnest_model::Severity;
use crowsnest_model::exception::Triage;
use crowsnest_model::finding::{Finding, FixStatus};
use crowsnest_report::findings::{self, FindingsReport};
use crowsnest_report::{DocumentOptions, ImageSubject};
use crowsnest_service::assess::FeedsSource;
use crowsnest_vex::{Exceptions, ImageTarget};

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

/// The ignore file found by default beside the target.
const DEFAULT_IGNORE_FILE: &str = ".crowsnestignore.yaml";

/// Ignore rules and VEX statements named on the command line; without `--ignore-file`,
/// `.crowsnestignore.yaml` in `beside` when it exists.
fn exceptions(opts: &ScanOpts, beside: &Path) -> anyhow::Result<Exceptions> {
    let default = beside.join(DEFAULT_IGNORE_FILE);
    let ignore_file = opts
        .ignore_file
        .clone()
        .or_else(|| default.is_file().then_some(default));
    let mut exceptions = Exceptions::default();
    if let Some(file) = ignore_file {
        exceptions.rules = crowsnest_vex::load_ignore_file(&file)?;
    }
    for path in &opts.vex {
        exceptions
            .statements
            .extend(crowsnest_vex::load_vex_path(path)?);
    }
    Ok(exceptions)
}

/// What rules and statements match the image on.
fn target(subject: &ImageSubject) -> ImageTarget {
    ImageTarget {
        digests: subject
            .manifest_digest
            .iter()
            .chain(&subject.config_digest)
            .cloned()
            .collect(),
        repository: subject.repository(),
    }
}

async fn scan(
    subject: ImageSubject,
    inventory: Inventory,
    opts: &ScanOpts,
    beside: &Path,
    global: &GlobalArgs,
) -> anyhow::Result<i32> {
    let exceptions = exceptions(opts, beside)?;
    let source = open_db(opts, global).await?;
    let report = match_packages(&source, &inventory.packages, inventory.distro.as_ref())
        .context("matching packages against advisories")?;
    // Packages that cannot be matched (a Go main module built as "(devel)", a version no
    // comparator parses) are expected in real images: details at -v, not warnings.
    for p in &report.problems {
        tracing::info!(problem = ?p, "not matched");
    }
    let now = time::OffsetDateTime::now_utc();
    let (open, mut triage): (Vec<Finding>, Triage) =
        exceptions.apply(report.findings, &inventory.packages, &target(&subject), now);
    for expired in &triage.expired {
        eprintln!(
            "warning: {} expired on {}: no longer applied",
            expired.source, expired.expired
        );
    }
    let findings: Vec<Finding> = open.into_iter().filter(|f| keep(f, opts)).collect();
    triage.suppressed.retain(|s| keep(&s.finding, opts));
    // A VEX document states facts as of now; other formats describe the image.
    let options = match opts.format {
        ScanFormat::Openvex | ScanFormat::CyclonedxVex => DocumentOptions {
            timestamp: Some(now),
            ..DocumentOptions::default()
        },
        _ => DocumentOptions::default(),
    };
    let rendered = FindingsReport {
        subject: &subject,
        inventory: &inventory,
        findings: &findings,
        triage: &triage,
        show_suppressed: opts.show_suppressed,
        options: &options,
    };
    let text = match opts.format {
        ScanFormat::Table => findings::table::table(&rendered),
        ScanFormat::Json => findings::json::json(&rendered),
        ScanFormat::Sarif => findings::sarif::sarif(&rendered),
        ScanFormat::Cyclonedx => findings::cyclonedx::cyclonedx(&rendered),
        ScanFormat::Openvex => findings::openvex::openvex(&rendered),
        ScanFormat::CyclonedxVex => findings::cyclonedx::cyclonedx_vex(&rendered),
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

/// Where a local image lives (the directory holding the layout or archive); `None` for
/// registry images.
fn local_parent(reference: &str) -> Option<PathBuf> {
    use crowsnest_acquire::reference::ImageRef;
    let path = match reference.parse::<ImageRef>().ok()? {
        ImageRef::Registry(_) => return None,
        ImageRef::OciLayout { dir, .. } => dir,
        ImageRef::OciArchive { file, .. } | ImageRef::DockerArchive { file, .. } => file,
    };
    Some(
        path.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    )
}

pub async fn image(args: ScanImageArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (image, inventory) =
        super::sbom::inventory_image(&args.reference, &args.image, global).await?;
    let beside = local_parent(&args.reference).unwrap_or_else(|| PathBuf::from("."));
    scan(
        super::sbom::subject(&image),
        inventory,
        &args.scan,
        &beside,
        global,
    )
    .await
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
    let beside = args
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    scan(
        subject,
        imported.into_inventory(),
        &args.scan,
        &beside,
        global,
    )
    .await
}
