//! The endpoints the web console needs: sessions (cookie + CSRF), the overview, settings
//! changes, tokens, saved queries. Run by http.rs on both back ends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Server, assert_error};
use crowsnest_api::auth;
use crowsnest_store::{ConsoleStore, Store};

/// A signed-in console: its cookie and CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub body: Value,
}

impl Server {
    pub async fn sign_in(&self, token: &str) -> (StatusCode, Option<String>, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/session", self.base))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let set_cookie = r
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string());
        (status, set_cookie, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn session(&self, token: &str) -> Session {
        let (st, set_cookie, body) = self.sign_in(token).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let set_cookie = set_cookie.expect("a Set-Cookie header");
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        Session {
            cookie,
            csrf: body["csrfToken"].as_str().unwrap().to_string(),
            body,
        }
    }

    /// A request with the session cookie (and the CSRF header when `csrf` is given).
    pub async fn with_cookie(
        &self,
        method: reqwest::Method,
        path: &str,
        session: &Session,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", format!("theme=dark; {}", session.cookie));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let response = r.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

pub async fn console_sessions(s: Server) {
    use reqwest::Method;
    // A wrong token gets the error body and no cookie.
    let (st, cookie, body) = s.sign_in("cn_not-a-token").await;
    assert_error(st, &body, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());

    let (st, set_cookie, body) = s.sign_in(&s.read).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let set_cookie = set_cookie.unwrap();
    for flag in [
        "crowsnest_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    assert_eq!(
        (body["role"].as_str(), body["tokenName"].as_str()),
        (Some("read"), Some("reader"))
    );
    let expires = time::OffsetDateTime::parse(
        body["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::hours(7) && left <= time::Duration::hours(8),
        "{left}"
    );
    let read = s.session(&s.read).await;
    assert!(
        !read.cookie.contains(&s.read),
        "the cookie is not the API token"
    );

    // The cookie stands in for the bearer token; GET needs no CSRF token.
    let (st, _, v) = s
        .with_cookie(Method::GET, "/api/v1/clusters", &read, None, None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _, v) = s
        .with_cookie(Method::GET, "/api/v1/session", &read, None, None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["csrfToken"], read.body["csrfToken"],
        "a reload gets the same CSRF token"
    );
    // Only hashes are stored: the cookie's value itself finds nothing.
    let id = read.cookie.trim_start_matches("crowsnest_session=");
    assert!(s.store.session(id).await.unwrap().is_none());
    assert!(
        s.store
            .session(&auth::token_hash(id))
            .await
            .unwrap()
            .is_some()
    );

    // A state change with the cookie needs the CSRF header, and the role still counts.
    let admin = s.session(&s.admin).await;
    let trigger = json!({"kind": "cluster-snapshot", "target": "prod"});
    let (st, _, v) = s
        .with_cookie(
            Method::POST,
            "/api/v1/jobs",
            &admin,
            None,
            Some(trigger.clone()),
        )
        .await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    let (st, _, v) = s
        .with_cookie(
            Method::POST,
            "/api/v1/jobs",
            &admin,
            Some(&read.csrf),
            Some(trigger.clone()),
        )
        .await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    let (st, _, v) = s
        .with_cookie(
            Method::POST,
            "/api/v1/jobs",
            &admin,
            Some(&admin.csrf),
            Some(trigger.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let (st, _, v) = s
        .with_cookie(
            Method::POST,
            "/api/v1/jobs",
            &read,
            Some(&read.csrf),
            Some(trigger.clone()),
        )
        .await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    // Bearer requests need no CSRF token.
    let (st, v) = s.post("/api/v1/jobs", &s.admin, trigger).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");

    // Sign-out: CSRF required, then the cookie is cleared and dead.
    let (st, _, v) = s
        .with_cookie(Method::DELETE, "/api/v1/session", &read, None, None)
        .await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    let (st, headers, _) = s
        .with_cookie(
            Method::DELETE,
            "/api/v1/session",
            &read,
            Some(&read.csrf),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let cleared = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cleared.contains("crowsnest_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    for path in ["/api/v1/session", "/api/v1/clusters"] {
        let (st, _, v) = s.with_cookie(Method::GET, path, &read, None, None).await;
        assert_error(st, &v, StatusCode::UNAUTHORIZED);
    }

    // Revoking the token ends its sessions at once.
    let temp = auth::generate_token().unwrap();
    s.store
        .create_api_token(
            "temp",
            crowsnest_store::TokenRole::Admin,
            &auth::token_hash(&temp),
        )
        .await
        .unwrap();
    let temp_session = s.session(&temp).await;
    let (st, _, _) = s
        .with_cookie(Method::GET, "/api/v1/clusters", &temp_session, None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(s.store.revoke_api_token("temp").await.unwrap());
    let (st, _, v) = s
        .with_cookie(Method::GET, "/api/v1/clusters", &temp_session, None, None)
        .await;
    assert_error(st, &v, StatusCode::UNAUTHORIZED);
    // The admin's own session is untouched.
    let (st, _, _) = s
        .with_cookie(Method::GET, "/api/v1/session", &admin, None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

/// Every item of a paginated list.
async fn all_items(s: &Server, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (st, v) = s.get(&format!("{path}{sep}limit=1000")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["next"].is_null(), "one page holds the test data");
    v["items"].as_array().unwrap().clone()
}

pub async fn overview_agrees_with_the_other_endpoints(s: Server) {
    use crowsnest_store::{TargetKind, TargetStatus};
    let (first, second) = super::populate(&s.store).await;
    let next = time::macros::datetime!(2030-01-01 00:00 UTC);
    let status = |kind, id: &str, error: Option<&str>| TargetStatus {
        kind,
        id: id.into(),
        last_attempt: Some(time::OffsetDateTime::now_utc()),
        last_success: Some(time::OffsetDateTime::now_utc()),
        last_error: error.map(str::to_string),
        consecutive_failures: u32::from(error.is_some()),
        next_attempt: Some(next),
    };
    for st in [
        status(TargetKind::Cluster, "prod", None),
        status(
            TargetKind::Registry,
            "shop-registry",
            Some("registry.test: connection refused"),
        ),
        status(TargetKind::Feeds, "feeds", None),
    ] {
        s.store.put_target_status(&st).await.unwrap();
    }
    let (st, v) = s.get("/api/v1/overview").await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{v}");
    assert_eq!(clusters[0]["name"], "prod");
    assert_eq!(clusters[0]["status"], "ok");
    assert_eq!(clusters[0]["lastSnapshotAt"], "2024-06-03T11:00:00Z");
    assert_eq!(clusters[0]["nextSnapshotAt"], "2030-01-01T00:00:00Z");
    let registries = v["registries"].as_array().unwrap();
    assert_eq!(registries[0]["name"], "shop-registry");
    assert_eq!(registries[0]["status"], "failing");
    assert_eq!(
        registries[0]["lastError"],
        "registry.test: connection refused"
    );
    assert_eq!(v["feeds"]["stale"], false, "{v}");
    assert_eq!(v["feeds"]["nextSyncAt"], "2030-01-01T00:00:00Z");

    // The counts are those of the findings endpoint.
    let f = &v["findings"];
    let by_severity: u64 = ["critical", "high", "medium", "low", "unknown"]
        .iter()
        .map(|k| f["bySeverity"][k].as_u64().unwrap())
        .sum();
    assert_eq!(
        by_severity as usize,
        all_items(&s, "/api/v1/findings").await.len()
    );
    assert_eq!(
        f["bySeverity"]["critical"].as_u64().unwrap() as usize,
        all_items(&s, "/api/v1/findings?severity=critical")
            .await
            .len()
    );
    assert_eq!(
        f["kev"].as_u64().unwrap() as usize,
        all_items(&s, "/api/v1/findings?kev=true").await.len()
    );
    assert_eq!(f["kev"], 3);
    assert_eq!(
        f["fixable"].as_u64().unwrap() as usize,
        all_items(&s, "/api/v1/findings?fixStatus=FixAvailable")
            .await
            .len()
    );
    assert_eq!(
        f["exploitable"].as_u64().unwrap() as usize,
        all_items(&s, "/api/v1/findings?exploit=true").await.len()
    );

    // The top paths are the attack-paths list's best five, the choke points its best.
    let mut paths = all_items(&s, "/api/v1/attack-paths").await;
    assert!(
        !paths.is_empty(),
        "the exposed privileged web pod gives paths"
    );
    paths.sort_by(|a, b| {
        b["score"]
            .as_f64()
            .unwrap()
            .total_cmp(&a["score"].as_f64().unwrap())
    });
    paths.truncate(5);
    assert_eq!(v["topPaths"], Value::Array(paths.clone()));
    let chokes = v["topChokePoints"].as_array().unwrap();
    assert!(!chokes.is_empty() && chokes.len() <= 3, "{v}");
    assert_eq!(chokes[0]["fix"], paths[0]["chokePoints"][0]["fix"]);
    assert!(chokes[0]["pathsRemoved"].as_u64().unwrap() >= 1);

    // What changed from the first snapshot to the second: the job pod came, web changed.
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{v}");
    let c = &changes[0];
    assert_eq!(
        (c["from"].as_i64(), c["to"].as_i64()),
        (Some(first), Some(second))
    );
    let (st, diff) = s
        .get(&format!("/api/v1/snapshots/diff?from={first}&to={second}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    for kind in ["added", "removed", "changed"] {
        assert_eq!(
            c[kind]["count"].as_u64().unwrap() as usize,
            diff["diff"][kind].as_array().unwrap().len(),
            "{kind}: {c}"
        );
    }
    assert!(
        c["added"]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "pods/batch/job"),
        "{c}"
    );
    assert!(
        c["changed"]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "pods/shop/web"),
        "{c}"
    );
    s.stop().await;
}

pub async fn tokens_and_saved_queries(s: Server) {
    use reqwest::Method;
    let send = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut r = s
            .client
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let response = r.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // Read tokens cannot see or change tokens.
    let (st, v) = s.get("/api/v1/tokens").await;
    assert_error(st, &v, StatusCode::FORBIDDEN);
    let (st, v) = s.get_as("/api/v1/tokens", Some(&s.admin)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "reader"]);
    assert!(
        !v.to_string().contains(&s.admin[3..]),
        "never a token value"
    );

    // Created once, usable at once, listed without its value, revoked with its sessions.
    let (st, v) = send(
        Method::POST,
        "/api/v1/tokens",
        &s.admin,
        Some(json!({"name": "ci", "role": "read"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let ci = v["token"].as_str().unwrap().to_string();
    assert!(ci.starts_with("cn_"));
    let (st, _) = s.get_as("/api/v1/clusters", Some(&ci)).await;
    assert_eq!(st, StatusCode::OK);
    let ci_session = s.session(&ci).await;
    let (st, v) = send(
        Method::POST,
        "/api/v1/tokens",
        &s.admin,
        Some(json!({"name": "ci", "role": "read"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = send(
        Method::POST,
        "/api/v1/tokens",
        &s.admin,
        Some(json!({"name": "x", "role": "root"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("role"),
        "{v}"
    );
    let (st, v) = send(
        Method::POST,
        "/api/v1/tokens",
        &s.admin,
        Some(json!({"name": "bad name!", "role": "read"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = s.get_as("/api/v1/tokens", Some(&s.admin)).await;
    assert!(!v.to_string().contains(&ci[3..]), "{v}");
    let (st2, v2) = send(Method::DELETE, "/api/v1/tokens/ci", &s.read, None).await;
    assert_error(st2, &v2, StatusCode::FORBIDDEN);
    let (st2, _) = send(Method::DELETE, "/api/v1/tokens/ci", &s.admin, None).await;
    assert_eq!(st2, StatusCode::NO_CONTENT);
    let (st2, v2) = send(Method::DELETE, "/api/v1/tokens/ci", &s.admin, None).await;
    assert_error(st2, &v2, StatusCode::NOT_FOUND);
    let (st2, _, v2) = s
        .with_cookie(Method::GET, "/api/v1/clusters", &ci_session, None, None)
        .await;
    assert_error(st2, &v2, StatusCode::UNAUTHORIZED);
    assert_eq!(st, StatusCode::OK);

    // Saved queries belong to the token that saved them.
    let query =
        json!({"name": "exposed pods", "query": "MATCH (p:Pod) RETURN p.name", "cluster": "prod"});
    let (st, saved) = send(
        Method::POST,
        "/api/v1/explorer/saved",
        &s.admin,
        Some(query.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["query"], query["query"]);
    let (st, v) = send(
        Method::POST,
        "/api/v1/explorer/saved",
        &s.admin,
        Some(query.clone()),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (st, v) = send(
        Method::POST,
        "/api/v1/explorer/saved",
        &s.admin,
        Some(json!({"name": "", "query": "x"})),
    )
    .await;
    assert_error(st, &v, StatusCode::BAD_REQUEST);
    let (_, mine) = s.get_as("/api/v1/explorer/saved", Some(&s.admin)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let (_, theirs) = s.get("/api/v1/explorer/saved").await;
    assert_eq!(
        theirs["items"],
        json!([]),
        "the reader sees none of the admin's"
    );
    let id = saved["id"].as_i64().unwrap();
    let path = format!("/api/v1/explorer/saved/{id}");
    let (st, _) = send(Method::DELETE, &path, &s.admin, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = send(Method::DELETE, &path, &s.admin, None).await;
    assert_error(st, &v, StatusCode::NOT_FOUND);
    s.stop().await;
}
