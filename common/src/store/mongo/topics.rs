//! Topics and the forms tickets were opened with. A guild's topic names are unique by a unique
//! index on `(guild_id, name_key)`; a removed topic's key becomes `removed:<id>`, which frees
//! its name (a partial index would say it more directly, but not every MongoDB-wire server
//! has them). A form's topic key is also set on its ticket, for `list --topic`.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::{id_to_bson, is_duplicate_key, opt_id_to_bson, opt_str_to_bson, time_to_bson};
use super::docs::{opt_time_to_bson, Reader};
use super::MongoStore;
use crate::error::{StoreError, StoreResult};
use crate::ticket::DiscordId;
use crate::topics::{Answer, Question, TicketForm, Topic, TopicWrite};

fn removed_key(id: Uuid) -> String {
    format!("removed:{id}")
}

fn topic_doc(t: &Topic) -> StoreResult<Document> {
    let questions = bson::to_bson(&t.questions)
        .map_err(|e| StoreError::corrupt(t.id, format!("questions: {e}")))?;
    let key = if t.is_removed() {
        removed_key(t.id)
    } else {
        t.key()
    };
    Ok(doc! {
        "_id": t.id.to_string(),
        "guild_id": id_to_bson(t.guild_id),
        "name": &t.name,
        "name_key": key,
        "emoji": opt_str_to_bson(&t.emoji),
        "category_id": opt_id_to_bson(t.category_id),
        "role_id": opt_id_to_bson(t.role_id),
        "max_open": t.max_open.map_or(Bson::Null, |n| Bson::Int64(i64::from(n))),
        "questions": questions,
        "created_at": time_to_bson(t.created_at),
        "updated_at": time_to_bson(t.updated_at),
        "removed_at": opt_time_to_bson(t.removed_at),
    })
}

fn topic_from_doc(d: &Document) -> StoreResult<Topic> {
    let r = Reader::new(d);
    let questions: Vec<Question> = bson::from_bson(
        d.get("questions")
            .cloned()
            .unwrap_or(Bson::Array(Vec::new())),
    )
    .map_err(|e| r.err("questions", &e.to_string()))?;
    Ok(Topic {
        id: r.uuid("_id")?,
        guild_id: r.id("guild_id")?,
        name: r.str("name")?,
        emoji: r.opt_str("emoji")?,
        category_id: r.opt_id("category_id")?,
        role_id: r.opt_id("role_id")?,
        max_open: r.opt_i64("max_open")?.and_then(|n| u32::try_from(n).ok()),
        questions,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        removed_at: r.opt_time("removed_at")?,
    })
}

fn form_doc(f: &TicketForm) -> StoreResult<Document> {
    let answers = bson::to_bson(&f.answers)
        .map_err(|e| StoreError::corrupt(f.ticket_id, format!("answers: {e}")))?;
    Ok(doc! {
        "_id": f.ticket_id.to_string(),
        "guild_id": id_to_bson(f.guild_id),
        "topic_id": f.topic_id.to_string(),
        "topic_name": &f.topic_name,
        "topic_key": f.topic_key(),
        "answers": answers,
        "submitted_at": time_to_bson(f.submitted_at),
    })
}

fn form_from_doc(d: &Document) -> StoreResult<TicketForm> {
    let r = Reader::new(d);
    let answers: Vec<Answer> =
        bson::from_bson(d.get("answers").cloned().unwrap_or(Bson::Array(Vec::new())))
            .map_err(|e| r.err("answers", &e.to_string()))?;
    Ok(TicketForm {
        ticket_id: r.uuid("_id")?,
        guild_id: r.id("guild_id")?,
        topic_id: r.uuid("topic_id")?,
        topic_name: r.str("topic_name")?,
        answers,
        submitted_at: r.time("submitted_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn add_topic(&self, topic: &Topic) -> StoreResult<TopicWrite> {
        match self.topics.insert_one(topic_doc(topic)?).await {
            Ok(_) => Ok(TopicWrite::Done),
            Err(e) if is_duplicate_key(&e) => Ok(TopicWrite::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn update_topic(&self, topic: &Topic) -> StoreResult<TopicWrite> {
        let mut set = topic_doc(topic)?;
        for fixed in ["_id", "guild_id", "created_at", "removed_at"] {
            set.remove(fixed);
        }
        let filter = doc! {
            "_id": topic.id.to_string(),
            "guild_id": id_to_bson(topic.guild_id),
            "removed_at": Bson::Null,
        };
        match self.topics.update_one(filter, doc! { "$set": set }).await {
            Ok(done) if done.matched_count > 0 => Ok(TopicWrite::Done),
            Ok(_) => Ok(TopicWrite::Missing),
            Err(e) if is_duplicate_key(&e) => Ok(TopicWrite::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn remove_topic(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = self
            .topics
            .update_one(
                doc! { "_id": id.to_string(), "removed_at": Bson::Null },
                doc! { "$set": {
                    "removed_at": time_to_bson(at),
                    "updated_at": time_to_bson(at),
                    "name_key": removed_key(id),
                }},
            )
            .await?;
        Ok(done.modified_count > 0)
    }

    pub(crate) async fn topic(&self, id: Uuid) -> StoreResult<Option<Topic>> {
        self.topics
            .find_one(doc! { "_id": id.to_string() })
            .await?
            .as_ref()
            .map(topic_from_doc)
            .transpose()
    }

    pub(crate) async fn topics(&self, guild_id: DiscordId) -> StoreResult<Vec<Topic>> {
        let docs: Vec<Document> = self
            .topics
            .find(doc! { "guild_id": id_to_bson(guild_id), "removed_at": Bson::Null })
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await?
            .try_collect()
            .await?;
        docs.iter().map(topic_from_doc).collect()
    }

    pub(crate) async fn all_topics(&self) -> StoreResult<Vec<Topic>> {
        let docs: Vec<Document> = self
            .topics
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        docs.iter().map(topic_from_doc).collect()
    }

    pub(crate) async fn import_topics(&self, rows: &[Topic]) -> StoreResult<()> {
        for t in rows {
            self.topics
                .replace_one(doc! { "_id": t.id.to_string() }, topic_doc(t)?)
                .upsert(true)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn put_ticket_form(&self, form: &TicketForm) -> StoreResult<()> {
        self.import_ticket_forms(std::slice::from_ref(form)).await
    }

    pub(crate) async fn ticket_form(&self, ticket_id: Uuid) -> StoreResult<Option<TicketForm>> {
        self.ticket_forms
            .find_one(doc! { "_id": ticket_id.to_string() })
            .await?
            .as_ref()
            .map(form_from_doc)
            .transpose()
    }

    pub(crate) async fn export_ticket_forms(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketForm>> {
        super::docs::page_after(&self.ticket_forms, after, limit, form_from_doc).await
    }

    pub(crate) async fn import_ticket_forms(&self, rows: &[TicketForm]) -> StoreResult<()> {
        for f in rows {
            self.ticket_forms
                .replace_one(doc! { "_id": f.ticket_id.to_string() }, form_doc(f)?)
                .upsert(true)
                .await?;
            // On the ticket too, so that a listing filters by topic in one query.
            self.tickets
                .update_one(
                    doc! { "_id": f.ticket_id.to_string() },
                    doc! { "$set": { "topic_key": f.topic_key() } },
                )
                .await?;
        }
        Ok(())
    }
}
