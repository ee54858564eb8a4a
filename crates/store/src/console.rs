//! What the web console keeps: sessions (an API token exchanged for a cookie), the
//! settings changed through the API (overrides over the configuration file, each change
//! audited), and saved explorer queries per token.
//!
//! Secrets are never stored: a session is kept by the SHA-256 of its id and of its CSRF
//! token. A session, a saved query and nothing else dies with its token (foreign keys
//! with `ON DELETE CASCADE`), so revoking a token signs its console sessions out.
//!
//! The SQL is written once with `$n` placeholders, which both SQLite and PostgreSQL
//! bind by position (each placeholder first appears in order).

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Result, StoreError};
use crate::views::ApiToken;

/// Longest saved query text, name and settings document accepted.
pub const MAX_QUERY_TEXT: usize = 16 * 1024;
pub const MAX_NAME: usize = 200;
pub const MAX_SETTINGS_JSON: usize = 64 * 1024;
/// Saved queries a token may keep.
pub const MAX_SAVED_QUERIES: i64 = 500;

/// A console session as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSession {
    pub id_sha256: String,
    pub token_name: String,
    pub csrf_sha256: String,
    pub expires: OffsetDateTime,
}

/// A live session: its token (as it is now) and its CSRF token's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub token: ApiToken,
    pub csrf_sha256: String,
    pub expires: OffsetDateTime,
}

/// What a settings override applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingTarget {
    Cluster,
    Registry,
}

impl SettingTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingTarget::Cluster => "cluster",
            SettingTarget::Registry => "registry",
        }
    }

    pub(crate) fn parse(object: &str, s: &str) -> Result<SettingTarget> {
        match s {
            "cluster" => Ok(SettingTarget::Cluster),
            "registry" => Ok(SettingTarget::Registry),
            other => Err(StoreError::corrupt(
                object,
                format!("unknown kind {other:?}"),
            )),
        }
    }
}

/// The settings of one cluster or registry changed through the API: a JSON object of
/// the fields changed (the configuration file gives the rest).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingOverride {
    pub kind: SettingTarget,
    pub name: String,
    pub settings: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    pub updated_by: String,
}

/// One change of settings: who, when, what it was and what it became.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub kind: SettingTarget,
    pub name: String,
    pub old: Value,
    pub new: Value,
}

/// An explorer query a token saved.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQuery {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub cluster: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// Counts over every stored finding, for the console's overview.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FindingTallies {
    /// In CISA KEV.
    pub kev: u64,
    /// In KEV or with a public exploit.
    pub exploitable: u64,
    /// With a fix available.
    pub fixable: u64,
}

/// The console's operations, on both back ends with the same meaning.
pub trait ConsoleStore: Send + Sync {
    fn finding_tallies(&self) -> impl Future<Output = Result<FindingTallies>> + Send;

    /// Stores a session (and drops every expired one).
    fn create_session(&self, session: &NewSession) -> impl Future<Output = Result<()>> + Send;

    /// The unexpired session with this id hash, whose token still exists.
    fn session(&self, id_sha256: &str) -> impl Future<Output = Result<Option<Session>>> + Send;

