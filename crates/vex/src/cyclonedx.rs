//! CycloneDX VEX (1.4 to 1.6): `vulnerabilities[]` with an `analysis` (`state`,
//! `justification`, `detail`) and `affects[].ref` pointing at components by `bom-ref`
//! (or BOM-Link `urn:cdx:…#ref`, or a package URL). Standalone VEX documents and SBOMs
//! with embedded vulnerabilities read the same way; when the BOM's
//! `metadata.component` is an image (`pkg:oci/…`), statements are limited to that image.
//! A vulnerability without an `analysis` states nothing and is skipped.

use std::collections::HashMap;

use crowsnest_model::exception::Justification;
use serde_json::Value;

use crate::fields::{Doc, MAX_ENTRIES, text};
use crate::statement::{Product, ProductId, Statement, Status};
use crate::{PurlPattern, VexError};

/// Whether a JSON document is CycloneDX.
pub(crate) fn is_cyclonedx(document: &Value) -> bool {
    document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX")
}

fn status(state: &str) -> Option<Status> {
    Some(match state {
        "not_affected" | "false_positive" => Status::NotAffected,
        "resolved" | "resolved_with_pedigree" => Status::Fixed,
        "exploitable" => Status::Affected,
        "in_triage" => Status::UnderInvestigation,
        _ => return None,
    })
}

/// CycloneDX's justifications in OpenVEX's vocabulary.
fn justification(label: &str) -> Option<Justification> {
    Some(match label {
        "code_not_present" => Justification::VulnerableCodeNotPresent,
        "code_not_reachable" => Justification::VulnerableCodeNotInExecutePath,
        "requires_configuration" | "requires_dependency" | "requires_environment" => {
            Justification::VulnerableCodeCannotBeControlledByAdversary
        }
        "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => Justification::InlineMitigationsAlreadyExist,
        _ => return None,
    })
}

/// Every component's `bom-ref` → its package URL (nested components included, bounded).
fn component_purls<'v>(
    doc: Doc,
    document: &'v Value,
) -> Result<HashMap<&'v str, &'v str>, VexError> {
    let mut purls = HashMap::new();
    let mut stack: Vec<&Value> = doc.array(document, "components", "")?.iter().collect();
    let mut seen = 0usize;
    while let Some(c) = stack.pop() {
        seen += 1;
        if seen > MAX_ENTRIES {
            return Err(doc.error("components", format!("more than {MAX_ENTRIES} components")));
        }
        if let (Some(r), Some(p)) = (
            c.get("bom-ref").and_then(Value::as_str),
            c.get("purl").and_then(Value::as_str),
        ) {
            purls.insert(r, p);
        }
        if let Some(children) = c.get("components").and_then(Value::as_array) {
            stack.extend(children);
        }
    }
    Ok(purls)
}

pub(crate) fn read(doc: Doc, document: &Value) -> Result<Vec<Statement>, VexError> {
    let purls = component_purls(doc, document)?;
    let metadata = document.get("metadata");
    let subject = metadata.and_then(|m| m.get("component"));
    let subject_ref = subject
        .and_then(|c| c.get("bom-ref"))
        .and_then(Value::as_str);
    let image = match subject.and_then(|c| c.get("purl")).and_then(Value::as_str) {
        Some(p) => p.parse::<PurlPattern>().ok().filter(PurlPattern::is_image),
        None => None,
    };
    let timestamp = match metadata {
        Some(m) => doc.time(m, "timestamp", "metadata")?,
        None => None,
    };
    let mut statements = Vec::new();
    for (i, v) in doc
        .array(document, "vulnerabilities", "")?
        .iter()
        .enumerate()
    {
        let path = format!("vulnerabilities[{i}]");
        let Some(analysis) = v.get("analysis").filter(|a| !a.is_null()) else {
            continue;
        };
        let apath = format!("{path}.analysis");
        let Some(state) = doc.opt_str(analysis, "state", &apath)? else {
            continue;
        };
        let status = status(state).ok_or_else(|| {
            doc.error(
                &format!("{apath}.state"),
                format!("unknown state {state:?}"),
            )
        })?;
        let justification = match doc.opt_str(analysis, "justification", &apath)? {
            None => None,
            Some(label) => Some(justification(label).ok_or_else(|| {
                doc.error(
                    &format!("{apath}.justification"),
                    format!("unknown justification {label:?}"),
                )
            })?),
        };
        let vulnerability = doc.req_str(v, "id", &path)?.to_string();
        let mut aliases = Vec::new();
        for (j, r) in doc.array(v, "references", &path)?.iter().enumerate() {
            aliases.push(
                doc.req_str(r, "id", &format!("{path}.references[{j}]"))?
                    .to_string(),
            );
        }
        let mut subcomponents = Vec::new();
        let mut whole_image = false;
        let mut packages = Vec::new();
        for (j, a) in doc.array(v, "affects", &path)?.iter().enumerate() {
            let field = format!("{path}.affects[{j}].ref");
            let reference = doc.req_str(a, "ref", &format!("{path}.affects[{j}]"))?;
            // BOM-Link: urn:cdx:<serial>/<version>#<bom-ref>.
            let local = reference
                .strip_prefix("urn:cdx:")
                .and_then(|r| r.split_once('#'))
                .map_or(reference, |(_, fragment)| fragment);
            if Some(local) == subject_ref {
                whole_image = true;
                continue;
            }
            let purl_text = purls.get(local).copied().unwrap_or(local);
            let purl: PurlPattern = purl_text.parse().map_err(|e: crate::PurlError| {
                doc.error(
                    &field,
                    format!("names no component with a package URL ({e})"),
                )
            })?;
            if image.is_some() {
                subcomponents.push(purl);
            } else {
                packages.push(purl);
            }
        }
        let products: Vec<Product> = match &image {
            Some(image) if whole_image || !subcomponents.is_empty() => vec![Product {
                id: ProductId::Image(crate::statement::ImageId::Purl(image.clone())),
                subcomponents: if whole_image {
                    Vec::new()
                } else {
                    subcomponents
                },
            }],
            _ => packages
                .into_iter()
                .map(|p| Product {
                    id: ProductId::Package(p),
                    subcomponents: Vec::new(),
                })
                .collect(),
        };
        if products.is_empty() {
            return Err(doc.error(&format!("{path}.affects"), "names no component"));
        }
        let updated = doc.time(analysis, "lastUpdated", &apath)?;
        statements.push(Statement {
            source: format!("{} {path}", doc.name),
            vulnerability,
            aliases,
            products,
            status,
            justification,
            statement: text(doc.opt_str(analysis, "detail", &apath)?),
            author: None,
            timestamp: updated.or(doc.time(v, "updated", &path)?).or(timestamp),
        });
    }
    Ok(statements)
}
