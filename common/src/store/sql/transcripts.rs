//! Transcripts: a header row per ticket naming the current version, and the bytes in chunks of
//! [`TRANSCRIPT_CHUNK_BYTES`] under that version. A replace writes the new chunks under a new
//! version, switches the header in one conditional write, then deletes the old chunks, so
//! that a reader (header, then that version's chunks) sees the old or the new, never a mix.

use sqlx::Row;
use uuid::Uuid;

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::store::{TranscriptBlob, TranscriptInfo, RACE_RETRIES, TRANSCRIPT_CHUNK_BYTES};

const HEADER_COLUMNS: &str =
    "ticket_id, guild_id, created_at, message_count, size, chunks, version";

/// A transcript header as stored.
struct Header {
    info: TranscriptInfo,
    chunks: u64,
    version: String,
}

fn header_from_row(row: &sqlx::any::AnyRow) -> StoreResult<Header> {
    let id_text = required_text(row, "ticket_id")?;
    let count = |col: &str| -> StoreResult<u64> {
        u64::try_from(row.try_get::<i64, _>(col)?).map_err(|e| StoreError::corrupt(&id_text, e))
    };
    Ok(Header {
        info: TranscriptInfo {
            ticket_id: parse_uuid(&id_text)?,
            guild_id: id_from_sql(row.try_get("guild_id")?),
            created_at: time_from_sql(row.try_get("created_at")?, &id_text)?,
            message_count: u32::try_from(count("message_count")?)
                .map_err(|e| StoreError::corrupt(&id_text, e))?,
            size: count("size")?,
        },
        chunks: count("chunks")?,
        version: required_text(row, "version")?,
    })
}

/// Bytes of a BLOB column (some drivers hand small ones over as text).
fn blob(row: &sqlx::any::AnyRow, col: &str) -> StoreResult<Vec<u8>> {
    match row.try_get::<Vec<u8>, _>(col) {
        Ok(v) => Ok(v),
        Err(_) => Ok(row.try_get::<String, _>(col)?.into_bytes()),
    }
}

impl SqlStore {
    async fn transcript_header(&self, ticket_id: Uuid) -> StoreResult<Option<Header>> {
        let sql = format!("SELECT {HEADER_COLUMNS} FROM transcripts WHERE ticket_id = ?");
        let row = sqlx::query(&sql)
            .bind(ticket_id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(header_from_row).transpose()
    }

    pub(crate) async fn put_transcript(&self, blob: &TranscriptBlob) -> StoreResult<()> {
        let ticket = blob.ticket_id.to_string();
        let version = Uuid::new_v4().to_string();
        let pieces: Vec<&[u8]> = blob.data.chunks(TRANSCRIPT_CHUNK_BYTES).collect();
        // 1. The new version's chunks, one row (one packet) each: no statement or transaction
        //    holds more than one chunk.
        for (seq, piece) in pieces.iter().enumerate() {
            retry_transient(|| async {
                sqlx::query(
                    "INSERT INTO transcript_chunks (ticket_id, version, seq, data) VALUES (?, ?, ?, ?)",
                )
                .bind(ticket.clone())
                .bind(version.clone())
                .bind(seq as i64)
                .bind(piece.to_vec())
                .execute(&self.pool)
                .await?;
                Ok(())
            })
            .await?;
        }
        // 2. Switch the header to the new version: an insert, or a compare-and-set on the
        //    version read, so that of two simultaneous replaces each old set is deleted once.
        let size = blob.data.len() as i64;
        let old = 'switch: {
            for _ in 0..RACE_RETRIES * 4 {
                let current = self.transcript_header(blob.ticket_id).await?;
                let switched = retry_transient(|| async {
                    let res = match &current {
                        None => {
                            let sql = format!(
                                "INSERT INTO transcripts ({HEADER_COLUMNS}) VALUES {}",
                                placeholders(1, 7)
                            );
                            sqlx::query(&sql)
                                .bind(ticket.clone())
                                .bind(id_to_sql(blob.guild_id))
                                .bind(time_to_sql(blob.created_at))
                                .bind(i64::from(blob.message_count))
                                .bind(size)
                                .bind(pieces.len() as i64)
                                .bind(version.clone())
                                .execute(&self.pool)
                                .await
                        }
                        Some(h) => {
                            sqlx::query(
                                "UPDATE transcripts SET guild_id = ?, created_at = ?, \
                                 message_count = ?, size = ?, chunks = ?, version = ? \
                                 WHERE ticket_id = ? AND version = ?",
                            )
                            .bind(id_to_sql(blob.guild_id))
                            .bind(time_to_sql(blob.created_at))
                            .bind(i64::from(blob.message_count))
                            .bind(size)
                            .bind(pieces.len() as i64)
                            .bind(version.clone())
                            .bind(ticket.clone())
                            .bind(h.version.clone())
                            .execute(&self.pool)
                            .await
                        }
                    };
                    match res {
                        Ok(done) => Ok(done.rows_affected() > 0),
                        Err(e) if is_unique_violation(&e) => Ok(false),
                        Err(e) => Err(e.into()),
                    }
                })
                .await?;
                if switched {
                    break 'switch current.map(|h| h.version);
                }
            }
            self.delete_chunks(&ticket, &version).await?;
            return Err(StoreError::Conflict(format!(
                "the transcript of ticket {} kept being replaced; try again",
                blob.ticket_id
            )));
        };
        // 3. The old version's chunks are no longer reachable.
        if let Some(old) = old {
            self.delete_chunks(&ticket, &old).await?;
        }
        Ok(())
    }

    async fn delete_chunks(&self, ticket: &str, version: &str) -> StoreResult<()> {
        retry_transient(|| async {
            sqlx::query("DELETE FROM transcript_chunks WHERE ticket_id = ? AND version = ?")
                .bind(ticket.to_owned())
                .bind(version.to_owned())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn get_transcript(
        &self,
        ticket_id: Uuid,
    ) -> StoreResult<Option<TranscriptBlob>> {
        for _ in 0..RACE_RETRIES * 4 {
            let Some(header) = self.transcript_header(ticket_id).await? else {
                return Ok(None);
            };
            let rows = sqlx::query(
                "SELECT seq, data FROM transcript_chunks \
                 WHERE ticket_id = ? AND version = ? ORDER BY seq",
            )
            .bind(ticket_id.to_string())
            .bind(header.version.clone())
            .fetch_all(&self.reader)
            .await?;
            let mut data = Vec::with_capacity(header.info.size as usize);
            let mut complete = rows.len() as u64 == header.chunks;
            for (i, row) in rows.iter().enumerate() {
                complete &= row.try_get::<i64, _>("seq")? == i as i64;
                data.extend_from_slice(&blob(row, "data")?);
            }
            if complete && data.len() as u64 == header.info.size {
                let info = header.info;
                return Ok(Some(TranscriptBlob {
                    ticket_id: info.ticket_id,
                    guild_id: info.guild_id,
                    created_at: info.created_at,
                    message_count: info.message_count,
                    data,
                }));
            }
            // A replace removed this version between the two reads: read the new header.
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
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TranscriptBlob>> {
        let ids: Vec<String> = sqlx::query(
            "SELECT ticket_id FROM transcripts WHERE ticket_id > ? ORDER BY ticket_id LIMIT ?",
        )
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| required_text(r, "ticket_id"))
        .collect::<StoreResult<_>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // Gone since the listing (purged): skip it.
            if let Some(t) = self.get_transcript(parse_uuid(&id)?).await? {
                out.push(t);
            }
        }
        Ok(out)
    }
}
