//! Transcripts: a header document per ticket naming the current version, and the bytes in
//! chunk documents (BSON binary, at most [`TRANSCRIPT_CHUNK_BYTES`] each, far under the 16 MB
//! document limit) under that version. A replace writes the new chunks, switches the header
//! in one single-document compare-and-set, then deletes the old chunks; a reader reads the
//! header, then that version's chunks, and starts again if a replace removed them meanwhile.
//! No multi-document transaction is needed (standalone servers have none).

use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::*;
use super::MongoStore;
use crate::error::{StoreError, StoreResult};
use crate::store::{TranscriptBlob, TranscriptInfo, RACE_RETRIES, TRANSCRIPT_CHUNK_BYTES};

/// A transcript header as stored.
struct Header {
    info: TranscriptInfo,
    chunks: u64,
    version: String,
}

fn header_from_doc(d: &Document) -> StoreResult<Header> {
    let r = Reader::new(d);
    let count = |field: &str| -> StoreResult<u64> {
        u64::try_from(r.i64(field)?).map_err(|_| r.err(field, "negative"))
    };
    Ok(Header {
        info: TranscriptInfo {
            ticket_id: r.uuid("_id")?,
            guild_id: r.id("guild_id")?,
            created_at: r.time("created_at")?,
            message_count: u32::try_from(count("message_count")?)
                .map_err(|_| r.err("message_count", "out of range"))?,
            size: count("size")?,
        },
        chunks: count("chunks")?,
        version: r.str("version")?,
    })
}

fn header_fields(blob: &TranscriptBlob, chunks: usize, version: &str) -> Document {
    doc! {
        "guild_id": id_to_bson(blob.guild_id),
        "created_at": time_to_bson(blob.created_at),
        "message_count": i64::from(blob.message_count),
        "size": blob.data.len() as i64,
        "chunks": chunks as i64,
        "version": version,
    }
}

impl MongoStore {
    async fn transcript_header(&self, ticket_id: Uuid) -> StoreResult<Option<Header>> {
        let d = self
            .transcripts
            .find_one(doc! { "_id": ticket_id.to_string() })
            .await?;
        d.as_ref().map(header_from_doc).transpose()
    }

    pub(crate) async fn put_transcript(&self, blob: &TranscriptBlob) -> StoreResult<()> {
        let ticket = blob.ticket_id.to_string();
        let version = Uuid::new_v4().to_string();
        let pieces: Vec<&[u8]> = blob.data.chunks(TRANSCRIPT_CHUNK_BYTES).collect();
        // 1. The new version's chunks, one document each.
        for (seq, piece) in pieces.iter().enumerate() {
            self.transcript_chunks
                .insert_one(doc! {
                    "_id": format!("{ticket}/{version}/{seq}"),
                    "ticket_id": &ticket,
                    "version": &version,
                    "seq": seq as i64,
                    "data": Binary { subtype: BinarySubtype::Generic, bytes: piece.to_vec() },
                })
                .await?;
        }
        // 2. Switch the header: an insert, or a compare-and-set on the version read.
        let fields = header_fields(blob, pieces.len(), &version);
        let mut old = None;
        let mut switched = false;
        for _ in 0..RACE_RETRIES * 4 {
            match self.transcript_header(blob.ticket_id).await? {
                None => {
                    let mut d = doc! { "_id": &ticket };
                    d.extend(fields.clone());
                    match self.transcripts.insert_one(d).await {
                        Ok(_) => {}
                        Err(e) if is_duplicate_key(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                    // Read back: a server that skips a duplicate silently must not fool us.
                    switched = self
                        .transcript_header(blob.ticket_id)
                        .await?
                        .is_some_and(|h| h.version == version);
                }
                Some(h) => {
                    let res = self
                        .transcripts
                        .update_one(
                            doc! { "_id": &ticket, "version": &h.version },
                            doc! { "$set": fields.clone() },
                        )
                        .await?;
                    if res.matched_count > 0 {
                        switched = true;
                        old = Some(h.version);
                    }
                }
            }
            if switched {
                break;
            }
        }
        if !switched {
            self.delete_chunks(&ticket, &version).await?;
            return Err(StoreError::Conflict(format!(
                "the transcript of ticket {} kept being replaced; try again",
                blob.ticket_id
            )));
        }
        // 3. The old version's chunks are no longer reachable.
        if let Some(old) = old {
            self.delete_chunks(&ticket, &old).await?;
        }
        Ok(())
    }

    async fn delete_chunks(&self, ticket: &str, version: &str) -> StoreResult<()> {
        self.transcript_chunks
            .delete_many(doc! { "ticket_id": ticket, "version": version })
            .await?;
        Ok(())
    }

    pub(crate) async fn get_transcript(
        &self,
        ticket_id: Uuid,
    ) -> StoreResult<Option<TranscriptBlob>> {
        for _ in 0..RACE_RETRIES * 4 {
            let Some(header) = self.transcript_header(ticket_id).await? else {
                return Ok(None);
            };
            let mut cursor = self
                .transcript_chunks
                .find(doc! { "ticket_id": ticket_id.to_string(), "version": &header.version })
                .sort(doc! { "seq": 1 })
                .await?;
            let mut data = Vec::with_capacity(header.info.size as usize);
            let mut seen = 0u64;
            let mut in_order = true;
            while let Some(d) = cursor.try_next().await? {
                let r = Reader::new(&d);
                in_order &= r.i64("seq")? == seen as i64;
                match d.get("data") {
                    Some(Bson::Binary(b)) => data.extend_from_slice(&b.bytes),
                    _ => return Err(r.err("data", "not binary")),
                }
                seen += 1;
            }
            if in_order && seen == header.chunks && data.len() as u64 == header.info.size {
                let info = header.info;
                return Ok(Some(TranscriptBlob {
                    ticket_id: info.ticket_id,
                    guild_id: info.guild_id,
                    created_at: info.created_at,
                    message_count: info.message_count,
                    data,
                }));
            }
            // A replace removed this version while we read it: read the new header.
        }
        Err(StoreError::Conflict(format!(
            "the transcript of ticket {ticket_id} kept being replaced while read; try again"
        )))
    }

    pub(crate) async fn transcript_info(
        &self,
        ticket_id: Uuid,
    ) -> StoreResult<Option<TranscriptInfo>> {
        Ok(self.transcript_header(ticket_id).await?.map(|h| h.info))
    }

    pub(crate) async fn export_transcripts(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TranscriptBlob>> {
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let docs: Vec<Document> = self
            .transcripts
            .find(doc! { "_id": { "$gt": after } })
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        let mut out = Vec::with_capacity(docs.len());
        for d in &docs {
            // Gone since the listing (purged): skip it.
            if let Some(t) = self.get_transcript(Reader::new(d).uuid("_id")?).await? {
                out.push(t);
            }
        }
        Ok(out)
    }
}
