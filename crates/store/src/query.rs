//! SQL for the filtered lists, built once for both dialects: only the placeholders differ
//! (`?1` for SQLite, `$1` for PostgreSQL). Every value goes in as a bound parameter;
//! only fixed fragments of this file are ever pasted into the text.

use crate::views::{FindingQuery, ImageQuery, JobQuery};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SqlValue {
    Text(String),
    Int(i64),
}

pub(crate) struct Sql {
    dialect: Dialect,
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    fn new(dialect: Dialect, text: &str) -> Sql {
        Sql {
            dialect,
            text: text.to_string(),
            params: Vec::new(),
        }
    }

    /// Binds a value and returns its placeholder.
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }

    fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(SqlValue::Text(s.into()))
    }

    fn int(&mut self, n: i64) -> String {
        self.bind(SqlValue::Int(n))
    }
}

/// `SELECT digest, ordinal, finding_json` of the findings matching `q`, one more row than
/// the page holds. Only images still in some repository count: a deleted image's
/// findings drop out of the results.
pub(crate) fn findings(dialect: Dialect, q: &FindingQuery) -> Sql {
    let mut sql = Sql::new(dialect, "");
    let mut conds =
        vec!["EXISTS (SELECT 1 FROM image_locations l WHERE l.digest = f.digest)".to_string()];
    if !q.severities.is_empty() {
        let list: Vec<String> = q.severities.iter().map(|s| sql.text(s.as_str())).collect();
        conds.push(format!("f.severity IN ({})", list.join(", ")));
    }
    if let Some(fix) = q.fix_status {
        conds.push(format!("f.fix_status = {}", sql.text(fix.as_str())));
    }
    // Literal conditions so the partial indexes on them apply.
    match q.in_kev {
        Some(true) => conds.push("f.in_kev".into()),
        Some(false) => conds.push("NOT f.in_kev".into()),
        None => {}
    }
    match q.exploit_published {
        Some(true) => conds.push("f.exploit_published".into()),
        Some(false) => conds.push("NOT f.exploit_published".into()),
        None => {}
    }
    if let Some(p) = &q.package {
        conds.push(format!("f.package_name = {}", sql.text(p.as_str())));
    }
    if let Some(v) = &q.vulnerability {
        conds.push(format!("f.vulnerability_id = {}", sql.text(v.as_str())));
    }
    if let Some(d) = &q.digest {
        conds.push(format!("f.digest = {}", sql.text(d.to_string())));
    }
    if q.namespace.is_some() || q.cluster.is_some() {
        let mut placed = Vec::new();
        if let Some(ns) = &q.namespace {
            placed.push(format!("p.namespace = {}", sql.text(ns.as_str())));
        }
        if let Some(c) = &q.cluster {
            placed.push(format!("p.cluster_id = {}", sql.text(c.as_str())));
        }
        conds.push(format!(
            "f.digest IN (SELECT p.digest FROM image_placements p WHERE {})",
            placed.join(" AND ")
        ));
    }
    if let Some(after) = &q.after {
        let d = sql.text(after.digest.to_string());
        let o = sql.int(after.ordinal);
        conds.push(format!("(f.digest, f.ordinal) > ({d}, {o})"));
    }
    let limit = sql.int(i64::from(q.limit) + 1);
    sql.text = format!(
        "SELECT f.digest, f.ordinal, f.finding_json FROM findings f WHERE {}
         ORDER BY f.digest, f.ordinal LIMIT {limit}",
        conds.join(" AND ")
    );
    sql
}

