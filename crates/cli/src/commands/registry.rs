//! `crowsnest registry list`.

use anyhow::Context;
use crowsnest_acquire::enumerate::{ListOptions, list_registry};

use crate::args::{Format, GlobalArgs, RegistryListArgs};
use crate::output::{self, Table};

pub async fn list(args: RegistryListArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let acquire = crowsnest_acquire::image::AcquireOptions {
        registry: super::registry_options(&args.access)?,
        auth_files: crowsnest_acquire::credentials::AuthFileLookup {
            authfile: args.access.authfile.clone(),
        },
        ..Default::default()
    };
    let client = crowsnest_acquire::image::registry_client(&args.registry, &acquire)?;
    let opts = ListOptions {
        repository_filter: args.repo.clone(),
        concurrency: args.concurrency,
        with_created: !args.no_created,
        ..ListOptions::default()
    };
    let listing = list_registry(client, &opts)
        .await
        .with_context(|| format!("listing registry {}", args.registry))?;
    match args.format {
        Format::Json => output::json(&listing)?,
        Format::Table => {
            let mut t = Table::new(["REPOSITORY", "TAG", "DIGEST", "PLATFORMS", "CREATED"]);
            for repo in &listing {
                if let Some(e) = &repo.error {
                    t.row([
                        repo.repository.clone(),
                        "-".into(),
                        format!("error: {e}"),
                        String::new(),
                        String::new(),
                    ]);
                }
                for tag in &repo.tags {
                    let platforms: Vec<String> = tag
                        .platforms
                        .iter()
                        .map(|p| {
                            p.platform
                                .as_ref()
                                .map_or("?".to_string(), |p| p.to_string())
                        })
                        .collect();
                    let created = tag
                        .platforms
                        .iter()
                        .filter_map(|p| p.created.clone())
                        .max()
                        .unwrap_or_default();
                    let digest = match (&tag.digest, &tag.error) {
                        (_, Some(e)) => format!("error: {e}"),
                        (Some(d), None) => d.to_string(),
                        (None, None) => String::new(),
                    };
                    t.row([
                        repo.repository.clone(),
                        tag.tag.clone(),
                        digest,
                        platforms.join(","),
                        created,
                    ]);
                }
            }
            let stdout = std::io::stdout();
            t.write(&mut stdout.lock())?;
        }
    }
    Ok(crate::exit::OK)
}
