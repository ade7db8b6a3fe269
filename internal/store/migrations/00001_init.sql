-- The engine's schema. One text for SQLite and PostgreSQL: only TEXT, BIGINT, INTEGER and
-- BOOLEAN columns; times are BIGINT unix milliseconds (0 = unset); IDs of append-only records
-- come from id_seq so that no dialect-specific auto-increment is needed.
--
-- The bulk tables (books, vpp_users, group_members, licenses, deliveries) have no foreign keys:
-- a per-row foreign key check halves PostgreSQL's insert rate, and the store checks (and on
-- PostgreSQL share-locks) the parent row once per call and deletes children explicitly instead.

-- +goose Up
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE id_seq (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO id_seq (name, value) VALUES ('journal', 0);
INSERT INTO id_seq (name, value) VALUES ('sync_runs', 0);
INSERT INTO id_seq (name, value) VALUES ('audit', 0);

CREATE TABLE locks (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id                TEXT PRIMARY KEY,
    location_uid      TEXT UNIQUE,
    display_name      TEXT NOT NULL DEFAULT '',
    apple_id          TEXT NOT NULL DEFAULT '',
    account_type      TEXT NOT NULL DEFAULT '',
    organization_name TEXT NOT NULL DEFAULT '',
    location_name     TEXT NOT NULL DEFAULT '',
    country_code      TEXT NOT NULL DEFAULT '',
    platform          TEXT NOT NULL DEFAULT '',
    website_url       TEXT NOT NULL DEFAULT '',
    expires_at        BIGINT NOT NULL DEFAULT 0,
    secret            TEXT NOT NULL DEFAULT '',
    secret_sealed     BOOLEAN NOT NULL DEFAULT FALSE,
    state             TEXT NOT NULL DEFAULT '',
    state_detail      TEXT NOT NULL DEFAULT '',
    last_sync_at      BIGINT NOT NULL DEFAULT 0,
    last_sync_status  TEXT NOT NULL DEFAULT '',
    last_sync_error   TEXT NOT NULL DEFAULT '',
    users_version     TEXT NOT NULL DEFAULT '',
    assign_version    TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE books (
    token_id      TEXT NOT NULL,
    adam_id       TEXT NOT NULL,
    pricing_param TEXT NOT NULL,
    title         TEXT NOT NULL DEFAULT '',
    author        TEXT NOT NULL DEFAULT '',
    genres        TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL DEFAULT '',
    cover_url     TEXT NOT NULL DEFAULT '',
    total         INTEGER NOT NULL DEFAULT 0,
    assigned      INTEGER NOT NULL DEFAULT 0,
    available     INTEGER NOT NULL DEFAULT 0,
    retired       INTEGER NOT NULL DEFAULT 0,
    metadata_at   BIGINT NOT NULL DEFAULT 0,
    synced_at     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, adam_id, pricing_param)
);

CREATE TABLE vpp_users (
    token_id       TEXT NOT NULL,
    client_user_id TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    managed        BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL DEFAULT '',
    invite_code    TEXT NOT NULL DEFAULT '',
    invitation_url TEXT NOT NULL DEFAULT '',
    id_hash        TEXT NOT NULL DEFAULT '',
    updated_at     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, client_user_id)
);
CREATE INDEX vpp_users_email ON vpp_users (token_id, email);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    managed     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL,
    email    TEXT NOT NULL,
    PRIMARY KEY (group_id, email)
);

CREATE TABLE assignments (
    id                     TEXT PRIMARY KEY,
    token_id               TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    adam_id                TEXT NOT NULL,
    pricing_param          TEXT NOT NULL,
    group_id               TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    intent                 TEXT NOT NULL DEFAULT '',
    allow_oversubscription BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             BIGINT NOT NULL DEFAULT 0,
    updated_at             BIGINT NOT NULL DEFAULT 0,
    UNIQUE (token_id, adam_id, pricing_param, group_id)
);
CREATE INDEX assignments_group ON assignments (group_id);

CREATE TABLE licenses (
    token_id       TEXT NOT NULL,
    adam_id        TEXT NOT NULL,
    pricing_param  TEXT NOT NULL,
    client_user_id TEXT NOT NULL,
    assigned_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, adam_id, pricing_param, client_user_id)
);

CREATE TABLE deliveries (
    assignment_id TEXT NOT NULL,
    email         TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT '',
    error_number  INTEGER NOT NULL DEFAULT 0,
    detail        TEXT NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (assignment_id, email)
);

CREATE TABLE journal (
    id         BIGINT PRIMARY KEY,
    token_id   TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    operation  TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT '',
    event_id   TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX journal_token ON journal (token_id, state);

-- Sync history and the audit log outlive their token: no foreign key.
CREATE TABLE sync_runs (
    id          BIGINT PRIMARY KEY,
    token_id    TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    books       INTEGER NOT NULL DEFAULT 0,
    users       INTEGER NOT NULL DEFAULT 0,
    licenses    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_token ON sync_runs (token_id);

CREATE TABLE audit (
    id        BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL DEFAULT 0,
    token_id  TEXT NOT NULL DEFAULT '',
    operation TEXT NOT NULL DEFAULT '',
    event_id  TEXT NOT NULL DEFAULT '',
    count     INTEGER NOT NULL DEFAULT 0,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_token ON audit (token_id);

-- +goose Down
DROP TABLE audit;
DROP TABLE sync_runs;
DROP TABLE journal;
DROP TABLE deliveries;
DROP TABLE licenses;
DROP TABLE assignments;
DROP TABLE group_members;
DROP TABLE user_groups;
DROP TABLE vpp_users;
DROP TABLE books;
DROP TABLE tokens;
DROP TABLE locks;
DROP TABLE id_seq;
DROP TABLE meta;
