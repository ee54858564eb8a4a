//! Image findings as the graph receives them, and the vulnerability classes the insights
//! and the exploitation rule use.

use std::collections::HashMap;

use crowsnest_model::Severity;
use crowsnest_model::finding::Finding;

/// Findings per image, keyed by manifest digest (`sha256:…`) and/or by the image
/// reference exactly as pod specs write it (`registry.example/shop/web:1.4`). A container
/// is joined by digest first (from `@sha256:` in its image or from the pod status'
/// `imageID`), then by reference.
#[derive(Clone, Debug, Default)]
pub struct ImageFindings {
    by_digest: HashMap<String, Vec<Finding>>,
    by_reference: HashMap<String, Vec<Finding>>,
}

impl ImageFindings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Findings of the image with this manifest digest (`sha256:<hex>`).
    pub fn insert_digest(&mut self, digest: &str, findings: Vec<Finding>) {
        self.by_digest.insert(digest.to_string(), findings);
    }

    /// Findings of the image pod specs name with this reference.
    pub fn insert_reference(&mut self, reference: &str, findings: Vec<Finding>) {
        self.by_reference.insert(reference.to_string(), findings);
    }

    pub(crate) fn lookup(&self, digest: Option<&str>, reference: &str) -> Option<&[Finding]> {
        digest
            .and_then(|d| self.by_digest.get(d))
            .or_else(|| self.by_reference.get(reference))
            .map(Vec::as_slice)
    }

    pub(crate) fn has_digest(&self, digest: &str) -> bool {
        self.by_digest.contains_key(digest)
    }

    /// Visits every image's findings, with the digest or the reference they are keyed by.
    pub(crate) fn for_each_mut(
        &mut self,
        mut visit: impl FnMut(Option<&str>, Option<&str>, &mut [Finding]),
    ) {
        for (digest, found) in &mut self.by_digest {
            visit(Some(digest), None, found);
        }
        for (reference, found) in &mut self.by_reference {
            visit(None, Some(reference), found);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty() && self.by_reference.is_empty()
    }
}

/// The manifest digest inside an image string or a status `imageID`
/// (`docker-pullable://repo@sha256:…`, `repo@sha256:…`, `sha256:…`).
pub(crate) fn digest_in(image: &str) -> Option<&str> {
    let start = image.find("sha256:")?;
    let digest = &image[start..];
    let hex = &digest["sha256:".len()..];
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digest)
}

/// Network attack vector in the finding's CVSS vector (`AV:N`).
pub(crate) fn network_vector(finding: &Finding) -> bool {
    finding
        .cvss
        .as_ref()
        .is_some_and(|c| c.vector.split('/').any(|part| part == "AV:N"))
}

/// Remote-code-execution class: in KEV, or critical/high with a network vector.
pub(crate) fn rce_class(finding: &Finding) -> bool {
    finding.exploitability.in_kev || (finding.severity >= Severity::High && network_vector(finding))
}

/// Known exploited (KEV) or with a public exploit.
pub(crate) fn exploitable(finding: &Finding) -> bool {
    finding.exploitability.in_kev || finding.exploitability.exploit_published
}

/// Likelihood of the exploitation edge for an RCE-class finding.
pub(crate) fn exploit_likelihood(finding: &Finding) -> f64 {
    if finding.exploitability.in_kev {
        0.9
    } else if finding.exploitability.exploit_published {
        0.7
    } else if finding.severity == Severity::Critical {
        0.5
    } else {
        0.3
    }
}

/// `CVE-2021-44228 (critical, KEV)`.
pub(crate) fn describe(finding: &Finding) -> String {
    let mut tags = vec![finding.severity.as_str().to_string()];
    if finding.exploitability.in_kev {
        tags.push("KEV".into());
    } else if finding.exploitability.exploit_published {
        tags.push("public exploit".into());
    }
    if network_vector(finding) {
        tags.push("network".into());
    }
    format!(
        "{} ({}) in {} {}",
        finding.id,
        tags.join(", "),
        finding.package.name,
        finding.package.version
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_image_ids() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_in(&format!("docker-pullable://r/x@sha256:{hex}")),
            Some(format!("sha256:{hex}").as_str())
        );
        assert_eq!(digest_in("nginx:1.25"), None);
        assert_eq!(digest_in("x@sha256:abc"), None);
        assert_eq!(digest_in(&format!("sha256:{}", "g".repeat(64))), None);
    }
}
