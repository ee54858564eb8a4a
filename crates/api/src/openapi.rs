//! The OpenAPI 3.1 document served at /openapi.json, built from one table of operations
//! so every route is described with its parameters, its security and the error shape.

use serde_json::{Map, Value, json};

/// (name, where, description, schema)
type Param = (&'static str, &'static str, &'static str, Value);

struct Operation {
    path: &'static str,
    method: &'static str,
    id: &'static str,
    summary: &'static str,
    params: Vec<Param>,
    /// Whether it needs a token.
    secured: bool,
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
        secured: true,
        body: None,
        ok: ("200", ok),
    };
    let open = |path, id, summary, ok| Operation {
        secured: false,
        ..op(path, "get", id, summary, vec![], ok)
    };
    let digest_path: Param = ("digest", "path", "Image manifest digest.", digest());
    let mut findings_params = finding_filters();
    findings_params.push(("image", "query", "Image manifest digest.", digest()));
    let mut ops = vec![
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
        Operation {
            ok: ("202", object()),
            ..op(
                "/api/v1/images/{digest}/retry",
                "post",
                "retryImageScan",
                "Admin: scan the image again now (lifts the quarantine of an image whose scan failed on every attempt).",
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
    ];
    ops.extend(console_operations());
    ops
}

/// The web console's endpoints (sessions, overview, settings changes, tokens, saved
/// queries, simulation).
fn console_operations() -> Vec<Operation> {
    let op = |path, method, id, summary, ok| Operation {
        path,
        method,
        id,
        summary,
        params: vec![],
        secured: true,
        body: None,
        ok: ("200", ok),
    };
    let session = || json!({"$ref": "#/components/schemas/Session"});
    vec![
        Operation {
            secured: false,
            body: Some(
                json!({"type": "object", "additionalProperties": false, "required": ["token"],
                "properties": {"token": {"type": "string", "description": "An API token"}}}),
            ),
            ..op(
                "/api/v1/session",
                "post",
                "createSession",
                "Exchanges an API token for a console session: sets the HttpOnly, SameSite=Strict cookie `crowsnest_session` (8 h) and returns the CSRF token every non-GET request with the cookie must send as X-CSRF-Token.",
                session(),
            )
        },
        op(
            "/api/v1/session",
            "get",
            "getSession",
            "The session the cookie names, with its CSRF token (401 without one).",
            session(),
        ),
        op(
            "/api/v1/overview",
            "get",
            "getOverview",
            "The console's overview: freshness and status of each cluster, registry and the feeds; finding counts; the top 5 attack paths and top 3 choke points over every cluster; what changed in each cluster since its previous snapshot.",
            object(),
        ),
        op(
            "/api/v1/tokens",
            "get",
            "listTokens",
            "Admin: API tokens by name (name, role, created, last used; never the token).",
            object(),
        ),
        Operation {
            body: Some(
                json!({"type": "object", "additionalProperties": false, "required": ["name", "role"],
                "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                    "role": {"type": "string", "enum": ["read", "admin"]}}}),
            ),
            ok: ("201", object()),
            ..op(
                "/api/v1/tokens",
                "post",
                "createToken",
                "Admin: creates a token; the response's `token` is shown this once.",
                object(),
            )
        },
        Operation {
            params: vec![("name", "path", "Token name.", string())],
            ok: ("204", json!({})),
            ..op(
                "/api/v1/tokens/{name}",
                "delete",
                "revokeToken",
                "Admin: revokes a token; its console sessions end at once.",
                json!({}),
            )
        },
        op(
            "/api/v1/explorer/saved",
            "get",
            "listSavedQueries",
            "The calling token's saved explorer queries, by name.",
            object(),
        ),
        Operation {
            body: Some(
                json!({"type": "object", "additionalProperties": false, "required": ["name", "query"],
                "properties": {"name": {"type": "string", "maxLength": 200},
                    "query": {"type": "string", "maxLength": 16384},
                    "cluster": {"type": "string"}}}),
            ),
            ok: ("201", object()),
            ..op(
                "/api/v1/explorer/saved",
                "post",
                "saveQuery",
                "Saves an explorer query for the calling token (names unique per token, at most 500).",
                object(),
            )
        },
        Operation {
            params: vec![("id", "path", "Saved query id.", id())],
            ok: ("204", json!({})),
            ..op(
                "/api/v1/explorer/saved/{id}",
                "delete",
                "deleteSavedQuery",
                "Deletes one of the calling token's saved queries.",
                json!({}),
            )
        },
        Operation {
            ok: ("204", json!({})),
            ..op(
                "/api/v1/session",
                "delete",
                "deleteSession",
                "Ends the session (X-CSRF-Token required) and clears the cookie.",
                json!({}),
            )
        },
    ]
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in operations() {
        let mut responses = Map::new();
        let success = if o.ok.0 == "204" {
            json!({"description": "Success, no content"})
        } else {
            json!({"description": "Success", "content": {"application/json": {"schema": o.ok.1}}})
        };
        responses.insert(o.ok.0.into(), success);
        responses.insert("400".into(), error_response("Malformed request"));
        if o.secured {
            responses.insert(
                "401".into(),
                error_response("Missing or unknown bearer token"),
            );
            responses.insert(
                "403".into(),
                error_response("The token's role does not allow this"),
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
        let mut operation = json!({
            "operationId": o.id,
            "summary": o.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if o.secured {
            operation["security"] = json!([{"bearer": []}, {"session": []}]);
        } else {
            operation["security"] = json!([]);
        }
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
            "description": "Agentless container posture: clusters, registries, images, findings, assessments, the security graph. Every /api/v1 endpoint needs `Authorization: Bearer <token>` (crowsnest token create). Lists are paginated with `limit` and an opaque `cursor` (the `next` field and a Link header). Every error body is {\"error\":{\"code\",\"message\"}}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "crowsnest_session",
                    "description": "A console session (POST /api/v1/session); requests other than GET and HEAD also need the X-CSRF-Token header."},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}},
                },
                "Session": {
                    "type": "object",
                    "required": ["role", "tokenName", "expiresAt", "csrfToken"],
                    "properties": {
                        "role": {"type": "string", "enum": ["read", "admin"]},
                        "tokenName": {"type": "string"},
                        "expiresAt": {"type": "string", "format": "date-time"},
                        "csrfToken": {"type": "string"},
                    },
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
