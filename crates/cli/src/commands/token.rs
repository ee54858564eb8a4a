//! `crowsnest token create|list|revoke`: API tokens for `crowsnest serve`. The token is
//! printed once at creation; the store keeps only its SHA-256.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use crowsnest_api::store::{AnyStore, Store, TokenRole};

use crate::args::{TokenCommand, TokenStore};
use crate::output::{self, Table};

async fn open(location: &TokenStore) -> anyhow::Result<AnyStore> {
    let data_dir: PathBuf = location
        .data_dir
        .clone()
        .or_else(crowsnest_feeds::default_data_dir)
        .ok_or_else(|| anyhow!("no data directory: set --data-dir or HOME"))?;
    AnyStore::open(location.database_url.as_deref(), &data_dir)
        .await
        .context("opening the store")
}

pub async fn token(command: TokenCommand) -> anyhow::Result<i32> {
    match command {
        TokenCommand::Create(args) => {
            let role = TokenRole::parse(&args.role)
                .ok_or_else(|| anyhow!("--role {}: expected read or admin", args.role))?;
            let store = open(&args.store).await?;
            let token = crowsnest_api::auth::generate_token()
                .map_err(|e| anyhow!("generating a random token: {e}"))?;
            store
                .create_api_token(&args.name, role, &crowsnest_api::auth::token_hash(&token))
                .await
                .with_context(|| format!("creating token {}", args.name))?;
            eprintln!(
                "token {} ({}) created; it is shown once, store it now:",
                args.name,
                role.as_str()
            );
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
            Ok(crate::exit::OK)
        }
        TokenCommand::List(args) => {
            let store = open(&args).await?;
            let tokens = store.api_tokens().await.context("listing tokens")?;
            let mut table = Table::new(["NAME", "ROLE", "CREATED", "LAST USED"]);
            for t in &tokens {
                table.row([
                    t.name.clone(),
                    t.role.as_str().to_string(),
                    t.created.to_string(),
                    t.last_used
                        .map_or_else(|| "never".to_string(), |u| u.to_string()),
                ]);
            }
            let mut out = output::writer(None)?;
            table.write(&mut out)?;
            out.flush()?;
            Ok(crate::exit::OK)
        }
        TokenCommand::Revoke(args) => {
            let store = open(&args.store).await?;
            if !store
                .revoke_api_token(&args.name)
                .await
                .with_context(|| format!("revoking token {}", args.name))?
            {
                bail!("no token named {}", args.name);
            }
            eprintln!(
                "token {} revoked (a running server stops accepting it within {} s)",
                args.name,
                crowsnest_api::auth::TOKEN_CACHE.as_secs()
            );
            Ok(crate::exit::OK)
        }
    }
}
