//! [`ConsoleStore`] on PostgreSQL.

use serde_json::Value;

use super::{PgStore, get, pg, token_columns};
use crate::console::{
    COUNT_SAVED, ChangeColumns, ConsoleStore, DELETE_EXPIRED_SESSIONS, DELETE_SAVED,
    DELETE_SESSION, FINDING_TALLIES, FindingTallies, INSERT_CHANGE, INSERT_SAVED, INSERT_SESSION,
    MAX_SAVED_QUERIES, NewSession, OverrideColumns, SELECT_CHANGES, SELECT_OVERRIDES, SELECT_SAVED,
    SELECT_SESSION, SavedColumns, SavedQuery, Session, SettingOverride, SettingTarget,
    SettingsChange, UPSERT_OVERRIDE, check_saved, check_session, saved_name_taken, settings_json,
    tallies, too_many_saved,
};
use crate::error::Result;
use crate::records::{from_millis, now_millis, to_json, to_millis};
use crate::views::check_limit;

impl ConsoleStore for PgStore {
    async fn finding_tallies(&self) -> Result<FindingTallies> {
        let client = self.client().await?;
        let r = client
            .query_one(FINDING_TALLIES, &[])
            .await
            .map_err(pg("counting findings"))?;
        let object = "finding tallies";
        tallies(
            object,
            get(&r, 0, object)?,
            get(&r, 1, object)?,
            get(&r, 2, object)?,
        )
    }

    async fn create_session(&self, session: &NewSession) -> Result<()> {
        check_session(session)?;
        let ctx = format!("storing a console session of token {}", session.token_name);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx.clone()))?;
        let now = now_millis();
        tx.execute(DELETE_EXPIRED_SESSIONS, &[&now])
            .await
            .map_err(pg(ctx.clone()))?;
        tx.execute(
            INSERT_SESSION,
            &[
                &session.id_sha256,
                &session.token_name,
                &session.csrf_sha256,
                &now,
                &to_millis(session.expires),
            ],
        )
        .await
        .map_err(pg(ctx.clone()))?;
        tx.commit().await.map_err(pg(ctx))
    }

    async fn session(&self, id_sha256: &str) -> Result<Option<Session>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                SELECT_SESSION,
                &[&id_sha256.to_ascii_lowercase(), &now_millis()],
            )
            .await
            .map_err(pg("looking up a console session"))?;
        row.map(|r| {
            let object = "console session";
            Ok(Session {
                token: token_columns(&r)?.decode()?,
                csrf_sha256: get(&r, 4, object)?,
                expires: from_millis(object, get(&r, 5, object)?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(DELETE_SESSION, &[&id_sha256.to_ascii_lowercase()])
            .await
            .map_err(pg("ending a console session"))?;
        Ok(n > 0)
    }

    async fn setting_overrides(&self) -> Result<Vec<SettingOverride>> {
        let client = self.client().await?;
        let object = "settings override";
        client
            .query(SELECT_OVERRIDES, &[])
            .await
            .map_err(pg("listing settings overrides"))?
            .iter()
            .map(|r| {
                OverrideColumns {
                    kind: get(r, 0, object)?,
                    name: get(r, 1, object)?,
                    settings: get(r, 2, object)?,
                    updated: get(r, 3, object)?,
                    updated_by: get(r, 4, object)?,
                }
                .decode()
            })
            .collect()
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
        let ctx = format!("changing the settings of {} {name}", kind.as_str());
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx.clone()))?;
        let now = now_millis();
        tx.execute(
            UPSERT_OVERRIDE,
            &[&kind.as_str(), &name, &new_text, &now, &actor],
        )
        .await
        .map_err(pg(ctx.clone()))?;
        let row = tx
            .query_one(
                INSERT_CHANGE,
                &[&now, &actor, &kind.as_str(), &name, &old_text, &new_text],
            )
            .await
            .map_err(pg(ctx.clone()))?;
        let id: i64 = get(&row, 0, "settings change")?;
        tx.commit().await.map_err(pg(ctx))?;
        Ok(SettingsChange {
            id,
            at: from_millis("settings change", now)?,
            actor: actor.to_string(),
            kind,
            name: name.to_string(),
            old: old.clone(),
            new: settings.clone(),
        })
    }

    async fn settings_changes(&self, limit: u32) -> Result<Vec<SettingsChange>> {
        let limit = i64::from(check_limit(limit)?);
        let client = self.client().await?;
        let object = "settings change";
        client
            .query(SELECT_CHANGES, &[&limit])
            .await
            .map_err(pg("listing settings changes"))?
            .iter()
            .map(|r| {
                ChangeColumns {
                    id: get(r, 0, object)?,
                    at: get(r, 1, object)?,
                    actor: get(r, 2, object)?,
                    kind: get(r, 3, object)?,
                    name: get(r, 4, object)?,
                    old: get(r, 5, object)?,
                    new: get(r, 6, object)?,
                }
                .decode()
            })
            .collect()
    }

    async fn saved_queries(&self, token_name: &str) -> Result<Vec<SavedQuery>> {
        let client = self.client().await?;
        let object = "saved query";
        client
            .query(SELECT_SAVED, &[&token_name])
            .await
            .map_err(pg(format!(
                "listing the saved queries of token {token_name}"
            )))?
            .iter()
            .map(|r| {
                SavedColumns {
                    id: get(r, 0, object)?,
                    name: get(r, 1, object)?,
                    query: get(r, 2, object)?,
                    cluster: get(r, 3, object)?,
                    created: get(r, 4, object)?,
                }
                .decode()
            })
            .collect()
    }

    async fn save_query(
        &self,
        token_name: &str,
        name: &str,
        query: &str,
        cluster: Option<&str>,
    ) -> Result<SavedQuery> {
        check_saved(name, query, cluster)?;
        let ctx = format!("saving query {name:?} of token {token_name}");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg(ctx.clone()))?;
        // One writer per token at a time, so the count below holds until the insert.
        tx.execute(
            "SELECT 1 FROM api_tokens WHERE name = $1 FOR UPDATE",
            &[&token_name],
        )
        .await
        .map_err(pg(ctx.clone()))?;
        let count: i64 = get(
            &tx.query_one(COUNT_SAVED, &[&token_name])
                .await
                .map_err(pg(ctx.clone()))?,
            0,
            "saved query count",
        )?;
        if count >= MAX_SAVED_QUERIES {
            return Err(too_many_saved(token_name));
        }
        let now = now_millis();
        let row = tx
            .query_opt(INSERT_SAVED, &[&token_name, &name, &query, &cluster, &now])
            .await
            .map_err(pg(ctx.clone()))?;
        let Some(row) = row else {
            return Err(saved_name_taken(name));
        };
        let id: i64 = get(&row, 0, "saved query")?;
        tx.commit().await.map_err(pg(ctx))?;
        SavedColumns {
            id,
            name: name.to_string(),
            query: query.to_string(),
            cluster: cluster.map(str::to_string),
            created: now,
        }
        .decode()
    }

    async fn delete_saved_query(&self, token_name: &str, id: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(DELETE_SAVED, &[&token_name, &id])
            .await
            .map_err(pg(format!("deleting saved query {id}")))?;
        Ok(n > 0)
    }
}
