-- A report counts per hour and per minute. Grouped by an expression (`at DIV 3600000000`),
-- MariaDB fills a temporary table, one hash lookup per row; grouped by an indexed column that
-- leads its index, it counts the index in order, and the counts on a million tickets take half
-- the time. Each grouping key is therefore a generated column, first in an index of its own.
ALTER TABLE tickets
    ADD COLUMN created_hour BIGINT AS (created_at DIV 3600000000) VIRTUAL,
    ADD COLUMN close_min BIGINT AS (close_us DIV 60000000) VIRTUAL,
    ADD COLUMN claim_min BIGINT AS (claim_us DIV 60000000) VIRTUAL,
    ADD COLUMN response_min BIGINT AS (response_us DIV 60000000) VIRTUAL,
    -- Tickets per status and hour opened.
    ADD KEY tickets_status_hour (status, created_hour, created_at, guild_id),
    -- Per minute of time to close and to claim; a quantile is one minute's range, in order.
    DROP KEY tickets_close_us,
    ADD KEY tickets_close_min (close_min, close_us, guild_id, created_at),
    DROP KEY tickets_claim_us,
    ADD KEY tickets_claim_min (claim_min, claim_us, guild_id, created_at),
    -- Per first responder and minute (`tickets_response_us` keeps the minutes of all of them).
    ADD KEY tickets_responder_min (first_response_by, response_min, response_us, guild_id, created_at),
    -- Ratings per rating, claimer and closer, in that order.
    DROP KEY tickets_rated,
    ADD KEY tickets_rated (rating, claimed_by, closed_by, guild_id, created_at);

-- Closes per hour; a period's history of any kind is a range of its hours.
ALTER TABLE ticket_events
    ADD COLUMN at_hour BIGINT AS (at DIV 3600000000) VIRTUAL,
    ADD KEY ticket_events_kind_hour (kind, at_hour, at, guild_id);
