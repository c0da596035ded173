-- `stats` counts claims and closes per staff member. With (kind, actor_id) leading, the count
-- walks the index in group order: no row reads, no sort. Purge's search for the few `deleted`
-- events by time reads them from it as well.
ALTER TABLE ticket_events DROP KEY ticket_events_kind_at,
    ADD KEY ticket_events_kind_actor_at (kind, actor_id, at);
