//! The query language itself: parsing (good queries and positioned errors), each clause,
//! variable-length relationships, write clauses refused, and the time and size bounds on
//! a synthetic cluster large enough to explode.

#[path = "../benches/synthetic.rs"]
mod synthetic;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crowsnest_graph::query::{QueryEngine, QueryErrorKind, QueryOptions, parse};
use crowsnest_graph::{BuildOptions, ClusterInput, ImageFindings, SecurityGraph, build};

fn graph_of(dirs: &[&str]) -> SecurityGraph {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let paths: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    let snapshot = crowsnest_discover::from_manifests(&paths).expect("scenario manifests");
    let input = ClusterInput {
        cluster_id: &snapshot.cluster_id,
        objects: &snapshot.objects,
        manifest_mode: true,
    };
    build(&input, &ImageFindings::new(), &BuildOptions::default())
}

/// The chain scenario: Internet → service s/web → pod s/web → … → cluster.
fn chain() -> SecurityGraph {
    graph_of(&["paths/internet-to-cluster-admin"])
}

fn rows(graph: &SecurityGraph, q: &str) -> Vec<Vec<String>> {
    QueryEngine::new(graph)
        .query(q, &QueryOptions::default())
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .text_rows()
}

fn error(q: &str) -> (QueryErrorKind, String, usize, usize) {
    let e = parse(q).expect_err(q);
    (e.kind, e.message.clone(), e.line, e.column)
}

#[test]
fn syntax_errors_point_at_the_spot() {
    let (kind, message, line, column) = error("MATCH (n:Pod RETURN n");
    assert_eq!(kind, QueryErrorKind::Syntax);
    assert_eq!(message, "expected ')', found 'RETURN'");
    assert_eq!((line, column), (1, 14));
    let e = parse("MATCH (n:Pod)\nWHERE n.name = \nRETURN n").unwrap_err();
    assert_eq!((e.line, e.column), (3, 1));
    assert_eq!(
        e.to_string(),
        "expected an expression, found 'RETURN' at 3:1\nRETURN n\n^"
    );
    assert_eq!(error("MATCH (n) RETURN n LIMIT -1").3, 26);
    assert_eq!(error("WHERE 1 RETURN 1").1, "expected MATCH, found 'WHERE'");
    // RETURN alone evaluates once.
    assert_eq!(rows(&chain(), "RETURN 1 + 1 AS two"), [["2"]]);
    assert_eq!(
        error("MATCH (n) WHERE n.name = 'x").1,
        "unterminated string"
    );
    assert_eq!(
        error("MATCH (n)<-[]->(m) RETURN n").0,
        QueryErrorKind::Syntax
    );
    assert_eq!(
        error("MATCH (n) RETURN n MATCH (m)").1,
        "expected the end of the query (RETURN is the last clause), found 'MATCH'"
    );
}

#[test]
fn meaning_errors_name_what_is_wrong() {
    let (kind, message, _, column) = error("MATCH (n:Podd) RETURN n");
    assert_eq!((kind, column), (QueryErrorKind::Semantic, 10));
    assert!(
        message.starts_with("unknown label 'Podd'; labels are Internet, "),
        "{message}"
    );
    let (_, message, _, column) = error("MATCH (n)-[:RUNS_IMAGE]->(i) RETURN i");
    assert!(message.starts_with("unknown relationship type 'RUNS_IMAGE'"));
    assert_eq!(column, 13);
    assert_eq!(
        error("MATCH (n) RETURN m").1,
        "unknown variable 'm' (variables come from MATCH patterns)"
    );
    assert!(
        error("MATCH (n)-[*1..11]->(m) RETURN m")
            .1
            .contains("at most 10 hops")
    );
    assert!(error("MATCH (n)-[*3..2]->(m) RETURN m").1.contains("empty"));
    assert!(
        error("MATCH (n) WHERE count(n) > 1 RETURN n")
            .1
            .contains("aggregate")
    );
    assert!(
        error("MATCH (n) RETURN count(n) + 1")
            .1
            .contains("whole RETURN item")
    );
    assert!(
        error("MATCH (n) RETURN frobnicate(n)")
            .1
            .starts_with("unknown function")
    );
    assert!(
        error("MATCH (n) WHERE has_insight(n, 'nope') RETURN n")
            .1
            .starts_with("unknown insight")
    );
    assert!(
        error("MATCH (n)-[n]->(m) RETURN n")
            .1
            .contains("already a node variable")
    );
    assert!(
        error("MATCH (n) WITH n RETURN n")
            .1
            .contains("WITH is not part")
    );
}

