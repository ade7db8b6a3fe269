-- assets: the books table becomes every purchased asset of a location, books and apps alike, with
-- Apple's productType and flags (revocable: a license can be taken back; device_assignable: it can
-- be licensed to a device serial number), the platforms Apple lists for it (supportedPlatforms),
-- and the metadata lookup's app fields (bundle id, version and price as the store shows them).
-- Rows written before are books.

-- +goose Up
ALTER TABLE books RENAME TO assets;
ALTER TABLE assets ADD COLUMN product_type TEXT NOT NULL DEFAULT 'Book';
ALTER TABLE assets ADD COLUMN revocable BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE assets ADD COLUMN device_assignable BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE assets ADD COLUMN bundle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN platforms TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN price TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE assets DROP COLUMN price;
ALTER TABLE assets DROP COLUMN version;
ALTER TABLE assets DROP COLUMN platforms;
ALTER TABLE assets DROP COLUMN bundle_id;
ALTER TABLE assets DROP COLUMN device_assignable;
ALTER TABLE assets DROP COLUMN revocable;
ALTER TABLE assets DROP COLUMN product_type;
ALTER TABLE assets RENAME TO books;
