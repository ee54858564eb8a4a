//! `crowsnest image inspect`.

use std::io::Write;

use anyhow::Context;
use crowsnest_acquire::image::Image;
use crowsnest_acquire::manifest::{Descriptor, History, Platform};
use crowsnest_acquire::reference::ImageRef;
use crowsnest_model::Digest;
use serde::Serialize;

use crate::args::{Format, GlobalArgs, InspectArgs};
use crate::output::{self, Table};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspection {
    name: String,
    digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_digest: Option<Digest>,
    /// Platforms offered by the index, if the reference named one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    platforms: Vec<Platform>,
    platform: Platform,
    config_digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<crowsnest_acquire::manifest::RuntimeConfig>,
    layers: Vec<LayerView>,
    total_size: u64,
    history: Vec<History>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayerView {
    digest: Digest,
    diff_id: Digest,
    media_type: String,
    size: u64,
}

fn inspection(image: &Image) -> Inspection {
    let layers: Vec<LayerView> = image
        .layers()
        .into_iter()
        .map(|l| LayerView {
            digest: l.descriptor.digest,
            diff_id: l.diff_id,
            media_type: l.descriptor.media_type,
            size: l.descriptor.size,
        })
        .collect();
    Inspection {
        name: image.name.clone(),
        digest: image.manifest_digest.clone(),
        media_type: image
            .manifest_media_type
            .clone()
            .or_else(|| image.manifest.media_type.clone()),
        index_digest: image.index.as_ref().map(|i| i.digest.clone()),
        platforms: image
            .index
            .as_ref()
            .map(|i| {
                i.manifests
                    .iter()
                    .filter_map(|d: &Descriptor| d.platform.clone())
                    .collect()
            })
            .unwrap_or_default(),
        platform: image.platform(),
        config_digest: image.config_digest().clone(),
        created: image.config.created.clone(),
        config: image.config.config.clone(),
        total_size: layers.iter().map(|l| l.size).sum(),
        layers,
        history: image.config.history.clone(),
    }
}

pub async fn inspect(args: InspectArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let reference: ImageRef = args
        .reference
        .parse()
        .with_context(|| format!("image reference {:?}", args.reference))?;
    let opts = super::acquire_options(&args.image)?;
    let images = if args.image.all_platforms {
        Image::open_all_platforms(&reference, &opts).await?
    } else {
        vec![Image::open(&reference, &opts).await?]
    };
    let views: Vec<Inspection> = images.iter().map(inspection).collect();
    match args.format {
        Format::Json if args.image.all_platforms => output::json(&views)?,
        Format::Json => output::json(&views[0])?,
        Format::Table => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for (i, v) in views.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_table(&mut out, v)?;
            }
        }
    }
    Ok(crate::exit::OK)
}

fn write_table(out: &mut impl Write, v: &Inspection) -> anyhow::Result<()> {
    writeln!(out, "Name:      {}", v.name)?;
    writeln!(out, "Digest:    {}", v.digest)?;
    if let Some(i) = &v.index_digest {
        let platforms: Vec<String> = v.platforms.iter().map(|p| p.to_string()).collect();
        writeln!(out, "Index:     {i} ({})", platforms.join(", "))?;
    }
    writeln!(out, "Platform:  {}", v.platform)?;
    if let Some(m) = &v.media_type {
        writeln!(out, "MediaType: {m}")?;
    }
    writeln!(out, "Config:    {}", v.config_digest)?;
    if let Some(c) = &v.created {
        writeln!(out, "Created:   {c}")?;
    }
    if let Some(cfg) = &v.config {
        if let Some(e) = &cfg.entrypoint {
            writeln!(out, "Entrypoint: {}", e.join(" "))?;
        }
        if let Some(c) = &cfg.cmd {
            writeln!(out, "Cmd:       {}", c.join(" "))?;
        }
        if let Some(u) = cfg.user.as_ref().filter(|u| !u.is_empty()) {
            writeln!(out, "User:      {u}")?;
        }
        if let Some(p) = &cfg.exposed_ports {
            let ports: Vec<&str> = p.keys().map(String::as_str).collect();
            writeln!(out, "Ports:     {}", ports.join(", "))?;
        }
    }
    writeln!(
        out,
        "Size:      {} in {} layers",
        output::bytes(v.total_size),
        v.layers.len()
    )?;
    writeln!(out)?;
    let mut t = Table::new(["#", "DIGEST", "SIZE", "MEDIA TYPE"]);
    for (i, l) in v.layers.iter().enumerate() {
        t.row([
            i.to_string(),
            l.digest.to_string(),
            output::bytes(l.size),
            l.media_type.clone(),
        ]);
    }
    t.write(out)?;
    if !v.history.is_empty() {
        writeln!(out)?;
        let mut t = Table::new(["CREATED", "CREATED BY"]);
        for h in &v.history {
            let by = h.created_by.clone().unwrap_or_default();
            let by: String = if by.chars().count() > 100 {
                by.chars().take(97).chain("...".chars()).collect()
            } else {
                by
            };
            t.row([h.created.clone().unwrap_or_default(), by]);
        }
        t.write(out)?;
    }
    Ok(())
}
