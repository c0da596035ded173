//! Connecting, indexes, taking over a Python-bot database, repairing interrupted writes.

use std::time::Duration;

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Database, IndexModel};

use super::docs::*;
use super::{MongoStore, MAX_SLOT, SCHEMA_VERSION};
use crate::config::MongoConfig;
use crate::error::{StoreError, StoreResult};
use crate::store::legacy::{self, SlotCounter};
use crate::store::{Backend, TicketRecord};

/// How long an operation waits for a reachable server before the store reports the database
/// unavailable (unless the URI sets `serverSelectionTimeoutMS`): short, so that the bot can tell
/// a user so within Discord's 3 s.
const SERVER_WAIT: Duration = Duration::from_millis(2000);

/// How long connecting to the server may take, and how often the driver checks that it still
/// answers (unless the URI sets `connectTimeoutMS` / `heartbeatFrequencyMS`). A server that
/// stops answering without closing its connections (frozen, or the network cut) is noticed
/// within their sum, and the operations waiting on it fail then; with the driver's defaults
/// (10 s each) a user would wait some 20 s for the answer.
const CONNECT_WAIT: Duration = Duration::from_secs(3);
const CHECK_EVERY: Duration = Duration::from_secs(2);

impl MongoStore {
    /// Connects, checks the server answers, creates indexes and takes over a Python-bot
    /// database in place.
    pub async fn connect(config: &MongoConfig) -> StoreResult<MongoStore> {
        let connect_err = |e: mongodb::error::Error| StoreError::Connect {
            target: config.target(),
            source: Box::new(e),
        };
        let mut options = ClientOptions::parse(config.uri.expose())
            .await
            .map_err(connect_err)?;
        options
            .app_name
            .get_or_insert_with(|| "ticketbot".to_owned());
        options.server_selection_timeout.get_or_insert(SERVER_WAIT);
        options.connect_timeout.get_or_insert(CONNECT_WAIT);
        options.heartbeat_freq.get_or_insert(CHECK_EVERY);
        let client = Client::with_options(options).map_err(connect_err)?;
        let db: Database = client.database(&config.database);
        db.run_command(doc! { "ping": 1 })
            .await
            .map_err(connect_err)?;
        let store = MongoStore {
            tickets: db.collection("tickets"),
            events: db.collection("ticket_events"),
            heartbeats: db.collection("bot_heartbeats"),
            meta: db.collection("ticketbot_meta"),
            transcripts: db.collection("transcripts"),
            transcript_chunks: db.collection("transcript_chunks"),
            categories: db.collection("overflow_categories"),
            names: db.collection("names"),
            staff_messages: db.collection("staff_messages"),
            close_requests: db.collection("close_requests"),
            activity: db.collection("ticket_activity"),
            feedback: db.collection("feedback"),
            topics: db.collection("topics"),
            ticket_forms: db.collection("topic_forms"),
            leases: db.collection("leases"),
            channel_deletions: db.collection("channel_deletions"),
            client,
        };
        store.upgrade_legacy().await?;
        if store.schema_version().await? < 2 {
            store.upgrade_v2().await?;
        }
        store.create_indexes().await?;
        store.repair().await?;
        store
            .meta
            .update_one(
                doc! { "_id": "schema" },
                doc! { "$max": { "version": SCHEMA_VERSION } },
            )
            .upsert(true)
            .await?;
        Ok(store)
    }

    pub(crate) async fn database_exists(config: &MongoConfig) -> StoreResult<bool> {
        let connect_err = |e: mongodb::error::Error| StoreError::Connect {
            target: config.target(),
            source: Box::new(e),
        };
        let mut options = ClientOptions::parse(config.uri.expose())
            .await
            .map_err(connect_err)?;
        options.server_selection_timeout.get_or_insert(SERVER_WAIT);
        let client = Client::with_options(options).map_err(connect_err)?;
        let names = client.list_database_names().await.map_err(connect_err)?;
        client.shutdown().await;
        Ok(names.iter().any(|n| n == &config.database))
    }

