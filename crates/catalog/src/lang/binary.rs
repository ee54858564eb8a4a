//! Compiled binaries that record their own dependencies: Go executables (the build info
//! the Go linker embeds) and Rust executables built with `cargo auditable` (a
//! zlib-compressed JSON dependency list in a `.dep-v0` section).
//!
//! Any regular file with an execute bit (or an `.exe` name) is a candidate; one whose
//! first bytes are not ELF, Mach-O or PE magic is dismissed after reading four bytes. The
//! rest is read into memory up to [`BINARY_CAP`] and parsed with the `object` crate.
//!
//! Go build info layout (Go ≥ 1.18, "inline" form): a 32-byte header — the 14-byte
//! magic `\xff Go buildinf:`, the pointer size, a flags byte (bit 1: strings inline,
//! bit 0: big-endian) — then two varint-length-prefixed strings: the toolchain version
//! (`go1.21.5`) and the module info. Go < 1.18 stores, after the flags, two pointers to
//! Go string headers elsewhere in the binary; those are followed through the object's
//! sections. The module info text (between 16-byte sentinels) has tab-separated lines:
//! `path`, `mod` (main module), `dep` (a dependency), `=>` (replacement of the line
//! before), `build` (settings).

use std::io::Read;

use crowsnest_model::{Package, PackageKind};
use object::{Object, ObjectSection};
use serde::Deserialize;

/// Largest executable read into memory.
pub const BINARY_CAP: u64 = 256 << 20;
/// Largest decompressed cargo-auditable dependency list (real ones are kilobytes).
pub const AUDIT_JSON_CAP: u64 = 8 << 20;
/// Smallest file worth opening: no ELF, Mach-O or PE executable is shorter.
const MIN_BINARY_SIZE: u64 = 64;

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";
const GO_HEADER_LEN: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 1;
const FLAG_INLINE_STRINGS: u8 = 2;
/// Go string lengths accepted in the build info (its module text is kilobytes).
const GO_STRING_MAX: u64 = 4 << 20;

pub(crate) fn wants(path: &str, mode: u32) -> bool {
    mode & 0o111 != 0 || path.len() > 4 && path[path.len() - 4..].eq_ignore_ascii_case(".exe")
}

pub(crate) fn wants_size(size: u64) -> bool {
    size >= MIN_BINARY_SIZE
}

fn is_executable_magic(head: &[u8]) -> bool {
    matches!(
        head,
        [0x7f, b'E', b'L', b'F']
            | [b'M', b'Z', _, _]
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe]
    )
}

pub(crate) fn analyze(
    path: &str,
    size: u64,
    content: &mut dyn Read,
) -> Result<Vec<Package>, String> {
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match content.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading executable: {e}")),
        }
    }
    if filled < head.len() || !is_executable_magic(&head) {
        return Ok(Vec::new());
    }
    if size > BINARY_CAP {
        return Err(format!(
            "executable of {size} bytes is larger than the {BINARY_CAP}-byte limit"
        ));
    }
    let mut bytes = head.to_vec();
    bytes.extend(super::read_capped(
        content,
        BINARY_CAP - head.len() as u64,
        "executable",
    )?);
    analyze_bytes(path, &bytes)
}

/// Catalogs an executable already in memory.
pub fn analyze_bytes(path: &str, bytes: &[u8]) -> Result<Vec<Package>, String> {
    let file = object::File::parse(bytes).ok();
    let mut packages = Vec::new();
    if let Some(blob) = find_go_buildinfo(file.as_ref(), bytes) {
        let (toolchain, modinfo) = decode_go_buildinfo(blob, file.as_ref())?;
        packages.extend(go_packages(path, &toolchain, &modinfo)?);
    }
    if let Some(section) = file.as_ref().and_then(|f| f.section_by_name(".dep-v0")) {
        let compressed = section
            .data()
            .map_err(|e| format!("cargo-auditable section unreadable: {e}"))?;
        packages.extend(cargo_packages(path, compressed)?);
    }
    Ok(packages)
}

