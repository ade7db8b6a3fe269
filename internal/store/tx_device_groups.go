package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// ---- device groups ------------------------------------------------------------------------
//
// A device group is a group of kind GroupDevices (see migration 00010): its record is in
// user_groups and its serial numbers in group_members, so that assignments, delivery and the
// open work read it as they read a user group.

func (t *tx) InsertDeviceGroup(ctx context.Context, g DeviceGroup) error {
	if g.ID == "" {
		return errors.New("store: InsertDeviceGroup: the device group ID is required")
	}
	return t.InsertGroup(ctx, Group{ID: g.ID, Kind: GroupDevices, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt})
}

func (t *tx) UpdateDeviceGroup(ctx context.Context, g DeviceGroup) error {
	r, err := t.exec(ctx, `UPDATE user_groups SET name = $2, description = $3, updated_at = $4 WHERE id = $1 AND kind = $5`,
		g.ID, g.Name, g.Description, ms(orNow(g.UpdatedAt, nowUTC())), GroupDevices)
	if err != nil {
		return fmt.Errorf("store: update device group %s: %w", g.ID, err)
	}
	return mustAffect(r, "device group "+g.ID)
}

func deviceGroupOf(g Group) DeviceGroup {
	return DeviceGroup{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

func (t *tx) GetDeviceGroup(ctx context.Context, id string) (DeviceGroup, error) {
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupCols+` FROM user_groups WHERE id = $1 AND kind = $2`, id, GroupDevices))
	if errors.Is(err, sql.ErrNoRows) {
		return DeviceGroup{}, fmt.Errorf("store: device group %s: %w", id, ErrNotFound)
	}
	return deviceGroupOf(g), t.s.mapErr(err)
}

func (t *tx) ListDeviceGroups(ctx context.Context) ([]DeviceGroup, error) {
	gs, err := t.listGroups(ctx, `SELECT `+groupCols+` FROM user_groups WHERE kind = $1 ORDER BY `+t.ord("id"), GroupDevices)
	out := make([]DeviceGroup, len(gs))
	for i, g := range gs {
		out[i] = deviceGroupOf(g)
	}
	return out, err
}

func (t *tx) DeleteDeviceGroup(ctx context.Context, id string) error {
	if _, err := t.GetDeviceGroup(ctx, id); err != nil {
		return err
	}
	return t.DeleteGroup(ctx, id)
}

// SetSerials writes only the difference from the serial numbers held: the serials no longer
// wanted are deleted a chunk at a time, the new ones bulk-inserted, so that changing one device of
// a group of ten thousand writes one row.
func (t *tx) SetSerials(ctx context.Context, groupID string, serials []string) error {
	if err := t.lockParent(ctx, "user_groups", "device group", groupID); err != nil {
		return err
	}
	current, err := t.ListSerials(ctx, groupID)
	if err != nil {
		return err
	}
	drop, add := setChanges(current, serials)
	for part := range slices.Chunk(drop, inChunk) {
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND email IN (`+placeholders(2, len(part))+`)`,
			append([]any{groupID}, anySlice(part)...)...); err != nil {
			return fmt.Errorf("store: set the serial numbers of device group %s: %w", groupID, err)
		}
	}
	err = t.bulk(ctx, `INSERT INTO group_members (group_id, email)`, 2, ``, len(add), func(i int, a []any) {
		a[0], a[1] = groupID, add[i]
	})
	if err != nil {
		return fmt.Errorf("store: set the serial numbers of device group %s: %w", groupID, err)
	}
	return nil
}

func (t *tx) ListSerials(ctx context.Context, groupID string) ([]string, error) {
	return t.ListMembers(ctx, groupID)
}

// setChanges compares the values held with those wanted: drop lists the values held that are not
// wanted (in have's order), add the values wanted that are not held, sorted and once each.
func setChanges(have, want []string) (drop, add []string) {
	wanted := make(map[string]bool, len(want))
	for _, v := range want {
		wanted[v] = true
	}
	held := make(map[string]bool, len(have))
	for _, v := range have {
		held[v] = true
		if !wanted[v] {
			drop = append(drop, v)
		}
	}
	for v := range wanted {
		if !held[v] {
			add = append(add, v)
		}
	}
	slices.Sort(add)
	return drop, add
}
