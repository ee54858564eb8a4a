//! Paths inside an image's filesystem.
//!
//! Every path Crowsnest stores for an image is *normalized*: it starts with `/`, has no
//! empty, `.` or `..` components and no trailing `/`. Tar entries from layers are hostile,
//! so normalization is where `../` escapes are caught: a name that would climb above the
//! root is rejected rather than silently clamped, and the caller reports it.
//!
//! Names longer than [`MAX_PATH_BYTES`] (the kernel's `PATH_MAX`) are rejected too: no
//! process in a container could open them, and every later step (squashing, symlink
//! resolution, parent walks) then works on paths of bounded length.

/// The longest path accepted, in bytes: Linux's `PATH_MAX`.
pub const MAX_PATH_BYTES: usize = 4096;

/// How much of a rejected name an error message keeps.
const SHOWN_BYTES: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("path {0:?} climbs above the image root with '..'")]
    EscapesRoot(String),
    #[error("path {0:?} is empty")]
    Empty(String),
    #[error("path {0:?} contains a NUL byte")]
    Nul(String),
    #[error("path {shown:?}… is {len} bytes long, limit {MAX_PATH_BYTES}")]
    TooLong { shown: String, len: usize },
}

/// The start of `s`, at most [`SHOWN_BYTES`] long, cut at a character boundary: hostile
/// names are reported, not copied whole into every error.
pub fn shorten(s: &str) -> &str {
    if s.len() <= SHOWN_BYTES {
        return s;
    }
    let mut end = SHOWN_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Normalizes a tar entry name (`./etc/passwd`, `etc/passwd`, `/etc/passwd`) into
/// `/etc/passwd`. The root itself normalizes to `/`.
pub fn normalize(name: &str) -> Result<String, PathError> {
    if name.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong {
            shown: shorten(name).to_string(),
            len: name.len(),
        });
    }
    if name.contains('\0') {
        return Err(PathError::Nul(name.to_string()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for comp in name.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::EscapesRoot(name.to_string()));
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        if name.trim_matches(|c| c == '/' || c == '.').is_empty() && !name.is_empty() {
            return Ok("/".to_string());
        }
        return Err(PathError::Empty(name.to_string()));
    }
    let mut out = String::with_capacity(name.len() + 1);
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    Ok(out)
}

/// Resolves a symlink target relative to the directory holding the link, the way the
/// kernel would inside a chroot: `..` at the root stays at the root.
pub fn join_link(link_path: &str, target: &str) -> String {
    let base = if target.starts_with('/') {
        String::new()
    } else {
        parent(link_path).to_string()
    };
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// The parent directory of a normalized path (`/` for top-level entries and for `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a normalized path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `path` is `dir` or lies below it (both normalized).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes_usual_tar_names() {
        assert_eq!(normalize("./etc/os-release").unwrap(), "/etc/os-release");
        assert_eq!(
            normalize("etc//apt/./sources.list").unwrap(),
            "/etc/apt/sources.list"
        );
        assert_eq!(normalize("/usr/lib/").unwrap(), "/usr/lib");
        assert_eq!(normalize("a/b/../c").unwrap(), "/a/c");
        assert_eq!(normalize("./").unwrap(), "/");
    }

    #[test]
    fn rejects_escapes() {
        assert_eq!(
            normalize("../etc/passwd"),
            Err(PathError::EscapesRoot("../etc/passwd".into()))
        );
        assert!(normalize("a/../../b").is_err());
        assert!(normalize("").is_err());
        assert!(normalize("a\0b").is_err());
    }

    #[test]
    fn names_longer_than_path_max_are_rejected_without_copying_them() {
        let deep = "a/".repeat(1 << 20);
        let err = normalize(&deep).unwrap_err();
        let PathError::TooLong { shown, len } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*len, deep.len());
        assert!(shown.len() <= SHOWN_BYTES);
        assert!(err.to_string().len() < 400);
        let longest = "a/".repeat(MAX_PATH_BYTES / 2);
        assert_eq!(normalize(&longest).unwrap().len(), MAX_PATH_BYTES);
    }

    #[test]
    fn shorten_cuts_at_a_character_boundary() {
        let s = "é".repeat(200);
        assert!(shorten(&s).len() <= SHOWN_BYTES);
        assert!(s.starts_with(shorten(&s)));
    }

    #[test]
    fn joins_symlink_targets_inside_root() {
        assert_eq!(
            join_link("/etc/os-release", "../usr/lib/os-release"),
            "/usr/lib/os-release"
        );
        assert_eq!(join_link("/lib", "usr/lib"), "/usr/lib");
        assert_eq!(
            join_link("/a/b", "../../../../../etc/shadow"),
            "/etc/shadow"
        );
        assert_eq!(join_link("/a/b", "/x/./y"), "/x/y");
    }

    #[test]
    fn within() {
        assert!(is_within("/usr/lib/x", "/usr/lib"));
        assert!(is_within("/usr/lib", "/usr/lib"));
        assert!(!is_within("/usr/libexec", "/usr/lib"));
        assert!(is_within("/anything", "/"));
    }

    proptest::proptest! {
        #[test]
        fn normalized_paths_are_canonical(s in "[a-z./]{0,40}") {
            if let Ok(p) = normalize(&s) {
                prop_assert!(p.starts_with('/'));
                prop_assert!(!p.contains("//"));
                prop_assert!(p == "/" || !p.ends_with('/'));
                prop_assert!(!p.split('/').any(|c| c == "." || c == ".."));
                prop_assert_eq!(normalize(&p).unwrap(), p.clone());
            }
        }
    }
}