/// The build info blob (from the magic to the end of its section): the dedicated
/// section when the format has one, else the first 16-byte-aligned magic in a data
/// section, else (an object the parser rejected) anywhere in the file, 16-byte aligned.
fn find_go_buildinfo<'a>(file: Option<&object::File<'a>>, bytes: &'a [u8]) -> Option<&'a [u8]> {
    let aligned_magic = |data: &'a [u8]| -> Option<&'a [u8]> {
        (0..data.len())
            .step_by(16)
            .find(|&at| data[at..].starts_with(GO_MAGIC))
            .map(|at| &data[at..])
    };
    let Some(file) = file else {
        return aligned_magic(bytes);
    };
    for name in [".go.buildinfo", "__go_buildinfo"] {
        if let Some(data) = file.section_by_name(name).and_then(|s| s.data().ok()) {
            return aligned_magic(data);
        }
    }
    file.sections()
        .filter(|s| s.kind() == object::SectionKind::Data)
        .filter_map(|s| s.data().ok())
        .find_map(aligned_magic)
}

/// The toolchain version and module text of a build info blob.
fn decode_go_buildinfo(
    blob: &[u8],
    file: Option<&object::File<'_>>,
) -> Result<(String, String), String> {
    if blob.len() < GO_HEADER_LEN {
        return Err("Go build info header is truncated".to_string());
    }
    let pointer_size = usize::from(blob[14]);
    let flags = blob[15];
    let (version, modinfo) = if flags & FLAG_INLINE_STRINGS != 0 {
        let mut rest = &blob[GO_HEADER_LEN..];
        let version =
            take_varint_string(&mut rest).map_err(|e| format!("Go build info version: {e}"))?;
        let modinfo =
            take_varint_string(&mut rest).map_err(|e| format!("Go build info module text: {e}"))?;
        (version.to_vec(), modinfo.to_vec())
    } else {
        let file = file
            .ok_or("Go build info in pointer form, but the executable's sections are unreadable")?;
        if pointer_size != 4 && pointer_size != 8 {
            return Err(format!(
                "Go build info pointer size {pointer_size} is neither 4 nor 8"
            ));
        }
        let big_endian = flags & FLAG_BIG_ENDIAN != 0;
        let pointers = blob
            .get(16..16 + 2 * pointer_size)
            .ok_or("Go build info header is truncated")?;
        let read_word = |b: &[u8]| read_uint(b, big_endian);
        let version_header = read_word(&pointers[..pointer_size]);
        let modinfo_header = read_word(&pointers[pointer_size..]);
        let version = go_string_at(file, version_header, pointer_size, big_endian)?;
        let modinfo = go_string_at(file, modinfo_header, pointer_size, big_endian)?;
        (version.to_vec(), modinfo.to_vec())
    };
    let version =
        String::from_utf8(version).map_err(|_| "Go build info version is not UTF-8".to_string())?;
    let mut modinfo = modinfo.as_slice();
    // The module text sits between two 16-byte sentinels, whose first byte after the
    // text is a newline; Go tooling strips them the same way.
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let modinfo = String::from_utf8(modinfo.to_vec())
        .map_err(|_| "Go module text is not UTF-8".to_string())?;
    Ok((version, modinfo))
}

fn read_uint(bytes: &[u8], big_endian: bool) -> u64 {
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

/// A Go string (data pointer, length) whose header sits at virtual address `header`.
fn go_string_at<'a>(
    file: &object::File<'a>,
    header: u64,
    pointer_size: usize,
    big_endian: bool,
) -> Result<&'a [u8], String> {
    let words = memory_at(file, header, 2 * pointer_size as u64)
        .ok_or_else(|| format!("Go build info points at unmapped address {header:#x}"))?;
    let data = read_uint(&words[..pointer_size], big_endian);
    let len = read_uint(&words[pointer_size..], big_endian);
    if len > GO_STRING_MAX {
        return Err(format!("Go build info string claims {len} bytes"));
    }
    memory_at(file, data, len)
        .ok_or_else(|| format!("Go build info string at {data:#x} (+{len}) is unmapped"))
}

fn memory_at<'a>(file: &object::File<'a>, address: u64, len: u64) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    file.sections()
        .find_map(|s| s.data_range(address, len).ok().flatten())
}

/// Takes a Go `binary.Uvarint` length and that many bytes off the front of `rest`.
fn take_varint_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let mut len: u64 = 0;
    let mut used = 0;
    loop {
        let Some(&byte) = rest.get(used) else {
            return Err("length runs off the end".to_string());
        };
        if used == 9 && byte > 1 {
            return Err("length varint overflows".to_string());
        }
        len |= u64::from(byte & 0x7f) << (7 * used);
        used += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let body = &rest[used..];
    if len > body.len() as u64 {
        return Err(format!("length {len} runs past the end of the section"));
    }
    let (string, after) = body.split_at(len as usize);
    *rest = after;
    Ok(string)
}