#[test]
fn write_clauses_are_refused() {
    for (q, column) in [
        ("CREATE (n:Pod {name: 'x'}) RETURN n", 1),
        ("MATCH (n) SET n.name = 'x' RETURN n", 11),
        ("MATCH (n) DELETE n", 11),
        ("MATCH (n) DETACH DELETE n", 11),
        ("MERGE (n:Pod) RETURN n", 1),
        ("MATCH (n) REMOVE n.name RETURN n", 11),
        ("MATCH (n) RETURN n; CREATE (m)", 21),
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.kind, QueryErrorKind::WriteClause, "{q}");
        assert_eq!(e.column, column, "{q}");
        assert!(e.message.contains("queries are read-only"), "{}", e.message);
    }
}

#[test]
fn labels_and_types_read_in_any_case() {
    let g = chain();
    let want = vec![vec!["pod:s/web".to_string()]];
    for q in [
        "MATCH (p:Pod)-[:USES_IMAGE|CONTAINS]->(:Container) RETURN p.key",
        "match (p:pod)-[:contains]->(:container) return p.key",
        "MATCH (p:POD)-[:Contains]->(:CONTAINER) RETURN p.key",
    ] {
        assert_eq!(rows(&g, q), want, "{q}");
    }
}

#[test]
fn match_patterns_directions_and_property_maps() {
    let g = chain();
    assert_eq!(
        rows(
            &g,
            "MATCH (s:Service {name: 'web'})-[r]->(p:Pod) RETURN s.key, type(r), p.key"
        ),
        [["service:s/web", "ROUTES_TRAFFIC_TO", "pod:s/web"]]
    );
    // Against the arrow, and either way.
    assert_eq!(
        rows(&g, "MATCH (p:Pod)<-[:ROUTES_TRAFFIC_TO]-(s) RETURN s.key"),
        [["service:s/web"]]
    );
    assert_eq!(
        rows(
            &g,
            "MATCH (p:Pod {name: 'web'})-[:ROUTES_TRAFFIC_TO]-(s) RETURN s.key"
        ),
        [["service:s/web"]]
    );
    assert!(rows(&g, "MATCH (p:Pod)-[:ROUTES_TRAFFIC_TO]->(s) RETURN s.key").is_empty());
    // Two comma-separated patterns joined by a variable, and a second MATCH.
    assert_eq!(
        rows(
            &g,
            "MATCH (p:Pod)-[:CONTAINS]->(c), (c)-[:USES_IMAGE]->(i) \
             MATCH (p)-[:AUTHENTICATES_AS]->(sa) RETURN c.key, i.name, sa.key"
        ),
        [["container:s/web/app", "registry.test/web:1", "sa:s/web"]]
    );
    // A relationship is matched once per MATCH: no walking back over the same edge.
    assert!(rows(&g, "MATCH (a:Pod)-[]-(b)-[]-(a) RETURN b.key").is_empty());
    // Unconnected patterns are a cartesian product.
    assert_eq!(
        rows(&g, "MATCH (a:Internet), (c:Cluster) RETURN a.key, c.key"),
        [["internet", "cluster"]]
    );
    // The key fast path.
    assert_eq!(
        rows(&g, "MATCH (n {key: 'sa:s/admin'}) RETURN n.name"),
        [["admin"]]
    );
}

#[test]
fn variable_length_relationships() {
    let g = chain();
    // Internet → service → pod: two hops, not one or three.
    let q = |hops: &str| {
        rows(
            &g,
            &format!(
                "MATCH (:Internet)-[r:ROUTES_TRAFFIC_TO{hops}]->(p:Pod) RETURN p.key, length(r)"
            ),
        )
    };
    assert_eq!(q("*"), [["pod:s/web", "2"]]);
    assert_eq!(q("*2"), [["pod:s/web", "2"]]);
    assert_eq!(q("*1..2"), [["pod:s/web", "2"]]);
    assert!(q("*1").is_empty());
    assert!(q("*3..5").is_empty());
    assert_eq!(q("*..4"), [["pod:s/web", "2"]]);
    // From the container to cluster-admin over traversable edges: token → pod creation in
    // s → the admin account → cluster.
    assert_eq!(
        rows(
            &g,
            "MATCH (:Container)-[r*1..8]->(:Cluster) WHERE all(e IN r WHERE e.traversable) \
             RETURN min(length(r)) AS shortest"
        ),
        [["4"]]
    );
    // Zero hops: the start node itself.
    assert_eq!(
        rows(&g, "MATCH (a:Cluster)-[*0..0]->(b) RETURN b.key"),
        [["cluster"]]
    );
    // The list of edges, in order.
    assert_eq!(
        rows(&g, "MATCH (:Internet)-[r*2]->(:Pod) RETURN r"),
        [[
            "[internet -[ROUTES_TRAFFIC_TO]-> service:s/web, service:s/web -[ROUTES_TRAFFIC_TO]-> pod:s/web]"
        ]]
    );
}

