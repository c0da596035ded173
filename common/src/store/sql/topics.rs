//! Topics and the forms tickets were opened with. A guild's topic names are unique by a unique
//! index on `(guild_id, name_key)`; a removed topic's key is NULL, which frees its name.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::store::Backend;
use crate::ticket::DiscordId;
use crate::topics::{Answer, Question, TicketForm, Topic, TopicWrite};

const TOPIC_COLUMNS: &str = "id, guild_id, name, name_key, emoji, category_id, role_id, \
     max_open, questions, created_at, updated_at, removed_at";
const FORM_COLUMNS: &str =
    "ticket_id, guild_id, topic_id, topic_name, topic_key, answers, submitted_at";

fn topic_from_row(r: &dyn Cols) -> StoreResult<Topic> {
    let id = required_text(r, "id")?;
    let questions: Vec<Question> = serde_json::from_str(&required_text(r, "questions")?)
        .map_err(|e| StoreError::corrupt(&id, format!("questions: {e}")))?;
    let opt_time = |col: &str| -> StoreResult<Option<DateTime<Utc>>> {
        r.int(col)?.map(|t| time_from_sql(t, &id)).transpose()
    };
    Ok(Topic {
        id: parse_uuid(&id)?,
        guild_id: id_from_sql(r.int("guild_id")?.unwrap_or(0)),
        name: required_text(r, "name")?,
        emoji: text(r, "emoji")?,
        category_id: r.int("category_id")?.map(id_from_sql),
        role_id: r.int("role_id")?.map(id_from_sql),
        max_open: r.int("max_open")?.and_then(|n| u32::try_from(n).ok()),
        questions,
        created_at: time_from_sql(r.int("created_at")?.unwrap_or(0), &id)?,
        updated_at: time_from_sql(r.int("updated_at")?.unwrap_or(0), &id)?,
        removed_at: opt_time("removed_at")?,
    })
}

fn topic_binds(t: &Topic) -> StoreResult<[Bind; 12]> {
    let questions = serde_json::to_string(&t.questions)
        .map_err(|e| StoreError::corrupt(t.id, format!("questions: {e}")))?;
    Ok([
        Bind::Text(Some(t.id.to_string())),
        Bind::Int(Some(id_to_sql(t.guild_id))),
        Bind::Text(Some(t.name.clone())),
        Bind::Text((!t.is_removed()).then(|| t.key())),
        Bind::Text(t.emoji.clone()),
        Bind::Int(t.category_id.map(id_to_sql)),
        Bind::Int(t.role_id.map(id_to_sql)),
        Bind::Int(t.max_open.map(i64::from)),
        Bind::Text(Some(questions)),
        Bind::Int(Some(time_to_sql(t.created_at))),
        Bind::Int(Some(time_to_sql(t.updated_at))),
        Bind::Int(t.removed_at.map(time_to_sql)),
    ])
}

fn form_from_row(r: &dyn Cols) -> StoreResult<TicketForm> {
    let id = required_text(r, "ticket_id")?;
    let answers: Vec<Answer> = serde_json::from_str(&required_text(r, "answers")?)
        .map_err(|e| StoreError::corrupt(&id, format!("answers: {e}")))?;
    Ok(TicketForm {
        ticket_id: parse_uuid(&id)?,
        guild_id: id_from_sql(r.int("guild_id")?.unwrap_or(0)),
        topic_id: parse_uuid(&required_text(r, "topic_id")?)?,
        topic_name: required_text(r, "topic_name")?,
        answers,
        submitted_at: time_from_sql(r.int("submitted_at")?.unwrap_or(0), &id)?,
    })
}

fn form_binds(f: &TicketForm) -> StoreResult<[Bind; 7]> {
    let answers = serde_json::to_string(&f.answers)
        .map_err(|e| StoreError::corrupt(f.ticket_id, format!("answers: {e}")))?;
    Ok([
        Bind::Text(Some(f.ticket_id.to_string())),
        Bind::Int(Some(id_to_sql(f.guild_id))),
        Bind::Text(Some(f.topic_id.to_string())),
        Bind::Text(Some(f.topic_name.clone())),
        Bind::Text(Some(f.topic_key())),
        Bind::Text(Some(answers)),
        Bind::Int(Some(time_to_sql(f.submitted_at))),
    ])
}