/// One module line: `<path>\t<version>[\t<sum>]`.
fn module_fields(fields: &str, line_no: usize) -> Result<(&str, &str), String> {
    let mut parts = fields.split('\t');
    match (parts.next(), parts.next()) {
        (Some(path), version) if !path.is_empty() => Ok((path, version.unwrap_or(""))),
        _ => Err(format!("Go module text line {line_no}: no module path")),
    }
}

struct GoModule {
    path: String,
    version: String,
}

/// The main module, its dependencies (replacements applied) and the standard library.
fn go_packages(evidence: &str, toolchain: &str, modinfo: &str) -> Result<Vec<Package>, String> {
    let mut modules: Vec<GoModule> = Vec::new();
    // Whether the last module line can still take a `=>` replacement.
    let mut replaceable = false;
    for (line_no, line) in modinfo.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let Some((keyword, rest)) = line.split_once('\t') else {
            if line.is_empty() {
                continue;
            }
            return Err(format!(
                "Go module text line {line_no} has no tab: {:?}",
                clip(line)
            ));
        };
        match keyword {
            "mod" | "dep" => {
                let (path, version) = module_fields(rest, line_no)?;
                modules.push(GoModule {
                    path: path.to_string(),
                    version: version.to_string(),
                });
                replaceable = true;
            }
            "=>" => {
                if !replaceable {
                    return Err(format!(
                        "Go module text line {line_no}: replacement without a module"
                    ));
                }
                let (path, version) = module_fields(rest, line_no)?;
                let Some(replaced) = modules.last_mut() else {
                    return Err(format!(
                        "Go module text line {line_no}: replacement without a module"
                    ));
                };
                // A replacement by a local directory has no version: the code is whatever
                // was on disk, so the original path stays and the version is unknown.
                if version.is_empty() {
                    replaced.version = "(devel)".to_string();
                } else {
                    replaced.path = path.to_string();
                    replaced.version = version.to_string();
                }
                replaceable = false;
            }
            // `path` repeats the main package; `build` holds settings (flags, VCS info).
            "path" | "build" => replaceable = false,
            _ => {
                return Err(format!(
                    "Go module text line {line_no}: unknown keyword {:?}",
                    clip(keyword)
                ));
            }
        }
    }
    let mut packages = Vec::with_capacity(modules.len() + 1);
    for module in modules {
        let (namespace, name) = match module.path.rsplit_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, module.path.as_str()),
        };
        let purl = super::purl(PackageKind::Go, namespace, name, &module.version)?;
        packages.push(super::package(
            PackageKind::Go,
            module.path,
            module.version,
            purl,
            Vec::new(),
            evidence.to_string(),
        ));
    }
    if let Some(version) = stdlib_version(toolchain) {
        let purl = super::purl(PackageKind::Go, None, "stdlib", &version)?;
        packages.push(super::package(
            PackageKind::Go,
            "stdlib".to_string(),
            version,
            purl,
            Vec::new(),
            evidence.to_string(),
        ));
    }
    Ok(packages)
}

/// The Go toolchain as a module version: `go1.21.5` → `v1.21.5`, `go1.20` → `v1.20.0`,
/// `go1.21rc2` → `v1.21.0-rc.2`; experiments after a space (`go1.22.1 X:boringcrypto`)
/// are dropped. Development toolchains (`devel ...`) have no release version: `None`.
pub fn stdlib_version(toolchain: &str) -> Option<String> {
    let release = toolchain.split_whitespace().next()?.strip_prefix("go")?;
    let numeric_end = release
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(release.len());
    let (numbers, suffix) = release.split_at(numeric_end);
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) || !(2..=3).contains(&parts.len()) {
        return None;
    }
    let patch = parts.get(2).copied().unwrap_or("0");
    let pre = if suffix.is_empty() {
        String::new()
    } else {
        let kind_end = suffix.find(|c: char| c.is_ascii_digit())?;
        let (kind, n) = suffix.split_at(kind_end);
        if !matches!(kind, "rc" | "beta") || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        format!("-{kind}.{n}")
    };
    Some(format!("v{}.{}.{patch}{pre}", parts[0], parts[1]))
}

#[derive(Deserialize)]
struct AuditData {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    source: String,
}