/// The image list: digest, media type, platform, created, first seen, last pushed,
/// repository count, finding count, assessed; one more row than the page holds.
pub(crate) fn images(dialect: Dialect, q: &ImageQuery) -> Sql {
    let mut sql = Sql::new(dialect, "");
    let mut held = vec!["l.digest = i.digest".to_string()];
    if let Some(r) = q.repository {
        held.push(format!("l.repository_id = {}", sql.int(r.0)));
    }
    if let Some(g) = q.registry {
        held.push(format!("r.registry_id = {}", sql.int(g.0)));
    }
    let mut conds = vec![format!(
        "EXISTS (SELECT 1 FROM image_locations l JOIN repositories r ON r.id = l.repository_id
                 WHERE {})",
        held.join(" AND ")
    )];
    if let Some(after) = &q.after {
        conds.push(format!("i.digest > {}", sql.text(after.to_string())));
    }
    let limit = sql.int(i64::from(q.limit) + 1);
    sql.text = format!(
        "SELECT i.digest, i.media_type, i.platform, i.created_at, i.first_seen,
           (SELECT MAX(l.pushed_at) FROM image_locations l WHERE l.digest = i.digest),
           (SELECT COUNT(*) FROM image_locations l WHERE l.digest = i.digest),
           a.finding_count, a.assessed_at
         FROM images i LEFT JOIN assessments a ON a.digest = i.digest
         WHERE {} ORDER BY i.digest LIMIT {limit}",
        conds.join(" AND ")
    );
    sql
}

pub(crate) const JOB_COLUMNS: &str = "id, kind, job_key, payload_json, state, not_before, attempts, \
     max_attempts, lease_owner, lease_until, last_error";

/// Jobs newest first; one more row than the page holds.
pub(crate) fn jobs(dialect: Dialect, q: &JobQuery) -> Sql {
    let mut sql = Sql::new(dialect, "");
    let mut conds = vec!["TRUE".to_string()];
    if let Some(state) = q.state {
        conds.push(format!("state = {}", sql.text(state.as_str())));
    }
    if let Some(kind) = &q.kind {
        conds.push(format!("kind = {}", sql.text(kind.as_str())));
    }
    if let Some(before) = q.before {
        conds.push(format!("id < {}", sql.int(before.0)));
    }
    let limit = sql.int(i64::from(q.limit) + 1);
    sql.text = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE {} ORDER BY id DESC LIMIT {limit}",
        conds.join(" AND ")
    );
    sql
}

/// Snapshot summaries newest first; one more row than the page holds.
pub(crate) fn snapshots(
    dialect: Dialect,
    cluster_id: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(dialect, "");
    let mut conds = vec!["TRUE".to_string()];
    if let Some(c) = cluster_id {
        conds.push(format!("cluster_id = {}", sql.text(c)));
    }
    if let Some(b) = before {
        conds.push(format!("id < {}", sql.int(b)));
    }
    let limit = sql.int(i64::from(limit) + 1);
    sql.text = format!(
        "SELECT id, cluster_id, taken_at, status FROM cluster_snapshots WHERE {}
         ORDER BY id DESC LIMIT {limit}",
        conds.join(" AND ")
    );
    sql
}

/// Every cluster with its latest snapshot and snapshot count, by cluster id.
pub(crate) const CLUSTERS_SQL: &str = "SELECT c.cluster_id, c.id, c.taken_at, c.status,
       (SELECT COUNT(*) FROM cluster_snapshots s WHERE s.cluster_id = c.cluster_id)
     FROM cluster_snapshots c
     WHERE c.id = (SELECT s.id FROM cluster_snapshots s WHERE s.cluster_id = c.cluster_id
                   ORDER BY s.taken_at DESC, s.id DESC LIMIT 1)
     ORDER BY c.cluster_id";

#[cfg(test)]
mod tests {
    use super::*;
    use crowsnest_model::Severity;

    #[test]
    fn hostile_values_are_bound_never_pasted() {
        let q = FindingQuery {
            package: Some("x'); DROP TABLE findings; --".into()),
            severities: vec![Severity::High, Severity::Critical],
            namespace: Some("ns".into()),
            limit: 10,
            ..Default::default()
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let sql = findings(dialect, &q);
            assert!(!sql.text.contains("DROP"), "{}", sql.text);
            assert_eq!(sql.params.len(), 5);
            assert_eq!(sql.params.last(), Some(&SqlValue::Int(11)));
        }
        assert!(findings(Dialect::Postgres, &q).text.contains("$5"));
        assert!(findings(Dialect::Sqlite, &q).text.contains("?5"));
    }
}