    /// Ends a session; whether it existed.
    fn delete_session(&self, id_sha256: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Every override, by kind then name.
    fn setting_overrides(&self) -> impl Future<Output = Result<Vec<SettingOverride>>> + Send;

    /// Replaces the override of one target with `settings` and records the change from
    /// `old` (the effective settings before), in one transaction.
    fn put_setting_override(
        &self,
        kind: SettingTarget,
        name: &str,
        settings: &Value,
        old: &Value,
        actor: &str,
    ) -> impl Future<Output = Result<SettingsChange>> + Send;

    /// The latest `limit` changes, newest first.
    fn settings_changes(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SettingsChange>>> + Send;

    /// A token's saved queries, by name.
    fn saved_queries(
        &self,
        token_name: &str,
    ) -> impl Future<Output = Result<Vec<SavedQuery>>> + Send;

    /// Saves a query for a token. [`StoreError::Invalid`] when the name is taken or the
    /// token has [`MAX_SAVED_QUERIES`].
    fn save_query(
        &self,
        token_name: &str,
        name: &str,
        query: &str,
        cluster: Option<&str>,
    ) -> impl Future<Output = Result<SavedQuery>> + Send;

    /// Deletes one of a token's saved queries; whether it was there.
    fn delete_saved_query(
        &self,
        token_name: &str,
        id: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
}

pub(crate) const FINDING_TALLIES: &str = "SELECT
       COALESCE(SUM(CASE WHEN in_kev THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN in_kev OR exploit_published THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN fix_status = 'FixAvailable' THEN 1 ELSE 0 END), 0)
     FROM findings";

pub(crate) fn tallies(
    object: &str,
    kev: i64,
    exploitable: i64,
    fixable: i64,
) -> Result<FindingTallies> {
    let count =
        |n: i64| u64::try_from(n).map_err(|_| StoreError::corrupt(object, format!("count {n}")));
    Ok(FindingTallies {
        kev: count(kev)?,
        exploitable: count(exploitable)?,
        fixable: count(fixable)?,
    })
}

pub(crate) const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM console_sessions WHERE expires_at <= $1";
pub(crate) const INSERT_SESSION: &str = "INSERT INTO console_sessions
     (id_sha256, token_name, csrf_sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_SESSION: &str = "SELECT t.name, t.role, t.created_at, t.last_used,
            s.csrf_sha256, s.expires_at
       FROM console_sessions s JOIN api_tokens t ON t.name = s.token_name
      WHERE s.id_sha256 = $1 AND s.expires_at > $2";
pub(crate) const DELETE_SESSION: &str = "DELETE FROM console_sessions WHERE id_sha256 = $1";
pub(crate) const SELECT_OVERRIDES: &str = "SELECT kind, name, settings_json, updated_at, updated_by
       FROM setting_overrides ORDER BY kind, name";
pub(crate) const UPSERT_OVERRIDE: &str = "INSERT INTO setting_overrides
     (kind, name, settings_json, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, name) DO UPDATE SET settings_json = excluded.settings_json,
        updated_at = excluded.updated_at, updated_by = excluded.updated_by";
pub(crate) const INSERT_CHANGE: &str = "INSERT INTO settings_audit
     (at, actor, kind, name, old_json, new_json) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
pub(crate) const SELECT_CHANGES: &str = "SELECT id, at, actor, kind, name, old_json, new_json
       FROM settings_audit ORDER BY id DESC LIMIT $1";
pub(crate) const SELECT_SAVED: &str = "SELECT id, name, query_text, cluster, created_at
       FROM saved_queries WHERE token_name = $1 ORDER BY name";
pub(crate) const COUNT_SAVED: &str = "SELECT COUNT(*) FROM saved_queries WHERE token_name = $1";
pub(crate) const INSERT_SAVED: &str = "INSERT INTO saved_queries
     (token_name, name, query_text, cluster, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING id";
pub(crate) const DELETE_SAVED: &str = "DELETE FROM saved_queries WHERE token_name = $1 AND id = $2";

pub(crate) fn check_session(s: &NewSession) -> Result<()> {
    let hex = |v: &str| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(&s.id_sha256) || !hex(&s.csrf_sha256) {
        return Err(StoreError::Invalid {
            what: "session",
            reason: "ids are kept as hex SHA-256 only".into(),
        });
    }
    Ok(())
}

pub(crate) fn check_saved(name: &str, query: &str, cluster: Option<&str>) -> Result<()> {
    let invalid = |reason: String| StoreError::Invalid {
        what: "saved query",
        reason,
    };
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(invalid(format!("the name must be 1 to {MAX_NAME} bytes")));
    }
    if query.trim().is_empty() || query.len() > MAX_QUERY_TEXT {
        return Err(invalid(format!(
            "the query must be 1 to {MAX_QUERY_TEXT} bytes"
        )));
    }
    if cluster.is_some_and(|c| c.len() > MAX_NAME) {
        return Err(invalid(format!(
            "the cluster name is longer than {MAX_NAME} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn too_many_saved(token: &str) -> StoreError {
    StoreError::Invalid {
        what: "saved query",
        reason: format!("token {token:?} has {MAX_SAVED_QUERIES} saved queries; delete some first"),
    }
}

pub(crate) fn saved_name_taken(name: &str) -> StoreError {
    StoreError::Invalid {
        what: "saved query",
        reason: format!("a saved query named {name:?} exists"),
    }
}

pub(crate) fn settings_json(settings: &Value) -> Result<String> {
    let text = settings.to_string();
    if !settings.is_object() || text.len() > MAX_SETTINGS_JSON {
        return Err(StoreError::Invalid {
            what: "settings",
            reason: format!("a JSON object of at most {MAX_SETTINGS_JSON} bytes"),
        });
    }
    Ok(text)
}

/// Columns of a settings change row, decoded and checked.
pub(crate) struct ChangeColumns {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub name: String,
    pub old: String,
    pub new: String,
}

impl ChangeColumns {
    pub(crate) fn decode(self) -> Result<SettingsChange> {
        let object = format!("settings change {}", self.id);
        Ok(SettingsChange {
            id: self.id,
            at: crate::records::from_millis(&object, self.at)?,
            actor: self.actor,
            kind: SettingTarget::parse(&object, &self.kind)?,
            name: self.name,
            old: crate::records::parse_json(&object, &self.old)?,
            new: crate::records::parse_json(&object, &self.new)?,
        })
    }
}

pub(crate) struct OverrideColumns {
    pub kind: String,
    pub name: String,
    pub settings: String,
    pub updated: i64,
    pub updated_by: String,
}

impl OverrideColumns {
    pub(crate) fn decode(self) -> Result<SettingOverride> {
        let object = format!("settings override of {} {}", self.kind, self.name);
        Ok(SettingOverride {
            kind: SettingTarget::parse(&object, &self.kind)?,
            settings: crate::records::parse_json(&object, &self.settings)?,
            updated: crate::records::from_millis(&object, self.updated)?,
            updated_by: self.updated_by,
            name: self.name,
        })
    }
}

pub(crate) struct SavedColumns {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub cluster: Option<String>,
    pub created: i64,
}

impl SavedColumns {
    pub(crate) fn decode(self) -> Result<SavedQuery> {
        let object = format!("saved query {}", self.id);
        Ok(SavedQuery {
            created: crate::records::from_millis(&object, self.created)?,
            id: self.id,
            name: self.name,
            query: self.query,
            cluster: self.cluster,
        })
    }
}
