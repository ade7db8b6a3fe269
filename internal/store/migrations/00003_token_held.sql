-- held: a Terraform resource is known to hold the token (its create completed, or a state that
-- names it was read). A record that is not held is what an interrupted create left behind: a new
-- create for the same location takes it up, where one for a held location is refused.

-- +goose Up
ALTER TABLE tokens ADD COLUMN held BOOLEAN NOT NULL DEFAULT TRUE;

-- +goose Down
ALTER TABLE tokens DROP COLUMN held;
