//! Image references with skopeo-style transports.
//!
//! `debian:12`, `docker://ghcr.io/org/app@sha256:…` (registry), `oci:DIR[:REF]` (OCI image
//! layout), `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]` (`docker save` output).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crowsnest_model::Digest;

/// Docker Hub's canonical registry name, and the host its API is really served from.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    Registry(RegistryRef),
    OciLayout {
        dir: PathBuf,
        reference: Option<String>,
    },
    OciArchive {
        file: PathBuf,
        reference: Option<String>,
    },
    DockerArchive {
        file: PathBuf,
        reference: Option<String>,
    },
}

/// A reference to an image in a registry, normalized (`docker.io/library/debian:12`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegistryRef {
    /// Registry host (and port), as the user names it: `docker.io`, `localhost:5000`.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("empty image reference")]
    Empty,
    #[error(
        "invalid repository name {0:?}: use lowercase letters, digits and separators (. _ __ -), components separated by /"
    )]
    BadRepository(String),
    #[error("invalid tag {0:?}: up to 128 of [A-Za-z0-9_.-], not starting with . or -")]
    BadTag(String),
    #[error("invalid digest in reference: {0}")]
    BadDigest(String),
    #[error("invalid registry host {0:?}")]
    BadRegistry(String),
    #[error(
        "transport {0:?} is not supported (use a registry reference, oci:, oci-archive: or docker-archive:)"
    )]
    UnknownTransport(String),
    #[error("{0}: missing path")]
    MissingPath(&'static str),
}

impl RegistryRef {
    /// The tag or digest to ask the registry for (a digest wins over a tag).
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The host serving the registry API for this reference.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }
}

/// Maps a registry name to the host that serves its API (Docker Hub's differs).
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "index.docker.io" {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_ref = |f: &mut fmt::Formatter<'_>, t: &str, p: &PathBuf, r: &Option<String>| {
            write!(f, "{t}:{}", p.display())?;
            if let Some(r) = r {
                write!(f, ":{r}")?;
            }
            Ok(())
        };
        match self {
            ImageRef::Registry(r) => r.fmt(f),
            ImageRef::OciLayout { dir, reference } => with_ref(f, "oci", dir, reference),
            ImageRef::OciArchive { file, reference } => with_ref(f, "oci-archive", file, reference),
            ImageRef::DockerArchive { file, reference } => {
                with_ref(f, "docker-archive", file, reference)
            }
        }
    }
}

fn valid_repo_component(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let sep_start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

fn valid_host(h: &str) -> bool {
    // host[:port], host may be a bracketed IPv6 literal.
    let host = if let Some(rest) = h.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) => return !ip.is_empty() && (port.is_empty() || valid_port(port)),
            None => return false,
        }
    } else {
        match h.rsplit_once(':') {
            Some((host, port)) if valid_port(&format!(":{port}")) => host,
            Some(_) => return false,
            None => h,
        }
    };
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

fn valid_port(p: &str) -> bool {
    p.strip_prefix(':')
        .is_some_and(|n| !n.is_empty() && n.len() <= 5 && n.bytes().all(|c| c.is_ascii_digit()))
}

