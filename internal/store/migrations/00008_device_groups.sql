-- device_groups: named sets of device serial numbers, for Apple's device-based licensing (an app
-- licensed to a device by its serial number, with no Apple Account). device_group_serials holds
-- each group's serial numbers, normalised (upper-case). Like group_members it has no foreign key
-- (see 00001): the store checks the group once per write and deletes its serials with it.

-- +goose Up
CREATE TABLE device_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE device_group_serials (
    group_id      TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    PRIMARY KEY (group_id, serial_number)
);

-- +goose Down
DROP TABLE device_group_serials;
DROP TABLE device_groups;
