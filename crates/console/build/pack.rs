//! Packing a built console for embedding: each file's media type, strong ETag and
//! precomputed gzip and brotli encodings, written beside a generated table that
//! `include_bytes!`s them (so the binary holds exactly the bytes served).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Largest single file embedded (a bigger one is an error, not a silently huge binary).
const MAX_FILE: u64 = 32 * 1024 * 1024;
/// Most files embedded.
const MAX_FILES: usize = 2_000;

/// Media type by file extension; unknown ones are served as bytes.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Whether compressing can pay: text-like formats (images and fonts are compressed already).
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/manifest")
        || content_type == "image/svg+xml"
        || content_type == "application/wasm"
        || content_type == "image/x-icon"
}

fn gzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw)?;
    encoder.finish()
}

fn brotli(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &raw[..], &mut out, &params)?;
    Ok(out)
}

/// An encoding is kept only when it saves at least 5 %.
fn worth_it(encoded: Vec<u8>, raw: &[u8]) -> Option<Vec<u8>> {
    (encoded.len() * 100 < raw.len() * 95).then_some(encoded)
}

/// Every regular file under `dir`, as (URL path starting with `/`, file), sorted.
fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", d.display()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let relative = path
                    .strip_prefix(dir)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let parts: Option<Vec<&str>> = relative
                    .components()
                    .map(|c| c.as_os_str().to_str())
                    .collect();
                let parts = parts
                    .ok_or_else(|| format!("{}: a file name that is not UTF-8", path.display()))?;
                out.push((format!("/{}", parts.join("/")), path));
            }
        }
        if out.len() > MAX_FILES {
            return Err(format!(
                "{} holds more than {MAX_FILES} files",
                dir.display()
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// Packs the built console in `dist` into `out/packed/` and returns the Rust source of
/// the table of assets (an expression of type `&[Asset]`).
pub fn pack(dist: &Path, out: &Path) -> Result<String, String> {
    let files = files(dist)?;
    if !files.iter().any(|(p, _)| p == "/index.html") {
        return Err(format!(
            "{} has no index.html: is it a built console?",
            dist.display()
        ));
    }
    let packed = out.join("packed");
    let _ = std::fs::remove_dir_all(&packed);
    std::fs::create_dir_all(&packed).map_err(|e| format!("{}: {e}", packed.display()))?;
    let mut table = String::from("&[\n");
    for (i, (url, file)) in files.iter().enumerate() {
        let size = std::fs::metadata(file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        if size > MAX_FILE {
            return Err(format!(
                "{} is larger than {MAX_FILE} bytes",
                file.display()
            ));
        }
        let raw = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let content_type = content_type(url);
        let tag = &hex::encode(Sha256::digest(&raw))[..32];
        let write = |suffix: &str, bytes: &[u8]| -> Result<String, String> {
            let path = packed.join(format!("{i}.{suffix}"));
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(format!("include_bytes!({:?})", path.display().to_string()))
        };
        let (gz, br) = if compressible(content_type) {
            let encode_err = |e: std::io::Error| format!("compressing {}: {e}", file.display());
            (
                worth_it(gzip(&raw).map_err(encode_err)?, &raw),
                worth_it(brotli(&raw).map_err(encode_err)?, &raw),
            )
        } else {
            (None, None)
        };
        let gz = gz.map(|b| write("gz", &b)).transpose()?;
        let br = br.map(|b| write("br", &b)).transpose()?;
        let raw_src = write("raw", &raw)?;
        let _ = writeln!(
            table,
            "    Asset {{ path: {url:?}, content_type: {content_type:?}, tag: {tag:?}, raw: {raw_src}, gzip: {}, brotli: {} }},",
            gz.map_or("None".to_string(), |s| format!("Some({s})")),
            br.map_or("None".to_string(), |s| format!("Some({s})")),
        );
    }
    table.push(']');
    Ok(table)
}
