//! [`ConsoleStore`] on SQLite.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::{SqliteStore, token_columns};
use crate::console::{
    COUNT_SAVED, ChangeColumns, ConsoleStore, DELETE_EXPIRED_SESSIONS, DELETE_SAVED,
    DELETE_SESSION, FINDING_TALLIES, FindingTallies, INSERT_CHANGE, INSERT_SAVED, INSERT_SESSION,
    MAX_SAVED_QUERIES, NewSession, OverrideColumns, SELECT_CHANGES, SELECT_OVERRIDES, SELECT_SAVED,
    SELECT_SESSION, SavedColumns, SavedQuery, Session, SettingOverride, SettingTarget,
    SettingsChange, UPSERT_OVERRIDE, check_saved, check_session, saved_name_taken, settings_json,
    tallies, too_many_saved,
};
use crate::error::{Result, StoreError};
use crate::records::{from_millis, now_millis, to_json, to_millis};
use crate::views::check_limit;

impl ConsoleStore for SqliteStore {
    async fn finding_tallies(&self) -> Result<FindingTallies> {
        self.read(|c| {
            let (kev, exploitable, fixable) = c
                .query_row(FINDING_TALLIES, [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(StoreError::sqlite("counting findings"))?;
            tallies("finding tallies", kev, exploitable, fixable)
        })
        .await
    }

    async fn create_session(&self, session: &NewSession) -> Result<()> {
        check_session(session)?;
        let s = session.clone();
        self.run(move |c| {
            let ctx = format!("storing a console session of token {}", s.token_name);
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx.clone()))?;
            let now = now_millis();
            tx.execute(DELETE_EXPIRED_SESSIONS, [now])
                .map_err(StoreError::sqlite(ctx.clone()))?;
            tx.execute(
                INSERT_SESSION,
                params![
                    s.id_sha256,
                    s.token_name,
                    s.csrf_sha256,
                    now,
                    to_millis(s.expires)
                ],
            )
            .map_err(StoreError::sqlite(ctx.clone()))?;
            tx.commit().map_err(StoreError::sqlite(ctx))
        })
        .await
    }

    async fn session(&self, id_sha256: &str) -> Result<Option<Session>> {
        let id = id_sha256.to_ascii_lowercase();
        self.read(move |c| {
            let row = c
                .query_row(SELECT_SESSION, params![id, now_millis()], |r| {
                    Ok((
                        token_columns(r)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .optional()
                .map_err(StoreError::sqlite("looking up a console session"))?;
            row.map(|(token, csrf_sha256, expires)| {
                Ok(Session {
                    expires: from_millis("console session", expires)?,
                    token: token.decode()?,
                    csrf_sha256,
                })
            })
            .transpose()
        })
        .await
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<bool> {
        let id = id_sha256.to_ascii_lowercase();
        self.run(move |c| {
            let n = c
                .execute(DELETE_SESSION, [id])
                .map_err(StoreError::sqlite("ending a console session"))?;
            Ok(n > 0)
        })
        .await
    }

    async fn setting_overrides(&self) -> Result<Vec<SettingOverride>> {
        self.read(|c| {
            let ctx = "listing settings overrides";
            let mut stmt = c
                .prepare(SELECT_OVERRIDES)
                .map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(OverrideColumns {
                        kind: r.get(0)?,
                        name: r.get(1)?,
                        settings: r.get(2)?,
                        updated: r.get(3)?,
                        updated_by: r.get(4)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter().map(OverrideColumns::decode).collect()
        })
        .await
    }

    async fn put_setting_override(
        &self,
        kind: SettingTarget,
        name: &str,
        settings: &Value,
        old: &Value,
        actor: &str,
    ) -> Result<SettingsChange> {
        let new_text = settings_json(settings)?;
        let old_text = to_json("settings", old)?;
        let (name, actor, settings) = (name.to_string(), actor.to_string(), settings.clone());
        let old = old.clone();
        self.run(move |c| {
            let ctx = format!("changing the settings of {} {name}", kind.as_str());
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx.clone()))?;
            let now = now_millis();
            tx.execute(
                UPSERT_OVERRIDE,
                params![kind.as_str(), name, new_text, now, actor],
            )
            .map_err(StoreError::sqlite(ctx.clone()))?;
            let id: i64 = tx
                .query_row(
                    INSERT_CHANGE,
                    params![now, actor, kind.as_str(), name, old_text, new_text],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite(ctx.clone()))?;
            tx.commit().map_err(StoreError::sqlite(ctx))?;
            Ok(SettingsChange {
                id,
                at: from_millis("settings change", now)?,
                actor,
                kind,
                name,
                old,
                new: settings,
            })
        })
        .await
    }

    async fn settings_changes(&self, limit: u32) -> Result<Vec<SettingsChange>> {
        let limit = check_limit(limit)?;
        self.read(move |c| {
            let ctx = "listing settings changes";
            let mut stmt = c.prepare(SELECT_CHANGES).map_err(StoreError::sqlite(ctx))?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok(ChangeColumns {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        kind: r.get(3)?,
                        name: r.get(4)?,
                        old: r.get(5)?,
                        new: r.get(6)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter().map(ChangeColumns::decode).collect()
        })
        .await
    }

    async fn saved_queries(&self, token_name: &str) -> Result<Vec<SavedQuery>> {
        let token = token_name.to_string();
        self.read(move |c| {
            let ctx = format!("listing the saved queries of token {token}");
            let mut stmt = c
                .prepare(SELECT_SAVED)
                .map_err(StoreError::sqlite(ctx.clone()))?;
            let rows = stmt
                .query_map([&token], |r| {
                    Ok(SavedColumns {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        query: r.get(2)?,
                        cluster: r.get(3)?,
                        created: r.get(4)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(StoreError::sqlite(ctx))?;
            rows.into_iter().map(SavedColumns::decode).collect()
        })
        .await
    }

    async fn save_query(
        &self,
        token_name: &str,
        name: &str,
        query: &str,
        cluster: Option<&str>,
    ) -> Result<SavedQuery> {
        check_saved(name, query, cluster)?;
        let (token, name, query) = (token_name.to_string(), name.to_string(), query.to_string());
        let cluster = cluster.map(str::to_string);
        self.run(move |c| {
            let ctx = format!("saving query {name:?} of token {token}");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite(ctx.clone()))?;
            let count: i64 = tx
                .query_row(COUNT_SAVED, [&token], |r| r.get(0))
                .map_err(StoreError::sqlite(ctx.clone()))?;
            if count >= MAX_SAVED_QUERIES {
                return Err(too_many_saved(&token));
            }
            let now = now_millis();
            let id: Option<i64> = tx
                .query_row(
                    INSERT_SAVED,
                    params![token, name, query, cluster, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(StoreError::sqlite(ctx.clone()))?;
            let Some(id) = id else {
                return Err(saved_name_taken(&name));
            };
            tx.commit().map_err(StoreError::sqlite(ctx))?;
            SavedColumns {
                id,
                name,
                query,
                cluster,
                created: now,
            }
            .decode()
        })
        .await
    }

    async fn delete_saved_query(&self, token_name: &str, id: i64) -> Result<bool> {
        let token = token_name.to_string();
        self.run(move |c| {
            let n = c
                .execute(DELETE_SAVED, params![token, id])
                .map_err(StoreError::sqlite(format!("deleting saved query {id}")))?;
            Ok(n > 0)
        })
        .await
    }
}
