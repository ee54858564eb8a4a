//! The one model every VEX format is read into: a statement about one vulnerability in
//! some products, and how it decides whether it speaks about a finding.

use crowsnest_model::Digest;
use crowsnest_model::exception::Justification;
use crowsnest_model::finding::Finding;
use time::OffsetDateTime;

use crate::purl::PurlPattern;

/// The VEX status of a vulnerability in a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl Status {
    /// OpenVEX's label (CSAF's product-status names map onto these).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }

    pub fn from_openvex(label: &str) -> Option<Status> {
        Some(match label {
            "not_affected" => Status::NotAffected,
            "affected" => Status::Affected,
            "fixed" => Status::Fixed,
            "under_investigation" => Status::UnderInvestigation,
            _ => return None,
        })
    }
}

/// An image a statement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageId {
    /// A manifest or config digest.
    Digest(Digest),
    /// `pkg:oci/name@sha256:…?repository_url=…` (a version-less one names the repository).
    Purl(PurlPattern),
}

/// What a statement's product names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductId {
    Image(ImageId),
    Package(PurlPattern),
}

/// One product of a statement, with the subcomponents (packages inside it) the statement
/// is limited to; no subcomponents: the whole product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub subcomponents: Vec<PurlPattern>,
}

impl Product {
    /// A product from an identifier: a `pkg:` URL (an image for `oci`/`docker`), or a
    /// `sha256:` digest (an image).
    pub fn from_identifier(id: &str) -> Result<ProductId, String> {
        let id = id.trim();
        if let Ok(digest) = id.parse::<Digest>() {
            return Ok(ProductId::Image(ImageId::Digest(digest)));
        }
        let purl: PurlPattern = id.parse().map_err(|e: crate::PurlError| e.to_string())?;
        Ok(if purl.is_image() {
            ProductId::Image(ImageId::Purl(purl))
        } else {
            ProductId::Package(purl)
        })
    }
}

/// The image being assessed, as statements and rules see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageTarget {
    /// Its manifest and config digests.
    pub digests: Vec<Digest>,
    /// `registry/repository` for registry images; the reference without tag for local
    /// sources (`oci:/path/layout`).
    pub repository: Option<String>,
}

impl ImageTarget {
    fn is(&self, image: &ImageId) -> bool {
        match image {
            ImageId::Digest(d) => self.digests.contains(d),
            ImageId::Purl(purl) => match purl.version() {
                Some(version) => self.digests.iter().any(|d| d.to_string() == version),
                None => self.repository.as_deref().is_some_and(|repository| {
                    let last = repository.rsplit('/').next().unwrap_or(repository);
                    last.eq_ignore_ascii_case(purl.name())
                        && purl
                            .qualifier("repository_url")
                            .is_none_or(|r| r.eq_ignore_ascii_case(repository))
                }),
            },
        }
    }
}

/// One VEX statement, whatever document format it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Document and position, for people: `vex/app.openvex.json statements[2]`.
    pub source: String,
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<Product>,
    pub status: Status,
    pub justification: Option<Justification>,
    /// Impact statement, action statement or notes, whichever the document gives.
    pub statement: Option<String>,
    pub author: Option<String>,
    /// The statement's time (or its document's): the latest statement wins.
    pub timestamp: Option<OffsetDateTime>,
}

impl Statement {
    /// Whether the statement names the finding's vulnerability (by id or alias, on
    /// either side).
    pub fn names(&self, finding: &Finding) -> bool {
        let ours = std::iter::once(&finding.id).chain(&finding.aliases);
        let theirs: Vec<&String> = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .collect();
        ours.into_iter()
            .any(|id| theirs.iter().any(|t| t.eq_ignore_ascii_case(id)))
    }

    /// Whether the statement speaks about this finding in this image.
    pub fn applies(&self, finding: &Finding, target: &ImageTarget) -> bool {
        if !self.names(finding) {
            return false;
        }
        let Ok(package) = finding.package.purl.parse::<PurlPattern>() else {
            return false;
        };
        let in_subcomponents = |product: &Product| {
            product.subcomponents.is_empty()
                || product.subcomponents.iter().any(|s| s.matches(&package))
        };
        self.products.iter().any(|product| match &product.id {
            ProductId::Image(image) => target.is(image) && in_subcomponents(product),
            // A package product: the finding's package itself, or (the containment cannot
            // be checked from findings) one of the subcomponents listed under it.
            ProductId::Package(purl) => {
                if product.subcomponents.is_empty() {
                    purl.matches(&package)
                } else {
                    product.subcomponents.iter().any(|s| s.matches(&package))
                }
            }
        })
    }
}
