//! `crowsnest sbom`: the package inventory of an image.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use crowsnest_acquire::image::Image;
use crowsnest_acquire::reference::ImageRef;
use crowsnest_catalog::{Cataloger, Inventory, inventory};

use crowsnest_report::{DocumentOptions, ImageSubject};

use crate::args::{GlobalArgs, ImageOpts, SbomArgs, SbomFormat};
use crate::output::Table;

/// The report's view of an opened image.
pub fn subject(image: &Image) -> ImageSubject {
    ImageSubject {
        name: image.name.clone(),
        manifest_digest: Some(image.manifest_digest.clone()),
        config_digest: Some(image.config_digest().clone()),
        platform: Some(image.platform().to_string()),
        layers: image.config.rootfs.diff_ids.clone(),
        created: image.config.created.clone(),
    }
}

/// Opens an image and inventories it: the shared first half of `sbom` and `scan`.
pub async fn inventory_image(
    reference: &str,
    opts: &ImageOpts,
    global: &GlobalArgs,
) -> anyhow::Result<(Image, Inventory)> {
    let parsed: ImageRef = reference
        .parse()
        .with_context(|| format!("image reference {reference:?}"))?;
    let acquire = super::acquire_options(opts)?;
    let image = Image::open(&parsed, &acquire).await?;
    let progress = crate::progress::layer_bars(&image, global.quiet);
    let layers = image
        .walk_layers(Arc::new(Cataloger), &acquire, progress)
        .await?;
    let mut inventory = inventory(&layers);
    if let Some(index) = &opts.maven_index {
        crowsnest_catalog::maven_index::apply(index, &mut inventory.packages)
            .map_err(anyhow::Error::msg)?;
    }
    Ok((image, inventory))
}

pub async fn sbom(args: SbomArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let (image, inv) = inventory_image(&args.reference, &args.image, global).await?;
    let mut out = crate::output::writer(args.output.as_deref())?;
    match args.format {
        SbomFormat::Cyclonedx => {
            writeln!(
                out,
                "{}",
                crowsnest_report::cyclonedx::sbom(
                    &subject(&image),
                    &inv,
                    &DocumentOptions::default()
                )
            )?;
        }
        SbomFormat::Spdx => {
            writeln!(
                out,
                "{}",
                crowsnest_report::spdx::sbom(&subject(&image), &inv, &DocumentOptions::default())
            )?;
        }
        SbomFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &inv)?;
            writeln!(out)?;
        }
        SbomFormat::Table => {
            if let Some(d) = &inv.distro {
                writeln!(out, "OS: {} {}", d.id, d.version_id)?;
            }
            let mut t = Table::new(["KIND", "NAME", "VERSION", "SOURCE", "LAYER", "EVIDENCE"]);
            for p in &inv.packages {
                t.row([
                    p.kind.to_string(),
                    p.name.clone(),
                    p.version.clone(),
                    p.source
                        .as_ref()
                        .map(|s| format!("{} {}", s.name, s.version))
                        .unwrap_or_default(),
                    p.layer.as_ref().map(|l| l.short()).unwrap_or_default(),
                    p.evidence.first().cloned().unwrap_or_default(),
                ]);
            }
            t.write(&mut out)?;
            for (path, reason) in &inv.unreadable {
                eprintln!("warning: {path}: {reason}");
            }
        }
    }
    out.flush()?;
    Ok(crate::exit::OK)
}
