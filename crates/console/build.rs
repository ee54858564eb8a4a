//! Builds the web console (console/ at the workspace root) with npm into OUT_DIR and packs
//! it for embedding, or packs a console built beforehand (`CROWSNEST_CONSOLE_DIST`).
//!
//! The sources are copied into OUT_DIR and built there, so a cargo build never writes
//! into the source tree (no node_modules or dist appear in console/ because of it).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[path = "build/pack.rs"]
mod pack;

/// Directories of console/ that are outputs or installs, never sources.
const NOT_SOURCES: &[&str] = &["node_modules", "dist", "test-results", "playwright-report"];

const FIX: &str = "install Node.js and npm (Debian: apt-get install nodejs npm), \
                   or build the console yourself (cd console && npm ci && npm run build) \
                   and set CROWSNEST_CONSOLE_DIST=<that console/dist>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: cannot embed the web console: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?);
    println!("cargo::rerun-if-env-changed=CROWSNEST_CONSOLE_DIST");
    println!("cargo::rerun-if-changed=build/pack.rs");
    let dist = match std::env::var_os("CROWSNEST_CONSOLE_DIST") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            println!("cargo::rerun-if-changed={}", dir.display());
            dir
        }
        None => {
            let manifest = PathBuf::from(
                std::env::var("CARGO_MANIFEST_DIR")
                    .map_err(|e| format!("CARGO_MANIFEST_DIR: {e}"))?,
            );
            let sources = manifest.join("../../console");
            watch_sources(&sources)?;
            build_with_npm(&sources, &out.join("console"))?
        }
    };
    let table = pack::pack(&dist, &out)?;
    let generated = out.join("assets.rs");
    std::fs::write(&generated, table).map_err(|e| format!("{}: {e}", generated.display()))
}

/// Asks cargo to run this again when a console source changes (every top-level entry of
/// console/ but its outputs and installs; directories are watched recursively).
fn watch_sources(sources: &Path) -> Result<(), String> {
    println!("cargo::rerun-if-changed={}", sources.display());
    let entries = std::fs::read_dir(sources).map_err(|e| {
        format!("the console sources are missing ({}: {e}); set CROWSNEST_CONSOLE_DIST to a built console", sources.display())
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !NOT_SOURCES.iter().any(|n| name == *n) {
            println!("cargo::rerun-if-changed={}", entry.path().display());
        }
    }
    Ok(())
}

fn copy_sources(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let name = entry.file_name();
        if NOT_SOURCES.iter().any(|n| name == *n) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", source.display()))?;
        if kind.is_dir() {
            copy_sources(&source, &target)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target).map_err(|e| format!("{}: {e}", source.display()))?;
        }
    }
    Ok(())
}

fn npm(work: &Path, args: &[&str]) -> Result<(), String> {
    let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".to_string());
    let status = Command::new(&npm)
        .args(args)
        .current_dir(work)
        .env("CI", "1")
        .status()
        .map_err(|e| format!("cannot run `{npm}` ({e}): {FIX}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`npm {}` in {} failed ({status}); its output is above",
            args.join(" "),
            work.display()
        ))
    }
}

/// Copies the sources into `work`, installs the locked dependencies and builds; returns
/// the built dist directory.
fn build_with_npm(sources: &Path, work: &Path) -> Result<PathBuf, String> {
    if !sources.join("package-lock.json").is_file() {
        return Err(format!(
            "{} has no package-lock.json: the console is built only from locked dependencies",
            sources.display()
        ));
    }
    // The old copy's sources go (a deleted source file must not linger); its
    // node_modules stays, `npm ci` replaces it anyway but reuses npm's cache.
    if let Ok(entries) = std::fs::read_dir(work) {
        for entry in entries.flatten() {
            if entry.file_name() != "node_modules" {
                let path = entry.path();
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    copy_sources(sources, work)?;
    npm(work, &["ci", "--prefer-offline", "--no-audit", "--no-fund"])?;
    npm(work, &["run", "build"])?;
    Ok(work.join("dist"))
}
