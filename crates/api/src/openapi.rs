//! The OpenAPI 3.1 document served at /openapi.json, built from one table of operations
//! so every route is described with its parameters, its security and the error shape.
//!
//! The same table is the authorisation policy: each operation states the [`Access`] it
//! needs (by what it does, not by its HTTP method), the document shows it as
//! `x-crowsnest-role` and as the security scheme it lists, and the auth middleware
//! enforces it through [`access`]. A route missing from the table needs an admin token.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// What a caller needs for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token (health, readiness, metrics, this document).
    Open,
    /// A read or an admin token: reads, and explorer queries (read-only by construction).
    Read,
    /// An admin token: triggering jobs, changing settings, exceptions, tokens.
    Admin,
}

impl Access {
    /// The value of `x-crowsnest-role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Open => "none",
            Access::Read => "read",
            Access::Admin => "admin",
        }
    }
}

/// (name, where, description, schema)
type Param = (&'static str, &'static str, &'static str, Value);

struct Operation {
    path: &'static str,
    method: &'static str,
    id: &'static str,
    summary: &'static str,
    params: Vec<Param>,
    /// The token role it needs.
    access: Access,
    /// Request body schema (POST).
    body: Option<Value>,
    /// 2xx status and its schema.
    ok: (&'static str, Value),
}

fn string() -> Value {
    json!({"type": "string"})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn id() -> Value {
    json!({"type": "integer", "minimum": 1})
}
fn digest() -> Value {
    json!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"})
}
fn page() -> Value {
    json!({"$ref": "#/components/schemas/Page"})
}
fn object() -> Value {
    json!({"type": "object"})
}

fn paging() -> Vec<Param> {
    vec![
        (
            "limit",
            "query",
            "Items per page (1 to 1000, default 100).",
            json!({"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        (
            "cursor",
            "query",
            "The `next` value of the previous page (opaque).",
            string(),
        ),
    ]
}

fn with_paging(mut params: Vec<Param>) -> Vec<Param> {
    params.extend(paging());
    params
}

fn finding_filters() -> Vec<Param> {
    vec![
        (
            "severity",
            "query",
            "Comma-separated severities: critical, high, medium, low, negligible, unknown.",
            string(),
        ),
        (
            "fixStatus",
            "query",
            "FixAvailable, NoFixAvailable, WontFix or Unknown.",
            json!({"type": "string", "enum": ["FixAvailable", "NoFixAvailable", "WontFix", "Unknown"]}),
        ),
        (
            "kev",
            "query",
            "Only findings in (true) or not in (false) CISA KEV.",
            boolean(),
        ),
        (
            "exploit",
            "query",
            "Only findings with (true) or without (false) a public exploit.",
            boolean(),
        ),
        ("package", "query", "Exact package name.", string()),
        (
            "cve",
            "query",
            "Exact vulnerability id (CVE, else the advisory id).",
            string(),
        ),
        (
            "namespace",
            "query",
            "Images running in this namespace per each cluster's latest snapshot.",
            string(),
        ),
        (
            "cluster",
            "query",
            "Images running in this cluster (with namespace: in that namespace of it).",
            string(),
        ),
    ]
}

fn operations() -> Vec<Operation> {
    let op = |path, method, id, summary, params, ok| Operation {
        path,
        method,
        id,
        summary,
        params,
        access: Access::Read,
        body: None,
        ok: ("200", ok),
    };
    let open = |path, id, summary, ok| Operation {
        access: Access::Open,
        ..op(path, "get", id, summary, vec![], ok)
    };
    let digest_path: Param = ("digest", "path", "Image manifest digest.", digest());
    let mut findings_params = finding_filters();
    findings_params.push(("image", "query", "Image manifest digest.", digest()));
    vec![
        open("/healthz", "healthz", "The process is up.", object()),
        open(
            "/readyz",
            "readyz",
            "The store answers and its schema is current (503 otherwise).",
            object(),
        ),
        open(
            "/metrics",
            "metrics",
            "Prometheus text: request counts and latency, scan durations, queue depth, feed age, findings by severity.",
            string(),
        ),
        open("/openapi.json", "openapi", "This document.", object()),
        op(
            "/api/v1/clusters",
            "get",
            "listClusters",
            "Clusters with a snapshot, and the monitoring status of configured clusters.",
            vec![],
            object(),
        ),
        op(
            "/api/v1/clusters/{cluster}",
            "get",
            "getCluster",
            "One cluster's latest snapshot summary.",
            vec![("cluster", "path", "Cluster id.", string())],
            object(),
        ),
        op(
            "/api/v1/snapshots",
            "get",
            "listSnapshots",
            "Cluster snapshots, newest first.",
            with_paging(vec![("cluster", "query", "Only this cluster.", string())]),
            page(),
        ),
        op(
            "/api/v1/snapshots/diff",
            "get",
            "diffSnapshots",
            "Objects added, removed and changed between two snapshots.",
            vec![
                ("from", "query", "Older snapshot id.", id()),
                ("to", "query", "Newer snapshot id.", id()),
            ],
            object(),
        ),
        op(
            "/api/v1/snapshots/{id}",
            "get",
            "getSnapshot",
            "One snapshot with its objects.",
            vec![("id", "path", "Snapshot id.", id())],
            object(),
        ),
        op(
            "/api/v1/registries",
            "get",
            "listRegistries",
            "Registries, and the monitoring status of configured registries.",
            vec![],
            object(),
        ),
        op(
            "/api/v1/repositories",
            "get",
            "listRepositories",
            "Repositories with their image counts.",
            vec![("registry", "query", "Only this registry id.", id())],
            object(),
        ),
        op(
            "/api/v1/images",
            "get",
            "listImages",
            "Images still in a repository, by digest.",
            with_paging(vec![
                ("registry", "query", "Registry id.", id()),
                ("repository", "query", "Repository id.", id()),
            ]),
            page(),
        ),
        op(
            "/api/v1/images/{digest}",
            "get",
            "getImage",
            "An image: tags and push time per repository, where it runs, its assessment.",
            vec![digest_path.clone()],
            object(),
        ),
        Operation {
            ok: (
                "200",
                json!({"type": "object", "description": "CycloneDX 1.6 JSON"}),
            ),
            ..op(
                "/api/v1/images/{digest}/sbom",
                "get",
                "getImageSbom",
                "The image's SBOM (CycloneDX 1.6) from its stored inventory.",
                vec![digest_path.clone()],
                object(),
            )
        },
        op(
            "/api/v1/findings",
            "get",
            "listFindings",
            "Findings of the latest assessments, filtered.",
            with_paging(findings_params),
            page(),
        ),
        op(
            "/api/v1/assessments",
            "get",
            "listAssessments",
            "One assessment per image (Healthy, Unhealthy, NotApplicable), Defender-shaped.",
            paging(),
            page(),
        ),
        op(
            "/api/v1/assessments/{digest}",
            "get",
            "getAssessment",
            "The assessment of one image.",
            vec![digest_path.clone()],
            object(),
        ),
        op(
            "/api/v1/assessments/{digest}/subAssessments",
            "get",
            "listSubAssessments",
            "One sub-assessment per finding (artifactDetails, softwareDetails, vulnerabilityDetails).",
            with_paging({
                let mut p = vec![digest_path.clone()];
                p.extend(finding_filters());
                p
            }),
            page(),
        ),
        op(
            "/api/v1/insights",
            "get",
            "listInsights",
            "Insights of each cluster's security graph.",
            with_paging(vec![
                ("cluster", "query", "Only this cluster.", string()),
                ("kind", "query", "Only this insight kind.", string()),
            ]),
            page(),
        ),
        op(
            "/api/v1/attack-paths",
            "get",
            "listAttackPaths",
            "Ranked attack paths with stories, fixes and choke points.",
            with_paging(vec![
                ("cluster", "query", "Only this cluster.", string()),
                (
                    "assumeBreach",
                    "query",
                    "Also start from every container.",
                    boolean(),
                ),
            ]),
            page(),
        ),
        op(
            "/api/v1/recommendations",
            "get",
            "listRecommendations",
            "Recommendations (vulnerable running containers, images, posture).",
            with_paging(vec![("cluster", "query", "Only this cluster.", string())]),
            page(),
        ),
        op(
            "/api/v1/explorer/templates",
            "get",
            "listQueryTemplates",
            "Named explorer queries.",
            vec![],
            object(),
        ),
        Operation {
            body: Some(
                json!({"type": "object", "additionalProperties": false, "properties": {
                "query": {"type": "string", "description": "openCypher subset (docs/query.md)"},
                "template": {"type": "string"},
                "cluster": {"type": "string"}}}),
            ),
            // Queries only read the graph (the parser refuses write clauses); their
            // time, rows, held matches and concurrency per token are bounded.
            access: Access::Read,
            ..op(
                "/api/v1/explorer/query",
                "post",
                "runQuery",
                "Runs a query or a template on a cluster's graph (at most 5 s and 1000 rows).",
                vec![],
                object(),
            )
        },
        op(
            "/api/v1/settings",
            "get",
            "getSettings",
            "The effective configuration, without credentials.",
            vec![],
            object(),
        ),
        op(
            "/api/v1/status",
            "get",
            "getStatus",
            "Status of every monitored target, queue depth, feed age.",
            vec![],
            object(),
        ),
        op(
            "/api/v1/jobs",
            "get",
            "listJobs",
            "Jobs, newest first.",
            with_paging(vec![
                (
                    "state",
                    "query",
                    "queued, running, done or failed.",
                    json!({"type": "string", "enum": ["queued", "running", "done", "failed"]}),
                ),
                ("kind", "query", "Job kind.", string()),
            ]),
            page(),
        ),
        Operation {
            body: Some(
                json!({"type": "object", "additionalProperties": false, "required": ["kind", "target"], "properties": {
                "kind": {"type": "string", "enum": ["registry-poll", "cluster-snapshot"]},
                "target": {"type": "string", "description": "Configured registry or cluster"}}}),
            ),
            ok: ("202", object()),
            access: Access::Admin,
            ..op(
                "/api/v1/jobs",
                "post",
                "triggerJob",
                "Admin: poll a registry or snapshot a cluster now.",
                vec![],
                object(),
            )
        },
        op(
            "/api/v1/jobs/{id}",
            "get",
            "getJob",
            "One job.",
            vec![("id", "path", "Job id.", id())],
            object(),
        ),
    ]
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The access an operation needs, by its method and route template as the router
/// matched it (`/api/v1/jobs/{id}`); a route not in the table needs an admin token.
pub(crate) fn access(method: &str, route: &str) -> Access {
    static TABLE: OnceLock<HashMap<(String, String), Access>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        operations()
            .into_iter()
            .map(|o| ((o.method.to_string(), o.path.to_string()), o.access))
            .collect()
    });
    let method = match method.to_ascii_lowercase() {
        // HEAD is answered by the GET handler.
        m if m == "head" => "get".to_string(),
        m => m,
    };
    table
        .get(&(method, route.to_string()))
        .copied()
        .unwrap_or(Access::Admin)
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in operations() {
        let mut responses = Map::new();
        responses.insert(
            o.ok.0.into(),
            json!({"description": "Success", "content": {"application/json": {"schema": o.ok.1}}}),
        );
        responses.insert("400".into(), error_response("Malformed request"));
        if o.access != Access::Open {
            responses.insert(
                "401".into(),
                error_response("Missing or unknown bearer token"),
            );
            responses.insert(
                "403".into(),
                error_response(match o.access {
                    Access::Admin => "The token has the read role; this needs an admin token",
                    _ => "The token's role does not allow this",
                }),
            );
            responses.insert(
                "429".into(),
                error_response(
                    "Too many failed authentications from this client (see Retry-After)",
                ),
            );
        }
        if o.path.contains('{') {
            responses.insert("404".into(), error_response("No such object"));
        }
        if o.method == "get" {
            responses.insert(
                "304".into(),
                json!({"description": "Not modified (If-None-Match matched the ETag)"}),
            );
        }
        responses.insert("503".into(), error_response("The store is unavailable"));
        let parameters: Vec<Value> = o
            .params
            .iter()
            .map(|(name, place, description, schema)| {
                json!({"name": name, "in": place, "required": *place == "path", "description": description, "schema": schema})
            })
            .collect();
        let security = match o.access {
            Access::Open => json!([]),
            Access::Read => json!([{"readToken": []}, {"adminToken": []}]),
            Access::Admin => json!([{"adminToken": []}]),
        };
        let mut operation = json!({
            "operationId": o.id,
            "summary": o.summary,
            "parameters": parameters,
            "responses": responses,
            "security": security,
            "x-crowsnest-role": o.access.as_str(),
        });
        if let Some(body) = o.body {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        paths
            .entry(o.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(o.method.into(), operation));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Crowsnest API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Agentless container posture: clusters, registries, images, findings, assessments, the security graph. Every /api/v1 endpoint needs `Authorization: Bearer <token>` (crowsnest token create); each operation's `x-crowsnest-role` says which role it needs: `read` (read and admin tokens: reads and explorer queries) or `admin` (jobs, settings changes, exceptions, tokens). Lists are paginated with `limit` and an opaque `cursor` (the `next` field and a Link header). Every error body is {\"error\":{\"code\",\"message\"}}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "readToken": {"type": "http", "scheme": "bearer", "description": "A token of the read role (crowsnest token create --role read): every read, and explorer queries. Operations with x-crowsnest-role \"read\" accept it."},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "A token of the admin role (crowsnest token create --role admin): everything a read token may, and triggering jobs, changing settings, exceptions and token management (x-crowsnest-role \"admin\")."},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}},
                },
                "Page": {
                    "type": "object",
                    "required": ["items", "next"],
                    "properties": {
                        "items": {"type": "array", "items": {"type": "object"}},
                        "next": {"type": ["string", "null"]},
                    },
                },
            },
        },
    })
}
