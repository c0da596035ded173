-- The first message by staff in a ticket's channel (schema v5): when, and who. Set once, by a
-- conditional write; its history entry is the `first_response` event.
ALTER TABLE tickets ADD COLUMN first_response_at INTEGER;
ALTER TABLE tickets ADD COLUMN first_response_by INTEGER;
