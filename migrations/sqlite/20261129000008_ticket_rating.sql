-- A ticket's rating, copied from `feedback` in the transaction of every rating write (schema
-- v12). A report then counts the ratings in its pass over the tickets instead of joining each
-- rating to its ticket (~1 s on 1,000,000 tickets with 300,000 ratings). `feedback` stays the
-- record. The partial index covers a summary of the ratings alone, in its GROUP BY's order
-- (led by the guild, the planner walked another index in that order and read every row: 1.7 s
-- against 0.05 s).
ALTER TABLE tickets ADD COLUMN rating INTEGER;
UPDATE tickets SET rating = (SELECT f.rating FROM feedback f WHERE f.ticket_id = tickets.id)
WHERE id IN (SELECT ticket_id FROM feedback);
CREATE INDEX IF NOT EXISTS tickets_rated
    ON tickets (claimed_by, closed_by, rating, guild_id, created_at) WHERE rating IS NOT NULL;
