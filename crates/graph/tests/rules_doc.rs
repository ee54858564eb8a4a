//! docs/graph.md is generated from the rule doc comments in src/rules.rs; this test keeps
//! it current. `CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test rules_doc`
//! rewrites it.

use crowsnest_graph::RuleId;

/// The doc comment of each `RuleId` variant, in declaration order.
fn variant_docs(source: &str) -> Vec<(String, String)> {
    let body = source
        .split_once("pub enum RuleId {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map(|(body, _)| body)
        .expect("RuleId enum in src/rules.rs");
    let mut out = Vec::new();
    let mut doc = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim().to_string());
        } else if let Some(name) = line.strip_suffix(',') {
            out.push((name.to_string(), std::mem::take(&mut doc).join("\n")));
        }
    }
    out
}

fn markdown() -> String {
    let docs = variant_docs(include_str!("../src/rules.rs"));
    assert_eq!(
        docs.len(),
        RuleId::ALL.len(),
        "every rule has a doc comment"
    );
    let mut md = String::from(
        "# Security graph: attack-edge rules\n\n\
         Generated from the doc comments of `crates/graph/src/rules.rs` by\n\
         `CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test rules_doc`; edit the comments,\n\
         not this file. Each rule has a positive and a mitigated scenario under\n\
         `tests/scenarios/<rule id in lower case with dashes>/`, checked edge by edge in\n\
         `crates/graph/tests/scenarios.rs`.\n\n\
         Attack paths start at the Internet (and, for assume-breach, at every container) and\n\
         end at targets: the cluster (cluster-admin, impact 1.0), a node (takeover, 0.8), a\n\
         sensitive namespace (kube-system by default, 0.7), a secret (0.5). Score =\n\
         likelihood (product over the steps) × impact × 100.\n",
    );
    for (rule, (variant, doc)) in RuleId::ALL.iter().zip(docs) {
        assert_eq!(
            format!("{rule:?}"),
            variant,
            "RuleId::ALL is in declaration order"
        );
        md.push_str(&format!(
            "\n## {} — edge \"{}\"\n\n{}\n\n**Likelihood:** {}. **Fix:** {}.\n",
            rule.as_str(),
            rule.edge_kind().as_str(),
            doc,
            rule.likelihood(),
            rule.remediation()
        ));
    }
    md
}

#[test]
fn docs_graph_md_is_generated_from_the_rules() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/graph.md");
    let want = markdown();
    if std::env::var_os("CROWSNEST_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/graph.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/graph.md is stale: run CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test rules_doc"
    );
}
