//! The `TicketStore` impl of a backend whose methods are inherent methods of the same names,
//! spread over the files of its concerns: the trait impl only forwards.

/// `delegate_ticket_store!(Type)` implements [`TicketStore`](super::TicketStore) for `Type`
/// by calling `Type`'s inherent method of each name (inherent methods win over trait methods).
macro_rules! delegate_ticket_store {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::TicketStore for $ty {
            fn backend(&self) -> $crate::store::Backend {
                <$ty>::backend(self)
            }
            async fn schema_version(&self) -> $crate::error::StoreResult<i64> {
                <$ty>::schema_version(self).await
            }
            async fn create_ticket(
                &self,
                guild_id: $crate::ticket::DiscordId,
                creator_id: $crate::ticket::DiscordId,
                max_open: u32,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::store::CreateOutcome> {
                <$ty>::create_ticket(self, guild_id, creator_id, max_open, at).await
            }
            async fn get(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::ticket::Ticket>> {
                <$ty>::get(self, id).await
            }
            async fn find_by_prefix(
                &self,
                prefix: &str,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::Ticket>> {
                <$ty>::find_by_prefix(self, prefix, limit).await
            }
            async fn get_by_channel(
                &self,
                channel_id: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<Option<$crate::ticket::Ticket>> {
                <$ty>::get_by_channel(self, channel_id).await
            }
            async fn list(
                &self,
                filter: &$crate::store::TicketFilter,
                limit: u32,
                after: Option<&$crate::store::Cursor>,
            ) -> $crate::error::StoreResult<$crate::store::Page> {
                <$ty>::list(self, filter, limit, after).await
            }
            async fn count(
                &self,
                filter: &$crate::store::TicketFilter,
            ) -> $crate::error::StoreResult<$crate::store::StatusCounts> {
                <$ty>::count(self, filter).await
            }
            async fn updated_since(
                &self,
                since: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::Ticket>> {
                <$ty>::updated_since(self, since, limit).await
            }
            async fn stats(
                &self,
                filter: &$crate::store::TicketFilter,
            ) -> $crate::error::StoreResult<$crate::stats::TicketStats> {
                <$ty>::stats(self, filter).await
            }
            async fn set_channel(
                &self,
                id: uuid::Uuid,
                channel_id: Option<$crate::ticket::DiscordId>,
            ) -> $crate::error::StoreResult<$crate::ticket::Ticket> {
                <$ty>::set_channel(self, id, channel_id).await
            }
            async fn transition(
                &self,
                id: uuid::Uuid,
                transition: &$crate::rules::Transition,
            ) -> $crate::error::StoreResult<$crate::ticket::Ticket> {
                <$ty>::transition(self, id, transition).await
            }
            async fn record_first_response(
                &self,
                id: uuid::Uuid,
                by: $crate::ticket::DiscordId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::record_first_response(self, id, by, at).await
            }
            async fn add_participant(
                &self,
                id: uuid::Uuid,
                user_id: $crate::ticket::DiscordId,
                by: $crate::ticket::DiscordId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::ticket::Participant> {
                <$ty>::add_participant(self, id, user_id, by, at).await
            }
            async fn remove_participant(
                &self,
                id: uuid::Uuid,
                user_id: $crate::ticket::DiscordId,
                by: $crate::ticket::DiscordId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::remove_participant(self, id, user_id, by, at).await
            }
            async fn participants(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::Participant>> {
                <$ty>::participants(self, id).await
            }
            async fn history(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::TicketEvent>> {
                <$ty>::history(self, id).await
            }
            async fn delete(
                &self,
                id: uuid::Uuid,
                by: Option<$crate::ticket::DiscordId>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::ticket::Ticket> {
                <$ty>::delete(self, id, by, at).await
            }
            async fn discard(&self, id: uuid::Uuid) -> $crate::error::StoreResult<bool> {
                <$ty>::discard(self, id).await
            }
            async fn export_tickets(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::store::TicketRecord>> {
                <$ty>::export_tickets(self, after, limit).await
            }
            async fn export_events(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::TicketEvent>> {
                <$ty>::export_events(self, after, limit).await
            }
            async fn import_tickets(
                &self,
                records: &[$crate::store::TicketRecord],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_tickets(self, records).await
            }
            async fn import_events(
                &self,
                events: &[$crate::ticket::TicketEvent],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_events(self, events).await
            }
            async fn begin_bulk_load(&self) -> $crate::error::StoreResult<bool> {
                <$ty>::begin_bulk_load(self).await
            }
            async fn finish_bulk_load(&self) -> $crate::error::StoreResult<()> {
                <$ty>::finish_bulk_load(self).await
            }
            async fn record_counts(
                &self,
            ) -> $crate::error::StoreResult<$crate::store::RecordCounts> {
                <$ty>::record_counts(self).await
            }
            async fn cache_fit(
                &self,
            ) -> $crate::error::StoreResult<Option<$crate::store::CacheFit>> {
                <$ty>::cache_fit(self).await
            }
            async fn heartbeat(
                &self,
                beat: &$crate::store::Heartbeat,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::heartbeat(self, beat).await
            }
            async fn heartbeats_since(
                &self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<Vec<$crate::store::Heartbeat>> {
                <$ty>::heartbeats_since(self, since).await
            }
            async fn remove_heartbeat(&self, instance_id: &str) -> $crate::error::StoreResult<()> {
                <$ty>::remove_heartbeat(self, instance_id).await
            }
            async fn mark_archived(
                &self,
                id: uuid::Uuid,
                by: Option<$crate::ticket::DiscordId>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::ticket::Ticket> {
                <$ty>::mark_archived(self, id, by, at).await
            }
            async fn request_archive(
                &self,
                query: &$crate::store::ArchiveQuery,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<u64> {
                <$ty>::request_archive(self, query, at).await
            }
            async fn archivable(
                &self,
                query: &$crate::store::ArchiveQuery,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::Ticket>> {
                <$ty>::archivable(self, query, limit).await
            }
            async fn count_archivable(
                &self,
                query: &$crate::store::ArchiveQuery,
            ) -> $crate::error::StoreResult<u64> {
                <$ty>::count_archivable(self, query).await
            }
            async fn put_transcript(
                &self,
                blob: &$crate::store::TranscriptBlob,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::put_transcript(self, blob).await
            }
            async fn get_transcript(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::store::TranscriptBlob>> {
                <$ty>::get_transcript(self, ticket_id).await
            }
            async fn transcript_info(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::store::TranscriptInfo>> {
                <$ty>::transcript_info(self, ticket_id).await
            }
            async fn export_transcripts(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::store::TranscriptBlob>> {
                <$ty>::export_transcripts(self, after, limit).await
            }
            async fn overflow_categories(
                &self,
                guild_id: $crate::ticket::DiscordId,
                base_id: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<Vec<$crate::store::OverflowCategory>> {
                <$ty>::overflow_categories(self, guild_id, base_id).await
            }
            async fn count_staff_message(
                &self,
                guild_id: $crate::ticket::DiscordId,
                user_id: $crate::ticket::DiscordId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::count_staff_message(self, guild_id, user_id, at).await
            }
            async fn all_staff_messages(
                &self,
            ) -> $crate::error::StoreResult<Vec<$crate::store::StaffMessages>> {
                <$ty>::all_staff_messages(self).await
            }
            async fn import_staff_messages(
                &self,
                rows: &[$crate::store::StaffMessages],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_staff_messages(self, rows).await
            }
            async fn put_close_request(
                &self,
                request: &$crate::close_request::CloseRequest,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::put_close_request(self, request).await
            }
            async fn close_request(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::close_request::CloseRequest>> {
                <$ty>::close_request(self, ticket_id).await
            }
            async fn settle_close_request(
                &self,
                seen: &$crate::close_request::CloseRequest,
                state: $crate::close_request::CloseRequestState,
                due_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<Option<$crate::close_request::CloseRequest>> {
                <$ty>::settle_close_request(self, seen, state, due_at).await
            }
            async fn due_close_requests(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::close_request::CloseRequest>> {
                <$ty>::due_close_requests(self, now, limit).await
            }
            async fn remove_close_request(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::remove_close_request(self, id).await
            }
            async fn add_close_request(
                &self,
                request: &$crate::close_request::CloseRequest,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::add_close_request(self, request).await
            }
            async fn cancel_close_request(
                &self,
                ticket_id: uuid::Uuid,
                requested_by: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::cancel_close_request(self, ticket_id, requested_by).await
            }
            async fn record_activity(
                &self,
                activity: &$crate::auto_close::TicketActivity,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::record_activity(self, activity).await
            }
            async fn last_activity(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
                <$ty>::last_activity(self, ticket_id).await
            }
            async fn stale_tickets(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::ticket::Ticket>> {
                <$ty>::stale_tickets(self, before, limit).await
            }
            async fn export_activity(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::auto_close::TicketActivity>> {
                <$ty>::export_activity(self, after, limit).await
            }
            async fn import_activity(
                &self,
                rows: &[$crate::auto_close::TicketActivity],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_activity(self, rows).await
            }
            async fn export_close_requests(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::close_request::CloseRequest>> {
                <$ty>::export_close_requests(self, after, limit).await
            }
            async fn import_close_requests(
                &self,
                rows: &[$crate::close_request::CloseRequest],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_close_requests(self, rows).await
            }
            async fn give_feedback(
                &self,
                feedback: &$crate::feedback::Feedback,
                changeable_since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::feedback::FeedbackWrite> {
                <$ty>::give_feedback(self, feedback, changeable_since).await
            }
            async fn feedback(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::feedback::Feedback>> {
                <$ty>::feedback(self, ticket_id).await
            }
            async fn feedback_summary(
                &self,
                filter: &$crate::store::TicketFilter,
            ) -> $crate::error::StoreResult<$crate::feedback::FeedbackSummary> {
                <$ty>::feedback_summary(self, filter).await
            }
            async fn export_feedback(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::feedback::Feedback>> {
                <$ty>::export_feedback(self, after, limit).await
            }
            async fn import_feedback(
                &self,
                rows: &[$crate::feedback::Feedback],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_feedback(self, rows).await
            }
            async fn add_topic(
                &self,
                topic: &$crate::topics::Topic,
            ) -> $crate::error::StoreResult<$crate::topics::TopicWrite> {
                <$ty>::add_topic(self, topic).await
            }
            async fn update_topic(
                &self,
                topic: &$crate::topics::Topic,
            ) -> $crate::error::StoreResult<$crate::topics::TopicWrite> {
                <$ty>::update_topic(self, topic).await
            }
            async fn remove_topic(
                &self,
                id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::remove_topic(self, id, at).await
            }
            async fn topic(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::topics::Topic>> {
                <$ty>::topic(self, id).await
            }
            async fn topics(
                &self,
                guild_id: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<Vec<$crate::topics::Topic>> {
                <$ty>::topics(self, guild_id).await
            }
            async fn all_topics(&self) -> $crate::error::StoreResult<Vec<$crate::topics::Topic>> {
                <$ty>::all_topics(self).await
            }
            async fn import_topics(
                &self,
                rows: &[$crate::topics::Topic],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_topics(self, rows).await
            }
            async fn put_ticket_form(
                &self,
                form: &$crate::topics::TicketForm,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::put_ticket_form(self, form).await
            }
            async fn ticket_form(
                &self,
                ticket_id: uuid::Uuid,
            ) -> $crate::error::StoreResult<Option<$crate::topics::TicketForm>> {
                <$ty>::ticket_form(self, ticket_id).await
            }
            async fn export_ticket_forms(
                &self,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::topics::TicketForm>> {
                <$ty>::export_ticket_forms(self, after, limit).await
            }
            async fn import_ticket_forms(
                &self,
                rows: &[$crate::topics::TicketForm],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::import_ticket_forms(self, rows).await
            }
            async fn remember_names(
                &self,
                names: &[$crate::names::Name],
            ) -> $crate::error::StoreResult<()> {
                <$ty>::remember_names(self, names).await
            }
            async fn names(
                &self,
                ids: &[$crate::ticket::DiscordId],
            ) -> $crate::error::StoreResult<Vec<$crate::names::Name>> {
                <$ty>::names(self, ids).await
            }
            async fn export_names(
                &self,
                after: Option<$crate::ticket::DiscordId>,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::names::Name>> {
                <$ty>::export_names(self, after, limit).await
            }
            async fn all_overflow_categories(
                &self,
            ) -> $crate::error::StoreResult<Vec<$crate::store::OverflowCategory>> {
                <$ty>::all_overflow_categories(self).await
            }
            async fn add_overflow_category(
                &self,
                category: &$crate::store::OverflowCategory,
            ) -> $crate::error::StoreResult<Option<$crate::store::OverflowCategory>> {
                <$ty>::add_overflow_category(self, category).await
            }
            async fn remove_overflow_category(
                &self,
                category_id: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::remove_overflow_category(self, category_id).await
            }
            async fn channels_to_sync(
                &self,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::store::ChannelSync>> {
                <$ty>::channels_to_sync(self, limit).await
            }
            async fn channel_synced(
                &self,
                id: uuid::Uuid,
                token: uuid::Uuid,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::channel_synced(self, id, token).await
            }
            async fn channels_to_delete(
                &self,
                limit: u32,
            ) -> $crate::error::StoreResult<Vec<$crate::store::ChannelDeletion>> {
                <$ty>::channels_to_delete(self, limit).await
            }
            async fn channel_deleted(
                &self,
                channel_id: $crate::ticket::DiscordId,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::channel_deleted(self, channel_id).await
            }
            async fn finish_interrupted(&self) -> $crate::error::StoreResult<u64> {
                <$ty>::finish_interrupted(self).await
            }
            async fn try_lease(
                &self,
                key: &str,
                holder: &str,
                now: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<bool> {
                <$ty>::try_lease(self, key, holder, now, until).await
            }
            async fn release_lease(
                &self,
                key: &str,
                holder: &str,
            ) -> $crate::error::StoreResult<()> {
                <$ty>::release_lease(self, key, holder).await
            }
            async fn purge(
                &self,
                query: &$crate::store::PurgeQuery,
                dry_run: bool,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::StoreResult<$crate::store::PurgeCounts> {
                <$ty>::purge(self, query, dry_run, at).await
            }
            async fn close(&self) {
                <$ty>::close(self).await
            }
        }
    };
}

pub(crate) use delegate_ticket_store;
