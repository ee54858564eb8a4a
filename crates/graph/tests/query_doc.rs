//! docs/query.md's reference part (labels, relationship types, properties, insights,
//! templates) is generated from the code; this test keeps it current and checks that
//! every property the graph builder sets is documented.
//! `CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test query_doc` rewrites it.

use std::path::{Path, PathBuf};

use crowsnest_graph::query::{NODE_PROPERTIES, TEMPLATES, node_label, reference_markdown};
use crowsnest_graph::{BuildOptions, ClusterInput, ImageFindings, build};

const MARKER: &str = "<!-- Generated below by crates/graph/tests/query_doc.rs: do not edit. -->\n";

fn generated() -> String {
    let mut md = String::from(MARKER);
    md.push_str("\n## Reference\n\n");
    md.push_str(&reference_markdown());
    md.push_str(
        "\n## Templates\n\n`crowsnest query --template NAME`; `--list-templates` lists them.\n",
    );
    for t in TEMPLATES {
        md.push_str(&format!(
            "\n### {}\n\n{}.\n\n```cypher\n{}\n```\n",
            t.name, t.description, t.query
        ));
    }
    md
}

#[test]
fn docs_query_md_reference_is_generated_from_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/query.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    let Some((hand_written, _)) = have.split_once(MARKER) else {
        panic!("docs/query.md lacks the marker line {MARKER:?}");
    };
    let want = format!("{hand_written}{}", generated());
    if std::env::var_os("CROWSNEST_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/query.md");
        return;
    }
    assert!(
        have == want,
        "docs/query.md is stale: run CROWSNEST_BLESS=1 cargo test -p crowsnest-graph --test query_doc"
    );
}

/// Every property on every node of every scenario (and the query scenario) is in
/// NODE_PROPERTIES for its label.
#[test]
fn every_property_the_builder_sets_is_documented() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("tests/query_scenario")];
    for rule in std::fs::read_dir(root.join("../../tests/scenarios")).unwrap() {
        for case in std::fs::read_dir(rule.unwrap().path()).unwrap() {
            dirs.push(case.unwrap().path());
        }
    }
    let mut missing = Vec::new();
    for dir in dirs {
        let snapshot = crowsnest_discover::from_manifests(std::slice::from_ref(&dir)).unwrap();
        let input = ClusterInput {
            cluster_id: &snapshot.cluster_id,
            objects: &snapshot.objects,
            manifest_mode: true,
        };
        let graph = build(&input, &ImageFindings::new(), &BuildOptions::default());
        for node in &graph.nodes {
            let label = node_label(node.kind);
            for prop in node.props.keys() {
                let documented = NODE_PROPERTIES
                    .iter()
                    .any(|p| p.name == prop && (p.on.is_empty() || p.on.contains(&label.as_str())));
                if !documented {
                    missing.push(format!("{label}.{prop} ({})", dir.display()));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "undocumented properties: {missing:#?}");
}
