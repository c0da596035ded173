-- The first message by staff in a ticket's channel (schema v5), MySQL/MariaDB dialect: when,
-- and who. Set once, by a conditional write; its history entry is the `first_response` event.
ALTER TABLE tickets
    ADD COLUMN first_response_at BIGINT NULL,
    ADD COLUMN first_response_by BIGINT NULL;
