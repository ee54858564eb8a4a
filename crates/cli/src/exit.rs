//! Exit codes and error reporting.
//!
//! 0 success; 1 a policy threshold was met (`--fail-on`), which is not an error;
//! 2 usage error (clap); 3 runtime error; 4 authentication or authorization failure;
//! 5 the named object was not found. A broken pipe (`crowsnest … | head`) exits 0.

use crowsnest_acquire::image::AcquireError;
use crowsnest_acquire::registry::RegistryError;

pub const OK: i32 = 0;
pub const POLICY: i32 = 1;
pub const ERROR: i32 = 3;
pub const AUTH: i32 = 4;
pub const NOT_FOUND: i32 = 5;

pub fn init_logging(verbose: u8, json: bool, service: bool) {
    let default = match verbose {
        0 if service => "info",
        0 => "warn",
        1 => "info,crowsnest=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CROWSNEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.without_time().init();
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn registry_class(e: &RegistryError) -> Option<i32> {
    match e {
        RegistryError::Unauthorized { .. } | RegistryError::Forbidden { .. } => Some(AUTH),
        RegistryError::NotFound { .. } => Some(NOT_FOUND),
        _ => None,
    }
}

fn class(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<RegistryError>()
            && let Some(c) = registry_class(e)
        {
            return c;
        }
        if let Some(AcquireError::Registry(e)) = cause.downcast_ref::<AcquireError>()
            && let Some(c) = registry_class(e)
        {
            return c;
        }
    }
    ERROR
}

/// Prints `error: …` and each `caused by: …` once (hints are part of the messages).
pub fn report(err: &anyhow::Error) -> i32 {
    if is_broken_pipe(err) {
        return OK;
    }
    let mut printed: Vec<String> = Vec::new();
    eprintln!("error: {err}");
    printed.push(err.to_string());
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        // thiserror messages often embed their source; don't repeat it.
        if printed.iter().any(|p| p.contains(&text)) {
            continue;
        }
        eprintln!("  caused by: {text}");
        printed.push(text);
    }
    class(err)
}
