-- assets_version: the versionId of the last complete GET /assets walk. Get Assets takes no
-- sinceVersionId, so an incremental sync reads page 0 only and walks the rest when it changed.
--
-- deliveries_gen and deliveries_recorded: every write that can change a token's delivery states
-- (sync, users, licenses, members, assignments) increments deliveries_gen; recording the states
-- sets deliveries_recorded to the generation it read. The states are current while the two are
-- equal, so a refresh recomputes them only after an interrupted delivery or a sync.

-- +goose Up
ALTER TABLE tokens ADD COLUMN assets_version TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN deliveries_gen BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tokens ADD COLUMN deliveries_recorded BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tokens DROP COLUMN deliveries_recorded;
ALTER TABLE tokens DROP COLUMN deliveries_gen;
ALTER TABLE tokens DROP COLUMN assets_version;
