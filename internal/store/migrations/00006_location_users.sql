-- location_users: the active VPP users Apple holds at a token's location, whoever created them,
-- kept by every walk of Apple's users (a full walk rebuilds it, one of the users changed since the
-- last walk updates it). Members without a user record are looked up here, so that a delivery
-- finds the users another runner, an older database or another system created without walking
-- every user of the location again. walk is the walk that last wrote a row (see
-- Tx.ApplyLocationUsers). tokens.users_index_version is the users versionId the table is
-- complete at; it is current when it equals tokens.users_version.

-- +goose Up
CREATE TABLE location_users (
    token_id       TEXT NOT NULL,
    client_user_id TEXT NOT NULL,
    email_key      TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT '',
    invite_code    TEXT NOT NULL DEFAULT '',
    id_hash        TEXT NOT NULL DEFAULT '',
    walk           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, client_user_id)
);
CREATE INDEX location_users_email ON location_users (token_id, email_key);
ALTER TABLE tokens ADD COLUMN users_index_version TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN users_index_version;
DROP TABLE location_users;
