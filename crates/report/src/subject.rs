//! What a document describes (the image) and the settings every document shares: its
//! timestamp, the tool that wrote it and the stable identifiers derived from the image.

use crowsnest_model::Digest;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use uuid::Uuid;

/// The image an SBOM or a findings report is about: what the registry and the image
/// configuration say, next to the inventory the catalogers built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImageSubject {
    /// The reference as the user named it (`registry.example:5000/app/web:1.2`).
    pub name: String,
    /// Digest of the image manifest (the platform-specific one for a multi-platform image).
    pub manifest_digest: Option<Digest>,
    /// Digest of the image configuration blob (the image ID).
    pub config_digest: Option<Digest>,
    /// `os/architecture[/variant]`, e.g. `linux/amd64`.
    pub platform: Option<String>,
    /// Layer diffIDs from the image configuration, lowest layer first.
    pub layers: Vec<Digest>,
    /// `created` from the image configuration, RFC 3339 as the image states it.
    pub created: Option<String>,
}

impl ImageSubject {
    /// The most specific identity of the image: its manifest digest, else its config
    /// digest, else its name. Stable identifiers (serial numbers, namespaces) derive from it
    /// so that the same image always gives the same document.
    pub fn identity(&self) -> String {
        match (&self.manifest_digest, &self.config_digest) {
            (Some(d), _) | (None, Some(d)) => d.to_string(),
            (None, None) => self.name.clone(),
        }
    }

    /// Where the image came from without tag or digest: `registry/team/web` for a
    /// registry reference; for a local source, the reference without its tag
    /// (`oci:/path/layout`). What ignore rules match repository globs against.
    pub fn repository(&self) -> Option<String> {
        let name = self.name.trim();
        (!name.is_empty()).then(|| split_reference(name).0.to_string())
    }

    /// Position of a layer in the image (0 = lowest), when the layer is one of its layers.
    pub fn layer_index(&self, diff_id: &Digest) -> Option<usize> {
        self.layers.iter().position(|l| l == diff_id)
    }
}

/// Settings shared by every document writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentOptions {
    /// The document's timestamp. `None`: the image's `created` time, so that the same
    /// image gives a byte-identical document.
    pub timestamp: Option<OffsetDateTime>,
    /// Version of Crowsnest written into the document's tool section.
    pub tool_version: String,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        DocumentOptions {
            timestamp: None,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

pub(crate) const TOOL_NAME: &str = "crowsnest";

/// Namespace of the name-based (version 5) UUIDs Crowsnest derives; any fixed UUID works,
/// this one is itself the v5 UUID of "crowsnest" in the URL namespace.
fn crowsnest_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, TOOL_NAME.as_bytes())
}

/// A UUID that depends only on `purpose` and the image identity.
pub(crate) fn stable_uuid(purpose: &str, subject: &ImageSubject) -> Uuid {
    let name = format!("{purpose}\n{}", subject.identity());
    Uuid::new_v5(&crowsnest_namespace(), name.as_bytes())
}