    pub(crate) async fn create_indexes(&self) -> StoreResult<()> {
        let index = |keys: Document, name: &str, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    IndexOptions::builder()
                        .name(name.to_owned())
                        .unique(unique)
                        .build(),
                )
                .build()
        };
        self.tickets
            .create_indexes([
                index(doc! { "channel_key": 1 }, "tickets_channel_uq", true),
                index(doc! { "channel_id": 1 }, "tickets_channel", false),
                index(
                    doc! { "guild_id": 1, "creator_id": 1, "open_slot": 1 },
                    "tickets_open_slot_uq",
                    true,
                ),
                index(
                    doc! { "guild_id": 1, "status": 1, "created_at": -1 },
                    "tickets_guild_status_created",
                    false,
                ),
                // `_id` is left out of compound keys: some MongoDB-wire servers reject it there.
                index(doc! { "created_at": -1 }, "tickets_created", false),
                index(
                    doc! { "creator_id": 1, "created_at": -1 },
                    "tickets_creator_created",
                    false,
                ),
                index(
                    doc! { "claimed_by": 1, "created_at": -1 },
                    "tickets_claimer_created",
                    false,
                ),
                index(doc! { "outbox_n": 1 }, "tickets_outbox", false),
                index(doc! { "updated_at": 1 }, "tickets_updated", false),
                index(doc! { "deleted": 1 }, "tickets_deleted", false),
                index(doc! { "channel_sync": 1 }, "tickets_channel_sync", false),
                // Serves `archivable`: closed, unarchived, by close time.
                index(
                    doc! { "status": 1, "archived_at": 1, "closed_at": 1 },
                    "tickets_archivable",
                    false,
                ),
            ])
            .await?;
        self.transcript_chunks
            .create_indexes([index(
                doc! { "ticket_id": 1, "version": 1, "seq": 1 },
                "transcript_chunks_version_seq_uq",
                true,
            )])
            .await?;
        self.categories
            .create_indexes([
                // Decides between two processes recording number N beside one base.
                index(
                    doc! { "base_id": 1, "number": 1 },
                    "overflow_categories_base_number_uq",
                    true,
                ),
                index(
                    doc! { "guild_id": 1, "base_id": 1 },
                    "overflow_categories_guild_base",
                    false,
                ),
            ])
            .await?;
        self.events
            .create_indexes([
                index(
                    doc! { "ticket_id": 1, "at": 1 },
                    "ticket_events_ticket",
                    false,
                ),
                index(
                    doc! { "guild_id": 1, "at": 1 },
                    "ticket_events_guild_at",
                    false,
                ),
                index(doc! { "kind": 1, "at": 1 }, "ticket_events_kind_at", false),
            ])
            .await?;
        self.close_requests
            .create_indexes([
                index(doc! { "id": 1 }, "close_requests_id_uq", true),
                index(doc! { "due_at": 1 }, "close_requests_due", false),
            ])
            .await?;
        self.topics
            .create_indexes([index(
                doc! { "guild_id": 1, "name_key": 1 },
                "topics_guild_name_uq",
                true,
            )])
            .await?;
        self.tickets
            .create_indexes([index(doc! { "topic_key": 1 }, "tickets_topic", false)])
            .await?;
        Ok(())
    }

    /// Rewrites every document the Python bot wrote (no `updated_at`) into our form.
    pub(crate) async fn upgrade_legacy(&self) -> StoreResult<()> {
        let legacy = doc! { "updated_at": { "$exists": false } };
        let imported_at = crate::ticket::now();
        let mut slots = SlotCounter::default();
        let mut total = 0usize;
        loop {
            let docs: Vec<Document> = self
                .tickets
                .find(legacy.clone())
                .sort(doc! { "_id": 1 })
                .limit(500)
                .await?
                .try_collect()
                .await?;
            if docs.is_empty() {
                break;
            }
            for old in &docs {
                let row = legacy_row(old);
                let (mut record, mut events) = legacy::convert(&row, &mut slots, imported_at)?;
                // Keep the legacy `_id` as it was stored (a string), matched exactly.
                let filter = doc! { "_id": old.get("_id").cloned().unwrap_or(Bson::Null), "updated_at": { "$exists": false } };
                let mut attempts = 0;
                loop {
                    // The Python bot let two tickets name one channel; the one upgraded first
                    // keeps it.
                    if let Some(holder) = self.channel_holder(&record).await? {
                        legacy::give_up_shared_channel(&mut record, &mut events, Some(holder));
                    }
                    match self
                        .tickets
                        .replace_one(filter.clone(), ticket_doc(&record))
                        .await
                    {
                        Ok(_) => break,
                        // Which unique key refused it is asked of the data, not of the error
                        // (not every MongoDB-wire server sends error codes): the channel is
                        // checked again above; a slot taken by a document upgraded before an
                        // interruption moves on to the next.
                        Err(e) if attempts < MAX_SLOT && self.holds_conflict(&record).await? => {
                            attempts += 1;
                            if self.slot_taken(&record).await? {
                                record.open_slot = record.open_slot.map(|s| s + 1);
                            }
                            tracing::debug!(
                                "legacy ticket {} upgraded again: {e}",
                                record.ticket.id
                            );
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                self.insert_events(&events).await?;
            }
            total += docs.len();
        }
        if total > 0 {
            tracing::info!("took over {total} tickets from the Python Ticket-Bot's database");
        }
        Ok(())
    }

    /// Another ticket holding `record`'s channel, when one does.
    async fn channel_holder(&self, record: &TicketRecord) -> StoreResult<Option<uuid::Uuid>> {
        let Some(channel) = record.ticket.channel_id else {
            return Ok(None);
        };
        let other = self
            .tickets
            .find_one(doc! {
                "channel_key": channel_key(record.ticket.id, Some(channel)),
                "_id": { "$ne": record.ticket.id.to_string() },
            })
            .await?;
        Ok(other
            .as_ref()
            .and_then(|d| d.get_str("_id").ok())
            .and_then(|id| uuid::Uuid::parse_str(id).ok()))
    }

    /// Whether another document holds the creator's open slot that `record` asks for.
    async fn slot_taken(&self, record: &TicketRecord) -> StoreResult<bool> {
        let Some(slot) = record.open_slot else {
            return Ok(false);
        };
        let t = &record.ticket;
        Ok(self
            .tickets
            .find_one(doc! {
                "guild_id": id_to_bson(t.guild_id),
                "creator_id": id_to_bson(t.creator_id),
                "open_slot": i64::from(slot),
                "_id": { "$ne": t.id.to_string() },
            })
            .await?
            .is_some())
    }

    /// Whether a refused write is explained by a unique key another document holds (then it
    /// is worth another try after moving off it).
    async fn holds_conflict(&self, record: &TicketRecord) -> StoreResult<bool> {
        Ok(self.channel_holder(record).await?.is_some() || self.slot_taken(record).await?)
    }

    /// Copies outbox events left by an interrupted write and finishes interrupted deletes and
    /// purges: at connect, and periodically (`finish_interrupted`). Every step is idempotent,
    /// so two processes doing it at once do no harm. Returns how many items it finished.
    pub(crate) async fn repair(&self) -> StoreResult<u64> {
        let mut done = 0;
        let mut pending = self.tickets.find(doc! { "outbox_n": { "$gt": 0 } }).await?;
        while let Some(doc) = pending.try_next().await? {
            self.flush_outbox(&doc).await?;
            done += 1;
        }
        // A purge interrupted between marking and removing: finish it (no `deleted` event).
        done += self.finish_purges().await?;
        let mut deleting = self
            .tickets
            .find(doc! { "deleted": true, "purging": { "$ne": true } })
            .await?;
        while let Some(doc) = deleting.try_next().await? {
            self.finish_delete(&doc).await?;
            done += 1;
        }
        Ok(done)
    }

    pub(crate) async fn schema_version(&self) -> StoreResult<i64> {
        let doc = self.meta.find_one(doc! { "_id": "schema" }).await?;
        Ok(doc
            .as_ref()
            .and_then(|d| d.get("version"))
            .and_then(as_i64)
            .unwrap_or(0))
    }

    /// Schema 2: every ticket gets the archive fields (null), so that every server's index and
    /// `$eq: null` see the same thing. Idempotent.
    async fn upgrade_v2(&self) -> StoreResult<()> {
        for field in ["archived_at", "archive_requested_at"] {
            self.tickets
                .update_many(
                    doc! { field: { "$exists": false } },
                    doc! { "$set": { field: Bson::Null } },
                )
                .await?;
        }
        Ok(())
    }

    pub(crate) fn backend(&self) -> Backend {
        Backend::Mongodb
    }

    pub(crate) async fn close(&self) {
        self.client.clone().shutdown().await;
    }
}
