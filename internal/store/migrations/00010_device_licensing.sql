-- Device licensing: an app licensed to a device by its serial number.
--
-- Device groups become groups like user groups, so that assignments, members, delivery states and
-- the open work of a group have one set of tables and one delivery path: user_groups holds every
-- group, with kind 'users' (its members are emails) or 'devices' (its members are serial numbers,
-- normalised). An assignment names either kind through group_id, whose foreign key to user_groups
-- then holds for both. A device group's serial numbers move into group_members.
--
-- device_licenses is Apple's device assignments of the location (an asset licensed to a serial
-- number), as the licenses table is its user assignments. Like licenses it has no foreign key
-- (see 00001).

-- +goose Up
ALTER TABLE user_groups ADD COLUMN kind TEXT NOT NULL DEFAULT 'users';

INSERT INTO user_groups (id, name, description, managed, members_from, created_at, updated_at, kind)
    SELECT id, name, description, FALSE, '', created_at, updated_at, 'devices' FROM device_groups;
INSERT INTO group_members (group_id, email)
    SELECT group_id, serial_number FROM device_group_serials;
DROP TABLE device_group_serials;
DROP TABLE device_groups;

CREATE TABLE device_licenses (
    token_id      TEXT NOT NULL,
    adam_id       TEXT NOT NULL,
    pricing_param TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    assigned_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, adam_id, pricing_param, serial_number)
);

-- +goose Down
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
INSERT INTO device_groups (id, name, description, created_at, updated_at)
    SELECT id, name, description, created_at, updated_at FROM user_groups WHERE kind = 'devices';
INSERT INTO device_group_serials (group_id, serial_number)
    SELECT group_id, email FROM group_members WHERE group_id IN (SELECT id FROM user_groups WHERE kind = 'devices');
DELETE FROM deliveries WHERE assignment_id IN (SELECT a.id FROM assignments a JOIN user_groups g ON g.id = a.group_id WHERE g.kind = 'devices');
DELETE FROM assignments WHERE group_id IN (SELECT id FROM user_groups WHERE kind = 'devices');
DELETE FROM group_members WHERE group_id IN (SELECT id FROM user_groups WHERE kind = 'devices');
DELETE FROM user_groups WHERE kind = 'devices';
ALTER TABLE user_groups DROP COLUMN kind;
DROP TABLE device_licenses;
