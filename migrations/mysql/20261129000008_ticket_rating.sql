-- A ticket's rating, copied from `feedback` in the transaction of every rating write (schema
-- v12). A report then counts the ratings from one covering index instead of joining each
-- rating to its ticket. `feedback` stays the record. The rating leads the index: the summary
-- reads the rated tickets' range alone (MariaDB has no partial index).
ALTER TABLE tickets ADD COLUMN rating BIGINT NULL;
UPDATE tickets t JOIN feedback f ON f.ticket_id = t.id SET t.rating = f.rating;
CREATE INDEX tickets_rated ON tickets (rating, guild_id, created_at, claimed_by, closed_by);
