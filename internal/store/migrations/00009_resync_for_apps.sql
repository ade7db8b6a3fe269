-- A database that synced its tokens before the engine recorded apps (00007) holds their books only:
-- the next read of each token must sync, and read every asset again (an unchanged assets versionId
-- would end the walk at page 0), so that the location's apps appear. Nothing else is lost: the next
-- sync reads users and assignments changed since their versions, as usual.

-- +goose Up
UPDATE tokens SET assets_version = '', last_sync_at = 0;

-- +goose Down
SELECT 1;