/// The document time: the override, else the image's `created` time when it is valid
/// RFC 3339 (image configurations are outside input: an invalid one is ignored, not fatal).
pub(crate) fn document_time(
    subject: &ImageSubject,
    options: &DocumentOptions,
) -> Option<OffsetDateTime> {
    options.timestamp.or_else(|| {
        subject
            .created
            .as_deref()
            .and_then(|c| OffsetDateTime::parse(c.trim(), &Rfc3339).ok())
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC: the form both SPDX (which requires it) and CycloneDX accept.
pub(crate) fn format_utc_seconds(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    utc.format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `registry/team/web:1.2@sha256:…` → (`registry/team/web`, `Some("1.2")`).
fn split_reference(name: &str) -> (&str, Option<&str>) {
    let without_digest = name.split_once('@').map_or(name, |(n, _)| n);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[last_slash..].rfind(':') {
        Some(colon) => (
            &without_digest[..last_slash + colon],
            Some(&without_digest[last_slash + colon + 1..]),
        ),
        None => (without_digest, None),
    }
}

/// The image as a package URL (`pkg:oci/web@sha256%3A...?repository_url=registry/app/web&tag=1.2`),
/// when the manifest digest is known and the name is a registry reference.
pub(crate) fn oci_purl(subject: &ImageSubject) -> Option<String> {
    let digest = subject.manifest_digest.as_ref()?;
    let name = subject.name.trim();
    // Local sources (OCI layouts, archives) have no repository to name.
    if name.contains("://") || name.contains(' ') || name.is_empty() {
        return None;
    }
    if let Some((transport, _)) = name.split_once(':')
        && matches!(transport, "oci" | "oci-archive" | "docker-archive" | "dir")
    {
        return None;
    }
    let (repository, tag) = split_reference(name);
    let short_name = repository.rsplit('/').next().unwrap_or(repository);
    let mut purl = packageurl::PackageUrl::new("oci", short_name.to_ascii_lowercase()).ok()?;
    purl.with_version(digest.to_string()).ok()?;
    purl.add_qualifier("repository_url", repository.to_string())
        .ok()?;
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        purl.add_qualifier("tag", tag.to_string()).ok()?;
    }
    Some(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> Digest {
        format!("sha256:{}", c.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    #[test]
    fn identity_prefers_manifest_digest() {
        let mut s = ImageSubject {
            name: "r/app:1".into(),
            ..Default::default()
        };
        assert_eq!(s.identity(), "r/app:1");
        s.config_digest = Some(digest('c'));
        assert_eq!(s.identity(), digest('c').to_string());
        s.manifest_digest = Some(digest('a'));
        assert_eq!(s.identity(), digest('a').to_string());
    }

    #[test]
    fn oci_purl_from_registry_reference() {
        let mut s = ImageSubject {
            name: "registry.local:5000/team/Web:1.2".into(),
            manifest_digest: Some(digest('a')),
            ..Default::default()
        };
        assert_eq!(
            oci_purl(&s).unwrap(),
            format!(
                "pkg:oci/web@sha256:{}?repository_url=registry.local:5000%2Fteam%2FWeb&tag=1.2",
                "a".repeat(64)
            )
        );
        s.name = "oci:/tmp/layout".into();
        assert_eq!(oci_purl(&s), None);
        s.name = "alpine".into();
        assert!(oci_purl(&s).unwrap().ends_with("?repository_url=alpine"));
        s.manifest_digest = None;
        assert_eq!(oci_purl(&s), None);
    }

    #[test]
    fn stable_uuid_depends_on_image_and_purpose() {
        let a = ImageSubject {
            manifest_digest: Some(digest('a')),
            ..Default::default()
        };
        let b = ImageSubject {
            manifest_digest: Some(digest('b')),
            ..Default::default()
        };
        assert_eq!(stable_uuid("x", &a), stable_uuid("x", &a));
        assert_ne!(stable_uuid("x", &a), stable_uuid("x", &b));
        assert_ne!(stable_uuid("x", &a), stable_uuid("y", &a));
        assert_eq!(stable_uuid("x", &a).get_version_num(), 5);
    }

    #[test]
    fn document_time_from_created_or_override() {
        let mut s = ImageSubject {
            created: Some("2024-03-01T12:34:56.789+02:00".into()),
            ..Default::default()
        };
        let options = DocumentOptions::default();
        let t = document_time(&s, &options).unwrap();
        assert_eq!(format_utc_seconds(t), "2024-03-01T10:34:56Z");
        s.created = Some("yesterday".into());
        assert_eq!(document_time(&s, &options), None);
        let forced = DocumentOptions {
            timestamp: Some(time::macros::datetime!(2020-01-02 03:04:05 UTC)),
            ..Default::default()
        };
        assert_eq!(
            format_utc_seconds(document_time(&s, &forced).unwrap()),
            "2020-01-02T03:04:05Z"
        );
    }
}
