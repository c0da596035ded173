-- A report counts tickets per minute of time to close, to claim and to first response, then
-- reads the exact median and p90 in the minutes that hold them. As generated columns with an
-- index each count walks a narrow index instead of reading and grouping every row, and each
-- quantile is an index range. The guild and the opening time come after: a guild's or a
-- period's report reads the same index, without a row read.
-- `tickets_status_claim` serves the backlog (open, unclaimed, oldest).
ALTER TABLE tickets
    ADD COLUMN close_us BIGINT AS (IF(status = 'closed', closed_at - created_at, NULL)) VIRTUAL,
    ADD COLUMN claim_us BIGINT AS (claimed_at - created_at) VIRTUAL,
    ADD COLUMN response_us BIGINT AS (first_response_at - created_at) VIRTUAL,
    ADD KEY tickets_close_us (close_us, guild_id, created_at),
    ADD KEY tickets_claim_us (claim_us, guild_id, created_at),
    ADD KEY tickets_response_us (response_us, first_response_by, guild_id, created_at),
    ADD KEY tickets_status_claim (status, claimed_by, created_at);

-- One guild's report counts its history per kind and staff member: with the guild and kind
-- leading, that is one index range (by guild and time alone, every entry cost a row read).
-- Purge's search for a guild's `deleted` entries reads it too.
ALTER TABLE ticket_events DROP KEY ticket_events_guild_at,
    ADD KEY ticket_events_guild_kind (guild_id, kind, actor_id, at);