/// The crates a cargo-auditable dependency list records. Crates whose source is `local`
/// (the binary's own workspace crates, the root among them) are not published packages:
/// reporting them as `pkg:cargo/` would match them against crates.io advisories for
/// unrelated crates of the same name, so they are left out.
fn cargo_packages(evidence: &str, compressed: &[u8]) -> Result<Vec<Package>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(AUDIT_JSON_CAP + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable data does not decompress: {e}"))?;
    if json.len() as u64 > AUDIT_JSON_CAP {
        return Err(format!(
            "cargo-auditable data decompresses past {AUDIT_JSON_CAP} bytes"
        ));
    }
    let data: AuditData = serde_json::from_slice(&json)
        .map_err(|e| format!("cargo-auditable data is not the expected JSON: {e}"))?;
    let mut packages = Vec::new();
    for crate_ in data.packages {
        if crate_.source == "local" {
            continue;
        }
        let purl = super::purl(PackageKind::Cargo, None, &crate_.name, &crate_.version)?;
        packages.push(super::package(
            PackageKind::Cargo,
            crate_.name,
            crate_.version,
            purl,
            Vec::new(),
            evidence.to_string(),
        ));
    }
    Ok(packages)
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL_START: &[u8] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const SENTINEL_END: &[u8] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/gorilla/websocket\tv1.4.0\th1:WDFjx/D4w1dlH86kMrhDTOeFy7mvLCqGWvYbFyMCgq4=\ndep\tgolang.org/x/text\tv0.3.5\th1:abc=\n=>\tgolang.org/x/text\tv0.3.6\th1:def=\ndep\texample.com/local\tv0.0.0\n=>\t../local\t\nbuild\t-compiler=gc\nbuild\tCGO_ENABLED=0\nbuild\tGOOS=linux\n";

    /// A build info blob in the inline form, as `go build` ≥ 1.18 lays it out.
    fn inline_blob(version: &str, modinfo: &[u8]) -> Vec<u8> {
        let mut blob = GO_MAGIC.to_vec();
        blob.push(8);
        blob.push(FLAG_INLINE_STRINGS);
        blob.resize(GO_HEADER_LEN, 0);
        for s in [version.as_bytes(), modinfo] {
            let mut n = s.len() as u64;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                blob.push(if n > 0 { byte | 0x80 } else { byte });
                if n == 0 {
                    break;
                }
            }
            blob.extend_from_slice(s);
        }
        blob
    }

    fn wrapped(modinfo: &str) -> Vec<u8> {
        [SENTINEL_START, modinfo.as_bytes(), SENTINEL_END].concat()
    }

    #[test]
    fn modinfo_with_replacements() {
        let blob = inline_blob("go1.21.5", &wrapped(MODINFO));
        let (toolchain, modinfo) = decode_go_buildinfo(&blob, None).unwrap();
        assert_eq!(toolchain, "go1.21.5");
        let pkgs = go_packages("/usr/local/bin/app", &toolchain, &modinfo).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "example.com/app",
                    "(devel)",
                    "pkg:golang/example.com/app@(devel)"
                ),
                (
                    "github.com/gorilla/websocket",
                    "v1.4.0",
                    "pkg:golang/github.com/gorilla/websocket@v1.4.0"
                ),
                (
                    "golang.org/x/text",
                    "v0.3.6",
                    "pkg:golang/golang.org/x/text@v0.3.6"
                ),
                (
                    "example.com/local",
                    "(devel)",
                    "pkg:golang/example.com/local@(devel)"
                ),
                ("stdlib", "v1.21.5", "pkg:golang/stdlib@v1.21.5"),
            ]
        );
    }

    #[test]
    fn toolchain_versions() {
        assert_eq!(stdlib_version("go1.21.5").as_deref(), Some("v1.21.5"));
        assert_eq!(stdlib_version("go1.20").as_deref(), Some("v1.20.0"));
        assert_eq!(stdlib_version("go1.21rc2").as_deref(), Some("v1.21.0-rc.2"));
        assert_eq!(
            stdlib_version("go1.22.1 X:boringcrypto").as_deref(),
            Some("v1.22.1")
        );
        assert_eq!(stdlib_version("devel go1.23-abcdef"), None);
        assert_eq!(stdlib_version("go1"), None);
        assert_eq!(stdlib_version("go1.2x"), None);
    }

    #[test]
    fn hostile_corrupt_build_info() {
        // Length prefix larger than the section.
        let mut blob = inline_blob("go1.21.5", &wrapped(MODINFO));
        blob[GO_HEADER_LEN + 9] = 0xff;
        blob[GO_HEADER_LEN + 10] = 0xff;
        assert!(decode_go_buildinfo(&blob, None).is_err());
        // Truncated header; endless varint.
        assert!(
            decode_go_buildinfo(&blob[..20], None)
                .unwrap_err()
                .contains("truncated")
        );
        let mut endless = inline_blob("", b"");
        endless.truncate(GO_HEADER_LEN);
        endless.extend([0xff; 12]);
        assert!(decode_go_buildinfo(&endless, None).is_err());
        // Pointer form needs the object's sections.
        let mut pointer_form = blob.clone();
        pointer_form[15] = 0;
        assert!(
            decode_go_buildinfo(&pointer_form, None)
                .unwrap_err()
                .contains("pointer form")
        );
        // Broken module text.
        for bad in ["=>\tx\tv1\n", "dep\t\tv1\n", "bogus\tx\n", "no tab here\n"] {
            assert!(go_packages("/b", "go1.21.0", bad).is_err(), "{bad:?}");
        }
        assert!(String::from_utf8(wrapped("mod\t\u{fffd}")).is_err());
        let bad_utf8 = inline_blob("go1.21.5", b"dep\t\xff\xfe\tv1\n");
        assert!(
            decode_go_buildinfo(&bad_utf8, None)
                .unwrap_err()
                .contains("UTF-8")
        );
    }

    #[test]
    fn non_executables_are_dismissed_after_four_bytes() {
        let mut script: &[u8] = b"#!/bin/sh\necho hi\n";
        assert_eq!(analyze("/usr/bin/hi", 18, &mut script).unwrap(), vec![]);
        assert_eq!(script, b"in/sh\necho hi\n");
        assert!(wants("/x/tool.EXE", 0o644));
        assert!(wants("/x/tool", 0o755));
        assert!(!wants("/x/tool", 0o644));
        assert!(!wants_size(10));
    }

    #[test]
    fn raw_scan_when_headers_are_unparseable() {
        // An ELF whose headers are garbage but which holds aligned build info: found by
        // the raw scan, and its (valid) contents reported.
        let mut bytes = b"\x7fELF".to_vec();
        bytes.resize(64, 0xee);
        bytes.extend(inline_blob("go1.22.0", &wrapped("mod\tx.io/m\tv1.0.0\t\n")));
        let pkgs = analyze_bytes("/b", &bytes).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "x.io/m");
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn cargo_auditable_json() {
        let json = br#"{"packages":[
            {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
            {"name":"smallvec","version":"1.6.0","source":"crates.io"},
            {"name":"time","version":"0.1.43","source":"crates.io","kind":"runtime","dependencies":[3]},
            {"name":"libc","version":"0.2.150","source":"crates.io","kind":"build"}]}"#;
        let pkgs = cargo_packages("/usr/local/bin/app", &zlib(json)).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("smallvec", "1.6.0", "pkg:cargo/smallvec@1.6.0"),
                ("time", "0.1.43", "pkg:cargo/time@0.1.43"),
                ("libc", "0.2.150", "pkg:cargo/libc@0.2.150"),
            ]
        );
    }

    #[test]
    fn hostile_cargo_auditable() {
        assert!(
            cargo_packages("/b", b"not zlib")
                .unwrap_err()
                .contains("decompress")
        );
        assert!(
            cargo_packages("/b", &zlib(b"{\"packages\": 1}"))
                .unwrap_err()
                .contains("JSON")
        );
        // A compressed bomb: 9 MiB of spaces inflates past the cap, which stops the read.
        let bomb = zlib(&vec![b' '; 9 << 20]);
        assert!(bomb.len() < 64 << 10);
        assert!(
            cargo_packages("/b", &bomb)
                .unwrap_err()
                .contains("decompresses past")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = analyze_bytes("/b", &bytes);
            let mut with_elf = b"\x7fELF".to_vec();
            with_elf.extend(&bytes);
            let _ = analyze_bytes("/b", &with_elf);
        }

        #[test]
        fn never_panics_on_damaged_build_info(flips in proptest::collection::vec((0usize..512, proptest::num::u8::ANY), 1..8)) {
            let mut blob = inline_blob("go1.21.5", &wrapped(MODINFO));
            for (at, byte) in flips {
                let at = at % blob.len();
                blob[at] = byte;
            }
            if let Ok((toolchain, modinfo)) = decode_go_buildinfo(&blob, None) {
                let _ = go_packages("/b", &toolchain, &modinfo);
            }
        }

        #[test]
        fn never_panics_on_module_text(text in "((mod|dep|=>|path|build|x)\t[a-z./]{0,8}(\t[v0-9.]{0,6})?\n){0,12}") {
            let _ = go_packages("/b", "go1.21.0", &text);
        }
    }
}
