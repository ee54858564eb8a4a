//! CSAF 2.0 VEX (`document.category` `csaf_vex`): products from `product_tree`
//! (`branches` to any depth, `full_product_names`, and `relationships` of category
//! `default_component_of`, which make a product "component X in image Y"); per
//! vulnerability, `cve` and `ids[]`, `product_status` (`known_not_affected`, `fixed`,
//! `known_affected`, `under_investigation`), `flags[]` (justification labels) and
//! `threats[]` of category `impact` (the statement).

use std::collections::HashMap;

use crowsnest_model::exception::Justification;
use serde_json::Value;

use crate::VexError;
use crate::fields::{Doc, MAX_ENTRIES, text};
use crate::statement::{Product, ProductId, Statement, Status};

/// Whether a JSON document is a CSAF document.
pub(crate) fn is_csaf(document: &Value) -> bool {
    document
        .get("document")
        .and_then(|d| d.get("csaf_version"))
        .is_some()
}

/// Product ids → products, from the product tree.
fn products(doc: Doc, tree: &Value) -> Result<HashMap<String, Product>, VexError> {
    let mut plain: HashMap<String, ProductId> = HashMap::new();
    let mut add = |p: &Value, path: &str| -> Result<(), VexError> {
        let id = doc.req_str(p, "product_id", path)?;
        let helper = p.get("product_identification_helper");
        let purl = match helper {
            Some(h) => doc.opt_str(h, "purl", &format!("{path}.product_identification_helper"))?,
            None => None,
        };
        if let Some(purl) = purl {
            let product = Product::from_identifier(purl)
                .map_err(|e| doc.error(&format!("{path}.product_identification_helper.purl"), e))?;
            plain.insert(id.to_string(), product);
        }
        Ok(())
    };
    for (i, p) in doc
        .array(tree, "full_product_names", "product_tree")?
        .iter()
        .enumerate()
    {
        add(p, &format!("product_tree.full_product_names[{i}]"))?;
    }
    let mut stack: Vec<(String, &Value)> = doc
        .array(tree, "branches", "product_tree")?
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("product_tree.branches[{i}]"), b))
        .collect();
    let mut seen = 0usize;
    while let Some((path, branch)) = stack.pop() {
        seen += 1;
        if seen > MAX_ENTRIES {
            return Err(doc.error(
                "product_tree.branches",
                format!("more than {MAX_ENTRIES} branches"),
            ));
        }
        if let Some(p) = branch.get("product") {
            add(p, &format!("{path}.product"))?;
        }
        for (i, b) in doc.array(branch, "branches", &path)?.iter().enumerate() {
            stack.push((format!("{path}.branches[{i}]"), b));
        }
    }
    let mut all: HashMap<String, Product> = plain
        .iter()
        .map(|(id, p)| {
            (
                id.clone(),
                Product {
                    id: p.clone(),
                    subcomponents: Vec::new(),
                },
            )
        })
        .collect();
    for (i, r) in doc
        .array(tree, "relationships", "product_tree")?
        .iter()
        .enumerate()
    {
        let path = format!("product_tree.relationships[{i}]");
        if doc.opt_str(r, "category", &path)? != Some("default_component_of") {
            continue;
        }
        let component = doc.req_str(r, "product_reference", &path)?;
        let parent = doc.req_str(r, "relates_to_product_reference", &path)?;
        let full = r
            .get("full_product_name")
            .ok_or_else(|| doc.error(&format!("{path}.full_product_name"), "is missing"))?;
        let id = doc.req_str(full, "product_id", &format!("{path}.full_product_name"))?;
        let (Some(ProductId::Package(component)), Some(parent)) =
            (plain.get(component), plain.get(parent))
        else {
            // Products without package URLs (CPE-only) cannot be matched to findings.
            continue;
        };
        all.insert(
            id.to_string(),
            Product {
                id: parent.clone(),
                subcomponents: vec![component.clone()],
            },
        );
    }
    Ok(all)
}

/// Ids of a string array field (product ids).
fn ids<'v>(doc: Doc, v: &'v Value, key: &str, path: &str) -> Result<Vec<&'v str>, VexError> {
    doc.array(v, key, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str()
                .ok_or_else(|| doc.error(&format!("{path}.{key}[{i}]"), "not a string"))
        })
        .collect()
}

