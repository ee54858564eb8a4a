//! Drawings of attack paths: the chain scenario, and a cluster whose names are hostile
//! (quotes, newlines, brackets, pipes, backslashes, markup). Structure is checked line
//! by line; when Graphviz's `dot` is installed (Debian graphviz) it must accept the file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crowsnest_graph::{
    BuildOptions, ClusterInput, ImageFindings, PathOptions, SecurityGraph, attack_paths, build,
    choke_points, paths_dot, paths_mermaid,
};
use crowsnest_model::finding::{Exploitability, Finding, FindingPackage, FixStatus, Priority};
use crowsnest_model::{PackageKind, Severity};
use serde_json::{Value, json};

/// A chain like the paths scenario, with names no real cluster should allow but a
/// hostile snapshot can carry.
const HOSTILE_NS: &str = "s\"]; n0 -> n1 [label=\"x";
const HOSTILE_SA: &str = "ad|min\n}\nclick n0 \"javascript:alert(1)\"";

fn hostile_graph() -> SecurityGraph {
    let mut objects: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut add = |plural: &str, v: Value| objects.entry(plural.into()).or_default().push(v);
    add("namespaces", json!({"metadata": {"name": HOSTILE_NS}}));
    add(
        "pods",
        json!({"metadata": {"name": "p<b>\\N", "namespace": HOSTILE_NS},
               "spec": {"serviceAccountName": HOSTILE_SA, "nodeName": "node#1;[x]",
                        "containers": [{"name": "c{1}", "image": "r/x:1",
                                        "securityContext": {"privileged": true}}]}}),
    );
    add(
        "clusterrolebindings",
        json!({"metadata": {"name": "crb"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cr"},
               "subjects": [{"kind": "ServiceAccount", "name": HOSTILE_SA, "namespace": HOSTILE_NS}]}),
    );
    add(
        "clusterroles",
        json!({"metadata": {"name": "cr"},
               "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
    );
    let input = ClusterInput {
        cluster_id: "c\"l",
        objects: &objects,
        manifest_mode: false,
    };
    build(&input, &ImageFindings::new(), &BuildOptions::default())
}

fn chain_graph() -> SecurityGraph {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/scenarios/paths/internet-to-cluster-admin");
    let snapshot = crowsnest_discover::from_manifests(&[dir]).expect("scenario");
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: true,
    };
    let mut findings = ImageFindings::new();
    findings.insert_reference("registry.test/web:1", vec![kev_finding()]);
    build(&input, &findings, &BuildOptions::default())
}

/// A KEV finding, which makes the exposed pod exploitable.
fn kev_finding() -> Finding {
    Finding {
        id: "CVE-2021-44228".into(),
        aliases: vec![],
        package: FindingPackage {
            name: "log4j-core".into(),
            version: "2.14.1".into(),
            kind: PackageKind::Maven,
            purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".into(),
            ecosystem: "Maven".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: "2.14.1".into(),
        fixed_versions: vec!["2.15.0".into()],
        fix_status: FixStatus::FixAvailable,
        severity: Severity::Critical,
        severity_source: None,
        cvss: None,
        summary: None,
        references: vec![],
        exploitability: Exploitability {
            in_kev: true,
            ..Default::default()
        },
        priority: Priority::default(),
        advisories: vec![],
    }
}

fn draw(graph: &SecurityGraph, assume_breach: bool) -> (String, String, usize) {
    let options = PathOptions {
        assume_breach,
        ..PathOptions::default()
    };
    let paths = attack_paths(graph, &options);
    assert!(!paths.is_empty(), "the scenario has paths");
    let chokes = choke_points(graph, &paths, 10);
    (
        paths_dot(graph, &paths, &chokes),
        paths_mermaid(graph, &paths, &chokes),
        paths.len(),
    )
}

/// The text of a double-quoted dot string starting at `s[0] == '"'`, and the rest.
fn dot_string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Every statement line of the digraph is `nK [attrs];` or `nK -> nM [attrs];` whose
/// attributes are `key=value` with values a bare word or a closed quoted string.
fn check_dot(dot: &str) -> (usize, usize, Vec<String>) {
    let lines: Vec<&str> = dot.lines().collect();
    assert_eq!(lines.first(), Some(&"digraph attack_paths {"));
    assert_eq!(lines.last(), Some(&"}"));
    let (mut nodes, mut edges, mut labels) = (0, 0, Vec::new());
    for line in &lines[1..lines.len() - 1] {
        let line = line.trim();
        if ["rankdir=LR;", "node [", "edge ["]
            .iter()
            .any(|p| line.starts_with(p))
        {
            continue;
        }
        let (head, attrs) = line.split_once(" [").expect("a statement with attributes");
        let parts: Vec<&str> = head.split(' ').collect();
        let is_id = |p: &str| p.starts_with('n') && p[1..].bytes().all(|b| b.is_ascii_digit());
        match parts.as_slice() {
            [id] if is_id(id) => nodes += 1,
            [a, "->", b] if is_id(a) && is_id(b) => edges += 1,
            _ => panic!("not a node or edge statement: {line}"),
        }
        let mut rest = attrs;
        loop {
            let (key, value) = rest.split_once('=').expect("key=value");
            assert!(
                key.bytes().all(|b| b.is_ascii_alphabetic()),
                "attribute name {key:?} in {line}"
            );
            rest = if value.starts_with('"') {
                let (text, after) = dot_string(value).expect("a closed string");
                if key == "label" {
                    labels.push(text);
                }
                after
            } else {
                let end = value.find([',', ']']).expect("end of a bare value");
                &value[end..]
            };
            match rest.strip_prefix(", ") {
                Some(r) => rest = r,
                None => {
                    assert_eq!(rest, "];", "statement end in {line}");
                    break;
                }
            }
        }
    }
    (nodes, edges, labels)
}

/// Every line is a node `nK<open>"text"<close>`, an edge `nK -->|"text"| nM`, or a style
/// line; texts hold no character that could end them.
fn check_mermaid(mermaid: &str) -> (usize, usize) {
    let mut lines = mermaid.lines();
    assert_eq!(lines.next(), Some("flowchart LR"));
    let (mut nodes, mut edges) = (0, 0);
    let safe = |t: &str| {
        t.chars()
            .all(|c| c.is_alphanumeric() || " ._/:-@,*#;".contains(c))
    };
    for line in lines {
        let line = line.strip_prefix("  ").expect("indented");
        if line.starts_with("classDef ")
            || line.starts_with("class ")
            || line.starts_with("linkStyle ")
        {
            continue;
        }
        if let Some((from, rest)) = line.split_once(" -->|\"") {
            let (text, to) = rest.split_once("\"| ").expect("edge label end");
            assert!(safe(text), "edge label {text:?}");
            assert!(from.starts_with('n') && to.starts_with('n'), "{line}");
            edges += 1;
            continue;
        }
        let open = line.find(['[', '(', '{']).expect("node shape");
        let body = &line[open..];
        let inner = ["([\"", "{{\"", "[\""]
            .iter()
            .find_map(|o| body.strip_prefix(o))
            .expect("node label start");
        let text = ["\"])", "\"}}", "\"]"]
            .iter()
            .find_map(|c| inner.strip_suffix(c))
            .expect("node label end");
        assert!(safe(text), "node label {text:?}");
        nodes += 1;
    }
    (nodes, edges)
}

/// Runs Graphviz on the file when it is installed (Debian graphviz).
fn graphviz_accepts(dot: &str) {
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("skipping the Graphviz check: `dot` is not installed (Debian graphviz)");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("write to dot");
    let out = child.wait_with_output().expect("dot runs");
    assert!(
        out.status.success(),
        "dot rejected the file: {}\n{dot}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg"), "dot drew no SVG");
    assert!(
        !svg.contains("href") && !svg.contains("<a "),
        "a name became a link"
    );
}

#[test]
fn chain_is_drawn_once_per_node_with_rules_and_choke_points() {
    let graph = chain_graph();
    let (dot, mermaid, _) = draw(&graph, false);
    let (nodes, edges, labels) = check_dot(&dot);
    let (m_nodes, m_edges) = check_mermaid(&mermaid);
    assert_eq!((nodes, edges), (m_nodes, m_edges));
    // Node labels are unique (deduplicated), and the chain's rules label its edges.
    let node_labels = &labels[..nodes];
    let mut unique = node_labels.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), nodes, "{node_labels:?}");
    assert_eq!(node_labels[0], "Internet");
    for rule in ["ENDPOINT_EXPLOIT", "POD_CREATE", "CLUSTER_ADMIN"] {
        assert!(
            labels[nodes..].iter().any(|l| l == rule),
            "{rule} in {labels:?}"
        );
    }
    assert!(
        dot.contains("color=red, penwidth=3"),
        "choke points highlighted"
    );
    assert!(mermaid.contains("classDef choke") || mermaid.contains("linkStyle "));
    graphviz_accepts(&dot);
}

#[test]
fn hostile_names_cannot_escape_their_labels() {
    let graph = hostile_graph();
    let (dot, mermaid, paths) = draw(&graph, true);
    let (nodes, edges, labels) = check_dot(&dot);
    let (m_nodes, m_edges) = check_mermaid(&mermaid);
    assert_eq!((nodes, edges), (m_nodes, m_edges));
    assert!(edges >= paths, "{edges} edges for {paths} paths");
    // The names survive (control characters as spaces) inside their labels.
    assert!(
        labels
            .iter()
            .any(|l| l.contains("ad|min } click n0 \"javascript:alert(1)\"")),
        "{labels:?}"
    );
    assert!(labels.iter().any(|l| l.contains("p<b>\\N")), "{labels:?}");
    assert!(mermaid.contains("ad#124;min"), "{mermaid}");
    assert!(
        !mermaid.lines().any(|l| l.trim_start().starts_with("click")),
        "a name became a statement: {mermaid}"
    );
    graphviz_accepts(&dot);
}
