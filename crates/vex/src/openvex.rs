//! OpenVEX 0.2 (<https://github.com/openvex/spec>): `statements[]`, each with a
//! `vulnerability` (`name`, `aliases`; a bare string in earlier drafts), `products`
//! (`@id`, `identifiers.purl`, `hashes`, `subcomponents`), `status`, `justification`,
//! `impact_statement`, `action_statement`, `status_notes` and an optional `timestamp`
//! overriding the document's.

use crowsnest_model::exception::Justification;
use serde_json::Value;

use crate::fields::{Doc, text};
use crate::statement::{Product, Statement, Status};
use crate::{PurlPattern, VexError};

/// Whether a JSON document is OpenVEX: its `@context` names the OpenVEX namespace.
pub(crate) fn is_openvex(document: &Value) -> bool {
    document
        .get("@context")
        .and_then(Value::as_str)
        .is_some_and(|c| c.starts_with("https://openvex.dev/ns"))
}

pub(crate) fn read(doc: Doc, document: &Value) -> Result<Vec<Statement>, VexError> {
    let author = text(doc.opt_str(document, "author", "")?);
    let timestamp = doc.time(document, "timestamp", "")?;
    let mut statements = Vec::new();
    for (i, s) in doc.array(document, "statements", "")?.iter().enumerate() {
        let path = format!("statements[{i}]");
        statements.push(statement(doc, s, &path, author.clone(), timestamp)?);
    }
    Ok(statements)
}

fn statement(
    doc: Doc,
    s: &Value,
    path: &str,
    author: Option<String>,
    document_time: Option<time::OffsetDateTime>,
) -> Result<Statement, VexError> {
    let (vulnerability, aliases) = match s.get("vulnerability") {
        Some(Value::String(name)) => (name.clone(), Vec::new()),
        Some(v @ Value::Object(_)) => {
            let field = format!("{path}.vulnerability");
            let name = doc.req_str(v, "name", &field)?.to_string();
            let mut aliases = Vec::new();
            for (j, a) in doc.array(v, "aliases", &field)?.iter().enumerate() {
                match a.as_str() {
                    Some(a) => aliases.push(a.to_string()),
                    None => {
                        return Err(doc.error(&format!("{field}.aliases[{j}]"), "not a string"));
                    }
                }
            }
            (name, aliases)
        }
        _ => {
            return Err(doc.error(
                &format!("{path}.vulnerability"),
                "missing (an object with a name)",
            ));
        }
    };
    let status_label = doc.req_str(s, "status", path)?;
    let status = Status::from_openvex(status_label).ok_or_else(|| {
        doc.error(
            &format!("{path}.status"),
            format!(
                "unknown status {status_label:?} (expected not_affected, affected, fixed or under_investigation)"
            ),
        )
    })?;
    let justification = match doc.opt_str(s, "justification", path)? {
        None => None,
        Some(label) => Some(Justification::from_label(label).ok_or_else(|| {
            doc.error(
                &format!("{path}.justification"),
                format!("unknown justification {label:?}"),
            )
        })?),
    };
    let impact = text(doc.opt_str(s, "impact_statement", path)?);
    if status == Status::NotAffected && justification.is_none() && impact.is_none() {
        return Err(doc.error(
            &format!("{path}.justification"),
            "a not_affected statement needs a justification or an impact_statement",
        ));
    }
    let statement = impact
        .or(text(doc.opt_str(s, "action_statement", path)?))
        .or(text(doc.opt_str(s, "status_notes", path)?));
    let mut products = Vec::new();
    for (j, p) in doc.array(s, "products", path)?.iter().enumerate() {
        products.push(product(doc, p, &format!("{path}.products[{j}]"))?);
    }
    if products.is_empty() {
        return Err(doc.error(&format!("{path}.products"), "no products"));
    }
    Ok(Statement {
        source: format!("{} {path}", doc.name),
        vulnerability,
        aliases,
        products,
        status,
        justification,
        statement,
        author,
        timestamp: doc.time(s, "timestamp", path)?.or(document_time),
    })
}

/// The identifier of an OpenVEX component: `@id`, else `identifiers.purl`, else a
/// `sha256` hash (an image digest).
fn identifier(doc: Doc, c: &Value, path: &str) -> Result<String, VexError> {
    if let Some(id) = doc.opt_str(c, "@id", path)? {
        return Ok(id.to_string());
    }
    if let Some(ids) = c.get("identifiers")
        && let Some(purl) = doc.opt_str(ids, "purl", &format!("{path}.identifiers"))?
    {
        return Ok(purl.to_string());
    }
    if let Some(hashes) = c.get("hashes")
        && let Some(sha) = doc.opt_str(hashes, "sha-256", &format!("{path}.hashes"))?
    {
        return Ok(format!("sha256:{sha}"));
    }
    Err(doc.error(
        path,
        "names no component (@id, identifiers.purl or hashes.sha-256)",
    ))
}

fn product(doc: Doc, p: &Value, path: &str) -> Result<Product, VexError> {
    let id = identifier(doc, p, path)?;
    let id = Product::from_identifier(&id).map_err(|e| doc.error(&format!("{path}.@id"), e))?;
    let mut subcomponents = Vec::new();
    for (k, c) in doc.array(p, "subcomponents", path)?.iter().enumerate() {
        let field = format!("{path}.subcomponents[{k}]");
        let purl: PurlPattern = identifier(doc, c, &field)?
            .parse()
            .map_err(|e: crate::PurlError| doc.error(&format!("{field}.@id"), e.to_string()))?;
        subcomponents.push(purl);
    }
    Ok(Product { id, subcomponents })
}