#[test]
fn where_operators_and_null_logic() {
    let g = chain();
    let names = |cond: &str| -> Vec<String> {
        rows(
            &g,
            &format!("MATCH (n:ServiceAccount) WHERE {cond} RETURN n.name ORDER BY n.name"),
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    };
    assert_eq!(names("n.name = 'web'"), ["web"]);
    assert_eq!(names("n.name <> 'web'"), ["admin"]);
    assert_eq!(names("n.name < 'b'"), ["admin"]);
    assert_eq!(
        names("n.name >= 'admin' AND n.name <= 'web'"),
        ["admin", "web"]
    );
    assert_eq!(names("n.name > 'admin'"), ["web"]);
    assert_eq!(names("n.name IN ['web', 'x']"), ["web"]);
    assert_eq!(names("NOT n.name IN ['web']"), ["admin"]);
    assert_eq!(names("n.name CONTAINS 'dmi'"), ["admin"]);
    assert_eq!(
        names("n.name STARTS WITH 'w' OR n.name ENDS WITH 'min'"),
        ["admin", "web"]
    );
    assert_eq!(names("n.name = 'web' XOR n.namespace = 's'"), ["admin"]);
    assert_eq!(
        names("(n.name = 'web' OR n.name = 'admin') AND n.namespace = 's'"),
        ["admin", "web"]
    );
    // A missing property is null: neither equal nor unequal, IS NULL finds it.
    assert!(names("n.nothing = 1").is_empty());
    assert!(names("n.nothing <> 1").is_empty());
    assert_eq!(
        names("n.nothing IS NULL AND n.name IS NOT NULL"),
        ["admin", "web"]
    );
    assert_eq!(
        names("size(n.name) = 3 AND toUpper(n.name) = 'WEB'"),
        ["web"]
    );
    assert_eq!(names("coalesce(n.nothing, n.name) = 'admin'"), ["admin"]);
    // Numbers across types, and arithmetic.
    assert_eq!(
        names("1 + 1 = 2.0 AND 7 % 4 = 3 AND -2 * 3 = -6 AND 1 / 0 IS NULL"),
        ["admin", "web"]
    );
    // Insights: the list property and the function agree.
    let g2 = graph_of(&["ce-privileged/positive"]);
    let q = "MATCH (c:Container) WHERE 'privilegedContainer' IN c.insights RETURN c.key";
    assert_eq!(rows(&g2, q), [["container:s/p/app"]]);
    let q = "MATCH (c:Container) WHERE has_insight(c, 'PRIVILEGED_CONTAINER') RETURN c.key";
    assert_eq!(rows(&g2, q), [["container:s/p/app"]]);
    let q = "MATCH (c:Container) WHERE c.insights CONTAINS 'runsAsRoot' RETURN c.key";
    assert_eq!(rows(&g2, q), [["container:s/p/app"]]);
    let g3 = graph_of(&["ce-privileged/mitigated"]);
    let q = "MATCH (c:Container) WHERE has_insight(c, 'privilegedContainer') RETURN c.key";
    assert!(rows(&g3, q).is_empty());
}

#[test]
fn return_distinct_aggregates_order_skip_limit() {
    let g = chain();
    assert_eq!(
        rows(
            &g,
            "MATCH (n) RETURN labels(n) AS label, count(*) AS n ORDER BY n DESC, label LIMIT 2"
        ),
        [["[Namespace]", "2"], ["[ServiceAccount]", "2"]]
    );
    let all = rows(&g, "MATCH (n) RETURN n.key ORDER BY n.key");
    assert_eq!(
        rows(&g, "MATCH (n) RETURN n.key ORDER BY n.key SKIP 2 LIMIT 3"),
        all[2..5].to_vec()
    );
    let desc = rows(&g, "MATCH (n) RETURN n.key AS k ORDER BY k DESC");
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);
    assert_eq!(
        rows(&g, "MATCH (n:ServiceAccount) RETURN DISTINCT n.namespace"),
        [["s"]]
    );
    assert_eq!(
        rows(
            &g,
            "MATCH (n:ServiceAccount) RETURN count(n), count(DISTINCT n.namespace), \
             collect(n.name), min(n.name), max(n.name)"
        ),
        [["2", "1", "[web, admin]", "admin", "web"]]
    );
    // No match: count(*) is 0, a grouped count has no rows.
    assert_eq!(rows(&g, "MATCH (n:Gateway) RETURN count(*)"), [["0"]]);
    assert!(rows(&g, "MATCH (n:Gateway) RETURN n.name, count(*)").is_empty());
    // Column names: the alias, else the expression's text.
    let result = QueryEngine::new(&g)
        .query(
            "MATCH (n:Cluster) RETURN n.key, n.name AS name, count(*)",
            &QueryOptions::default(),
        )
        .unwrap();
    assert_eq!(result.columns, ["n.key", "name", "count(*)"]);
    // JSON cells: nodes as objects.
    let result = QueryEngine::new(&g)
        .query(
            "MATCH (n:ServiceAccount {name: 'web'}) RETURN n",
            &QueryOptions::default(),
        )
        .unwrap();
    assert_eq!(
        result.rows[0][0],
        serde_json::json!({"key": "sa:s/web", "label": "ServiceAccount", "name": "web", "namespace": "s"})
    );
}