pub(crate) fn read(doc: Doc, document: &Value) -> Result<Vec<Statement>, VexError> {
    let meta = document
        .get("document")
        .ok_or_else(|| doc.error("document", "is missing"))?;
    let category = doc.req_str(meta, "category", "document")?;
    if category != "csaf_vex" {
        return Err(doc.error("document.category", format!("{category:?} is not csaf_vex")));
    }
    let author = meta
        .get("publisher")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .and_then(|s| text(Some(s)));
    let timestamp = match meta.get("tracking") {
        Some(t) => doc.time(t, "current_release_date", "document.tracking")?,
        None => None,
    };
    let tree = document.get("product_tree").unwrap_or(&Value::Null);
    let products = products(doc, tree)?;
    let mut statements = Vec::new();
    for (i, v) in doc
        .array(document, "vulnerabilities", "")?
        .iter()
        .enumerate()
    {
        let path = format!("vulnerabilities[{i}]");
        let mut names: Vec<String> = doc
            .opt_str(v, "cve", &path)?
            .map(str::to_string)
            .into_iter()
            .collect();
        for (j, id) in doc.array(v, "ids", &path)?.iter().enumerate() {
            names.push(
                doc.req_str(id, "text", &format!("{path}.ids[{j}]"))?
                    .to_string(),
            );
        }
        if names.is_empty() {
            return Err(doc.error(
                &format!("{path}.cve"),
                "the vulnerability has no cve and no ids",
            ));
        }
        let spath = format!("{path}.product_status");
        let status_of = v.get("product_status").unwrap_or(&Value::Null);
        if let Some(map) = status_of.as_object() {
            for key in map.keys() {
                if !matches!(
                    key.as_str(),
                    "known_not_affected"
                        | "fixed"
                        | "first_fixed"
                        | "known_affected"
                        | "first_affected"
                        | "last_affected"
                        | "under_investigation"
                        | "recommended"
                ) {
                    return Err(doc.error(&format!("{spath}.{key}"), "unknown product status"));
                }
            }
        }
        // Justification and statement per product id.
        let mut flags: HashMap<&str, Justification> = HashMap::new();
        for (j, flag) in doc.array(v, "flags", &path)?.iter().enumerate() {
            let fpath = format!("{path}.flags[{j}]");
            let label = doc.req_str(flag, "label", &fpath)?;
            let justification = Justification::from_label(label).ok_or_else(|| {
                doc.error(
                    &format!("{fpath}.label"),
                    format!("unknown label {label:?}"),
                )
            })?;
            for id in ids(doc, flag, "product_ids", &fpath)? {
                flags.insert(id, justification);
            }
        }
        let mut impacts: HashMap<&str, &str> = HashMap::new();
        for (j, threat) in doc.array(v, "threats", &path)?.iter().enumerate() {
            let tpath = format!("{path}.threats[{j}]");
            if doc.opt_str(threat, "category", &tpath)? == Some("impact")
                && let Some(details) = doc.opt_str(threat, "details", &tpath)?
            {
                for id in ids(doc, threat, "product_ids", &tpath)? {
                    impacts.insert(id, details);
                }
            }
        }
        for (key, status) in [
            ("known_not_affected", Status::NotAffected),
            ("fixed", Status::Fixed),
            ("first_fixed", Status::Fixed),
            ("known_affected", Status::Affected),
            ("under_investigation", Status::UnderInvestigation),
        ] {
            for (j, id) in ids(doc, status_of, key, &spath)?.into_iter().enumerate() {
                let Some(product) = products.get(id) else {
                    // CPE-only products cannot be matched; an id nowhere in the tree is an error.
                    if !id_in_tree(tree, id) {
                        return Err(doc.error(
                            &format!("{spath}.{key}[{j}]"),
                            format!("product {id:?} is not in the product tree"),
                        ));
                    }
                    continue;
                };
                let justification = flags.get(id).copied();
                let statement = text(impacts.get(id).copied());
                if status == Status::NotAffected && justification.is_none() && statement.is_none() {
                    return Err(doc.error(
                        &format!("{path}.flags"),
                        format!(
                            "known_not_affected product {id:?} has no flag and no impact threat"
                        ),
                    ));
                }
                statements.push(Statement {
                    source: format!("{} {spath}.{key}[{j}]", doc.name),
                    vulnerability: names[0].clone(),
                    aliases: names[1..].to_vec(),
                    products: vec![product.clone()],
                    status,
                    justification,
                    statement,
                    author: author.clone(),
                    timestamp,
                });
            }
        }
    }
    Ok(statements)
}

/// Whether a product id occurs anywhere in the product tree (as text).
fn id_in_tree(tree: &Value, id: &str) -> bool {
    match tree {
        Value::String(s) => s == id,
        Value::Array(a) => a.iter().any(|v| id_in_tree(v, id)),
        Value::Object(o) => o.values().any(|v| id_in_tree(v, id)),
        _ => false,
    }
}