impl SqlStore {
    pub(crate) async fn add_topic(&self, topic: &Topic) -> StoreResult<TopicWrite> {
        let sql = format!(
            "INSERT INTO topics ({TOPIC_COLUMNS}) VALUES {}",
            placeholders(1, 12)
        );
        let binds = topic_binds(topic)?;
        retry_transient(|| async {
            match bind_all(sqlx::query(&sql), binds.to_vec())
                .execute(&self.pool)
                .await
            {
                Ok(_) => Ok(TopicWrite::Done),
                // The guild has a topic of that name (or, never in practice, this id).
                Err(e) if is_unique_violation(&e) => Ok(TopicWrite::NameTaken),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn update_topic(&self, topic: &Topic) -> StoreResult<TopicWrite> {
        let [_, _, name, key, emoji, category, role, max_open, questions, _, updated, _] =
            topic_binds(topic)?;
        let binds = vec![
            name,
            key,
            emoji,
            category,
            role,
            max_open,
            questions,
            updated,
            Bind::Text(Some(topic.id.to_string())),
            Bind::Int(Some(id_to_sql(topic.guild_id))),
        ];
        let sql = "UPDATE topics SET name = ?, name_key = ?, emoji = ?, category_id = ?, \
             role_id = ?, max_open = ?, questions = ?, updated_at = ? \
             WHERE id = ? AND guild_id = ? AND removed_at IS NULL";
        let changed = retry_transient(|| async {
            match bind_all(sqlx::query(sql), binds.clone())
                .execute(&self.pool)
                .await
            {
                Ok(done) => Ok(Some(done.rows_affected())),
                Err(e) if is_unique_violation(&e) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        match changed {
            None => Ok(TopicWrite::NameTaken),
            Some(0) => {
                // MySQL counts only changed rows: an edit that changes nothing matched a row.
                let still = self.topic(topic.id).await?;
                Ok(match still {
                    Some(t) if !t.is_removed() && t.guild_id == topic.guild_id => TopicWrite::Done,
                    _ => TopicWrite::Missing,
                })
            }
            Some(_) => Ok(TopicWrite::Done),
        }
    }

    pub(crate) async fn remove_topic(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let gone = retry_transient(|| async {
            let done = sqlx::query(
                "UPDATE topics SET removed_at = ?, updated_at = ?, name_key = NULL \
                 WHERE id = ? AND removed_at IS NULL",
            )
            .bind(time_to_sql(at))
            .bind(time_to_sql(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
        .await?;
        Ok(gone > 0)
    }

    pub(crate) async fn topic(&self, id: Uuid) -> StoreResult<Option<Topic>> {
        let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE id = ?");
        let rows = self
            .read_all(&sql, vec![Bind::Text(Some(id.to_string()))], topic_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn topics(&self, guild_id: DiscordId) -> StoreResult<Vec<Topic>> {
        let sql = format!(
            "SELECT {TOPIC_COLUMNS} FROM topics WHERE guild_id = ? AND removed_at IS NULL \
             ORDER BY created_at, id"
        );
        self.read_all(
            &sql,
            vec![Bind::Int(Some(id_to_sql(guild_id)))],
            topic_from_row,
        )
        .await
    }

    pub(crate) async fn all_topics(&self) -> StoreResult<Vec<Topic>> {
        let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics ORDER BY id");
        self.read_all(&sql, Vec::new(), topic_from_row).await
    }

    pub(crate) async fn import_topics(&self, rows: &[Topic]) -> StoreResult<()> {
        let tail = match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE guild_id = VALUES(guild_id), name = VALUES(name), \
                 name_key = VALUES(name_key), emoji = VALUES(emoji), \
                 category_id = VALUES(category_id), role_id = VALUES(role_id), \
                 max_open = VALUES(max_open), questions = VALUES(questions), \
                 created_at = VALUES(created_at), updated_at = VALUES(updated_at), \
                 removed_at = VALUES(removed_at)"
            }
            _ => {
                "ON CONFLICT (id) DO UPDATE SET guild_id = excluded.guild_id, \
                 name = excluded.name, name_key = excluded.name_key, emoji = excluded.emoji, \
                 category_id = excluded.category_id, role_id = excluded.role_id, \
                 max_open = excluded.max_open, questions = excluded.questions, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 removed_at = excluded.removed_at"
            }
        };
        let mut binds = Vec::new();
        for t in rows {
            binds.extend(topic_binds(t)?);
        }
        self.insert_rows(
            &format!("INSERT INTO topics ({TOPIC_COLUMNS})"),
            12,
            tail,
            binds,
        )
        .await
    }

    pub(crate) async fn put_ticket_form(&self, form: &TicketForm) -> StoreResult<()> {
        self.import_ticket_forms(std::slice::from_ref(form)).await
    }

    pub(crate) async fn ticket_form(&self, ticket_id: Uuid) -> StoreResult<Option<TicketForm>> {
        let sql = format!("SELECT {FORM_COLUMNS} FROM topic_forms WHERE ticket_id = ?");
        let rows = self
            .read_all(
                &sql,
                vec![Bind::Text(Some(ticket_id.to_string()))],
                form_from_row,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn export_ticket_forms(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketForm>> {
        self.page_by_ticket(FORM_COLUMNS, "topic_forms", after, limit, form_from_row)
            .await
    }

    pub(crate) async fn import_ticket_forms(&self, rows: &[TicketForm]) -> StoreResult<()> {
        let tail = match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE guild_id = VALUES(guild_id), \
                 topic_id = VALUES(topic_id), topic_name = VALUES(topic_name), \
                 topic_key = VALUES(topic_key), answers = VALUES(answers), \
                 submitted_at = VALUES(submitted_at)"
            }
            _ => {
                "ON CONFLICT (ticket_id) DO UPDATE SET guild_id = excluded.guild_id, \
                 topic_id = excluded.topic_id, topic_name = excluded.topic_name, \
                 topic_key = excluded.topic_key, answers = excluded.answers, \
                 submitted_at = excluded.submitted_at"
            }
        };
        let mut binds = Vec::new();
        for f in rows {
            binds.extend(form_binds(f)?);
        }
        self.insert_rows(
            &format!("INSERT INTO topic_forms ({FORM_COLUMNS})"),
            7,
            tail,
            binds,
        )
        .await
    }
}
