-- The audit log reads each entry's outcome from the journal entry of the same token and event
-- (store.FindAudit): an index on (token_id, event_id) keeps that join a lookup per entry rather
-- than a scan of the token's journal.

-- +goose Up
CREATE INDEX journal_event ON journal (token_id, event_id);

-- +goose Down
DROP INDEX journal_event;
