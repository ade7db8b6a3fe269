-- members_from: what a group's members were read from (a roster file's SHA-256), empty for a list
-- given directly. A record restored from a roster file that changed since it was applied says so,
-- and the members it holds are not taken for those last applied.

-- +goose Up
ALTER TABLE user_groups ADD COLUMN members_from TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE user_groups DROP COLUMN members_from;
