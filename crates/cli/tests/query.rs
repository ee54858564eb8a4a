//! `crowsnest query` end to end on manifests (no test bed needed): templates, formats,
//! the exit code of an invalid query, and the deadline.

use std::path::PathBuf;
use std::process::Output;

mod common;

use common::text;

fn scenario() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../graph/tests/query_scenario")
        .display()
        .to_string()
}

/// `crowsnest query ARGS…`.
fn run(args: &[&str]) -> Output {
    common::run(&[&["query"], args].concat())
}

#[test]
fn a_query_on_manifests_as_a_table_and_as_json() {
    let dir = scenario();
    let q = "MATCH (c:Container) WHERE has_insight(c, 'privilegedContainer') RETURN c.key AS container, c.image";
    let o = run(&["--manifests", &dir, q]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        out,
        "CONTAINER                       C.IMAGE\n\
         container:internal/agent/agent  registry.test/agent:1\n(1 rows)\n"
    );

    let o = run(&["--manifests", &dir, "--format", "json", q]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "columns": ["container", "c.image"],
            "rows": [["container:internal/agent/agent", "registry.test/agent:1"]],
            "truncated": false
        })
    );
}

#[test]
fn templates_by_name_and_listed() {
    let o = run(&["--list-templates"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(out.starts_with("TEMPLATE"));
    for name in [
        "exposed-pods-with-kev",
        "cluster-wide-secret-readers",
        "privileged-containers",
    ] {
        assert!(out.contains(name), "{name} in {out}");
    }
    let o = run(&[
        "--manifests",
        &scenario(),
        "--template",
        "cluster-wide-secret-readers",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        out,
        "IDENTITY\nsa:internal/admin\nsa:kube-system/reader\n(2 rows)\n"
    );

    let o = run(&["--manifests", &scenario(), "--template", "no-such-template"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("no template 'no-such-template'"));
}

#[test]
fn an_invalid_query_exits_2_with_the_position() {
    let o = run(&["--manifests", &scenario(), "MATCH (n:Pod RETURN n"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(out.is_empty());
    assert_eq!(
        err,
        "error: invalid query: expected ')', found 'RETURN' at 1:14\nMATCH (n:Pod RETURN n\n             ^\n"
    );
    let o = run(&["--manifests", &scenario(), "MATCH (n) DETACH DELETE n"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("DETACH writes to the graph; queries are read-only")
    );
}

#[test]
fn the_deadline_stops_an_exploding_query() {
    let started = std::time::Instant::now();
    let o = run(&[
        "--manifests",
        &scenario(),
        "--query-timeout",
        "0.2",
        "MATCH (a)-[*1..10]-(b) RETURN count(*)",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("deadline"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    let o = run(&[
        "--manifests",
        &scenario(),
        "--max-rows",
        "3",
        "MATCH (n) RETURN n.key",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("more than 3 rows"), "{err}");
    assert!(out.ends_with("(3 rows)\n"), "{out}");
}