fn large() -> SecurityGraph {
    let s = synthetic::cluster(2000, 400);
    let input = ClusterInput {
        cluster_id: "synthetic",
        objects: &s.objects,
        manifest_mode: false,
    };
    build(&input, &s.findings, &BuildOptions::default())
}

#[test]
fn bounds_stop_exploding_queries_quickly() {
    let g = large();
    let engine = QueryEngine::new(&g);
    // Every path of up to 10 hops, either way, over every edge: astronomically many.
    let options = QueryOptions {
        timeout: Duration::from_millis(300),
        ..QueryOptions::default()
    };
    let started = Instant::now();
    let e = engine
        .query("MATCH (a)-[*1..10]-(b) RETURN count(*)", &options)
        .unwrap_err();
    assert_eq!(e.kind, QueryErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("0.3 s deadline"));

    // Too many rows for ORDER BY to hold: an error, not memory growth.
    let options = QueryOptions {
        max_matches: 50_000,
        ..QueryOptions::default()
    };
    let e = engine
        .query(
            "MATCH (a:Pod), (b:Pod) RETURN a.key, b.key ORDER BY a.key",
            &options,
        )
        .unwrap_err();
    assert_eq!(e.kind, QueryErrorKind::TooManyMatches, "{e}");

    // Without ORDER BY the rows stream: the cap cuts them off and says so.
    let options = QueryOptions {
        max_rows: 1000,
        ..QueryOptions::default()
    };
    let started = Instant::now();
    let result = engine
        .query("MATCH (a:Pod), (b:Pod) RETURN a.key, b.key", &options)
        .unwrap();
    assert!(result.truncated);
    assert_eq!(result.rows.len(), 1000);
    assert!(started.elapsed() < Duration::from_secs(2));
    // LIMIT under the cap is not truncation.
    let result = engine
        .query("MATCH (a:Pod) RETURN a.key LIMIT 10", &options)
        .unwrap();
    assert!(!result.truncated);
    assert_eq!(result.rows.len(), 10);
}

#[test]
fn hostile_texts_are_errors_not_panics() {
    let deep = format!(
        "MATCH (n) WHERE {}1{} RETURN n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(
        parse(&deep)
            .unwrap_err()
            .message
            .contains("nested more than")
    );
    let nots = format!("MATCH (n) WHERE {} true RETURN n", "NOT ".repeat(10_000));
    assert!(parse(&nots).is_err());
    // Long chains are refused (evaluating them recurses as deep as they are long)…
    let and_chain = format!(
        "MATCH (n) WHERE {} RETURN n",
        vec!["true"; 5000].join(" AND ")
    );
    assert!(parse(&and_chain).unwrap_err().message.contains("operators"));
    let sum = format!("MATCH (n) RETURN {}", vec!["1"; 5000].join(" + "));
    assert!(parse(&sum).is_err());
    let pattern = format!("MATCH {}() RETURN 1", "()--".repeat(5000));
    assert!(
        parse(&pattern)
            .unwrap_err()
            .message
            .contains("relationships in one pattern")
    );
    let patterns = format!("MATCH {}() RETURN 1", "(), ".repeat(5000));
    assert!(
        parse(&patterns)
            .unwrap_err()
            .message
            .contains("patterns in one query")
    );
    // …and the longest allowed ones run (on a test thread's small stack).
    let g = chain();
    let q = format!(
        "MATCH (n:Cluster) WHERE {} RETURN count(*)",
        vec!["n.key = 'cluster'"; 85].join(" AND ")
    );
    assert_eq!(rows(&g, &q), [["1"]]);
    let q = format!(
        "MATCH (n:Cluster) RETURN {} AS total",
        vec!["1"; 256].join(" + ")
    );
    assert_eq!(rows(&g, &q), [["256"]]);
    let long = format!("MATCH (n) RETURN '{}'", "x".repeat(70_000));
    assert!(parse(&long).unwrap_err().message.contains("longer than"));
    for q in [
        "",
        "(",
        "MATCH",
        "MATCH (",
        "MATCH (n)-[",
        "MATCH (n)-[*",
        "é",
        "MATCH (n) RETURN n.",
        "\u{0}",
    ] {
        assert!(parse(q).is_err(), "{q:?}");
    }
}
