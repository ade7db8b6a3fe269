package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// ---- device groups ------------------------------------------------------------------------

func (t *tx) InsertDeviceGroup(ctx context.Context, g DeviceGroup) error {
	if g.ID == "" {
		return errors.New("store: InsertDeviceGroup: the device group ID is required")
	}
	now := nowUTC()
	_, err := t.exec(ctx, `INSERT INTO device_groups (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
		g.ID, g.Name, g.Description, ms(orNow(g.CreatedAt, now)), ms(orNow(g.UpdatedAt, now)))
	if err != nil {
		return fmt.Errorf("store: insert device group %s: %w", g.ID, err)
	}
	return nil
}

func (t *tx) UpdateDeviceGroup(ctx context.Context, g DeviceGroup) error {
	r, err := t.exec(ctx, `UPDATE device_groups SET name = $2, description = $3, updated_at = $4 WHERE id = $1`,
		g.ID, g.Name, g.Description, ms(orNow(g.UpdatedAt, nowUTC())))
	if err != nil {
		return fmt.Errorf("store: update device group %s: %w", g.ID, err)
	}
	return mustAffect(r, "device group "+g.ID)
}

const deviceGroupCols = `id, name, description, created_at, updated_at`

func scanDeviceGroup(row scanner) (DeviceGroup, error) {
	var g DeviceGroup
	var c, u int64
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &c, &u); err != nil {
		return DeviceGroup{}, err
	}
	g.CreatedAt, g.UpdatedAt = fromMS(c), fromMS(u)
	return g, nil
}

func (t *tx) GetDeviceGroup(ctx context.Context, id string) (DeviceGroup, error) {
	g, err := scanDeviceGroup(t.queryRow(ctx, `SELECT `+deviceGroupCols+` FROM device_groups WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return DeviceGroup{}, fmt.Errorf("store: device group %s: %w", id, ErrNotFound)
	}
	return g, t.s.mapErr(err)
}

func (t *tx) ListDeviceGroups(ctx context.Context) ([]DeviceGroup, error) {
	return queryAll(ctx, t, scanDeviceGroup, `SELECT `+deviceGroupCols+` FROM device_groups ORDER BY `+t.ord("id"))
}

func (t *tx) DeleteDeviceGroup(ctx context.Context, id string) error {
	return t.deleteRecord(ctx, "device group", "device_groups", id, `DELETE FROM device_group_serials WHERE group_id = $1`)
}

// SetSerials writes only the difference from the serial numbers held: the serials no longer
// wanted are deleted a chunk at a time, the new ones bulk-inserted, so that changing one device of
// a group of ten thousand writes one row.
func (t *tx) SetSerials(ctx context.Context, groupID string, serials []string) error {
	if err := t.lockParent(ctx, "device_groups", "device group", groupID); err != nil {
		return err
	}
	current, err := t.ListSerials(ctx, groupID)
	if err != nil {
		return err
	}
	drop, add := setChanges(current, serials)
	for part := range slices.Chunk(drop, inChunk) {
		if _, err := t.exec(ctx, `DELETE FROM device_group_serials WHERE group_id = $1 AND serial_number IN (`+placeholders(2, len(part))+`)`,
			append([]any{groupID}, anySlice(part)...)...); err != nil {
			return fmt.Errorf("store: set the serial numbers of device group %s: %w", groupID, err)
		}
	}
	err = t.bulk(ctx, `INSERT INTO device_group_serials (group_id, serial_number)`, 2, ``, len(add), func(i int, a []any) {
		a[0], a[1] = groupID, add[i]
	})
	if err != nil {
		return fmt.Errorf("store: set the serial numbers of device group %s: %w", groupID, err)
	}
	return nil
}

func (t *tx) ListSerials(ctx context.Context, groupID string) ([]string, error) {
	return t.listStrings(ctx, `SELECT serial_number FROM device_group_serials WHERE group_id = $1 ORDER BY `+t.ord("serial_number"), groupID)
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