impl FromStr for RegistryRef {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => (
                n,
                Some(
                    d.parse::<Digest>()
                        .map_err(|e| ReferenceError::BadDigest(e.to_string()))?,
                ),
            ),
            None => (s, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let (name, tag) = match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => (&name[..i], Some(name[i + 1..].to_string())),
            _ => (name, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::BadTag(t.clone()));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.starts_with('[') =>
            {
                if !valid_host(first) {
                    return Err(ReferenceError::BadRegistry(first.to_string()));
                }
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.len() > 255 || !repository.split('/').all(valid_repo_component) {
            return Err(ReferenceError::BadRepository(repository));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(RegistryRef {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let split_path =
            |rest: &str, what: &'static str| -> Result<(PathBuf, Option<String>), ReferenceError> {
                // DIR[:REF] — the last ':' separates a reference unless what follows is a path.
                let (path, reference) = match rest.rsplit_once(':') {
                    Some((p, r)) if !p.is_empty() && !r.contains('/') => (p, Some(r.to_string())),
                    _ => (rest, None),
                };
                if path.is_empty() {
                    return Err(ReferenceError::MissingPath(what));
                }
                Ok((PathBuf::from(path), reference.filter(|r| !r.is_empty())))
            };
        if let Some(rest) = s.strip_prefix("docker://") {
            return Ok(ImageRef::Registry(rest.parse()?));
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, reference) = split_path(rest, "oci")?;
            return Ok(ImageRef::OciLayout { dir, reference });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, reference) = split_path(rest, "oci-archive")?;
            return Ok(ImageRef::OciArchive { file, reference });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (file, reference) = split_path(rest, "docker-archive")?;
            return Ok(ImageRef::DockerArchive { file, reference });
        }
        if let Some((transport, _)) = s.split_once(':')
            && [
                "dir",
                "containers-storage",
                "docker-daemon",
                "ostree",
                "sif",
            ]
            .contains(&transport)
        {
            return Err(ReferenceError::UnknownTransport(transport.to_string()));
        }
        Ok(ImageRef::Registry(s.parse()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> RegistryRef {
        s.parse().unwrap()
    }

    #[test]
    fn docker_hub_normalization() {
        assert_eq!(reg("debian:12").to_string(), "docker.io/library/debian:12");
        assert_eq!(reg("debian").to_string(), "docker.io/library/debian:latest");
        assert_eq!(
            reg("bitnami/redis").to_string(),
            "docker.io/bitnami/redis:latest"
        );
        assert_eq!(
            reg("index.docker.io/library/alpine:3.19").to_string(),
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(reg("debian:12").api_host(), "registry-1.docker.io");
    }

    #[test]
    fn registries_ports_and_digests() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = reg(&format!("ghcr.io/org/app@{d}"));
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.repository, "org/app");
        assert_eq!(r.tag, None);
        assert_eq!(r.reference(), d);
        let r = reg("localhost:5000/team/app:v1.2");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("localhost:5000", "team/app", Some("v1.2"))
        );
        let r = reg(&format!("127.0.0.1:5000/app:1@{d}"));
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert!(r.digest.is_some());
        assert_eq!(r.reference(), d, "digest wins over tag");
        assert_eq!(reg("localhost/app").registry, "localhost");
    }

    #[test]
    fn rejects_bad_references() {
        assert_eq!("".parse::<RegistryRef>(), Err(ReferenceError::Empty));
        assert!(matches!(
            "Debian:12".parse::<RegistryRef>(),
            Err(ReferenceError::BadRepository(_))
        ));
        assert!(matches!(
            "debian:-x".parse::<RegistryRef>(),
            Err(ReferenceError::BadTag(_))
        ));
        assert!(matches!(
            "debian@sha256:zz".parse::<RegistryRef>(),
            Err(ReferenceError::BadDigest(_))
        ));
        assert!(matches!(
            "a..b/c".parse::<RegistryRef>(),
            Err(ReferenceError::BadRegistry(_))
        ));
        assert!(matches!(
            "repo/../x".parse::<RegistryRef>(),
            Err(ReferenceError::BadRepository(_))
        ));
    }

    #[test]
    fn transports() {
        assert_eq!(
            "oci:/tmp/layout:latest".parse::<ImageRef>().unwrap(),
            ImageRef::OciLayout {
                dir: "/tmp/layout".into(),
                reference: Some("latest".into())
            }
        );
        assert_eq!(
            "oci:./layout".parse::<ImageRef>().unwrap(),
            ImageRef::OciLayout {
                dir: "./layout".into(),
                reference: None
            }
        );
        assert_eq!(
            "docker-archive:/x/app.tar".parse::<ImageRef>().unwrap(),
            ImageRef::DockerArchive {
                file: "/x/app.tar".into(),
                reference: None
            }
        );
        assert!(
            matches!("oci-archive:a.tar:v1".parse::<ImageRef>().unwrap(), ImageRef::OciArchive { reference: Some(r), .. } if r == "v1")
        );
        assert!(matches!(
            "docker://debian".parse::<ImageRef>().unwrap(),
            ImageRef::Registry(_)
        ));
        assert!(matches!(
            "containers-storage:x".parse::<ImageRef>(),
            Err(ReferenceError::UnknownTransport(_))
        ));
        assert!(matches!(
            "oci:".parse::<ImageRef>(),
            Err(ReferenceError::MissingPath("oci"))
        ));
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,80}") {
            let _ = s.parse::<ImageRef>();
        }
    }
}
