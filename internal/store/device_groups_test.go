package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// serialNumbers returns n distinct serial numbers, sorted.
func serialNumbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("C02X%08d", i)
	}
	return out
}

func TestDeviceGroupsAndSerials(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		d1 := store.DeviceGroup{ID: "d1", Name: "Kiosks", Description: "lobby iPads", CreatedAt: at(1), UpdatedAt: at(1)}
		d2 := store.DeviceGroup{ID: "d2", Name: "Carts", CreatedAt: at(2), UpdatedAt: at(2)}
		mustTx(t, s, func(tx store.Tx) error {
			return errors.Join(tx.InsertDeviceGroup(ctx, d2), tx.InsertDeviceGroup(ctx, d1), tx.InsertGroup(ctx, store.Group{ID: "u1"}))
		})
		// A device group is a group of kind devices: ids are one space, and a user group is no device group.
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertGroup(ctx, store.Group{ID: "d1"}) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a user group d1 beside device group d1: %v, want ErrConflict", err)
		}
		if g := query(t, s, func(tx store.Tx) (store.Group, error) { return tx.GetGroup(ctx, "d1") }); g.Kind != store.GroupDevices {
			t.Fatalf("GetGroup(d1).Kind = %q, want %q", g.Kind, store.GroupDevices)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.GetDeviceGroup(ctx, "u1"); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetDeviceGroup(a user group): %v, want ErrNotFound", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertDeviceGroup(ctx, d1) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second device group d1: %v, want ErrConflict", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertDeviceGroup(ctx, store.DeviceGroup{}) }); err == nil {
			t.Fatal("InsertDeviceGroup accepted a group without an id")
		}
		d1.Name, d1.Description, d1.UpdatedAt = "Lobby kiosks", "", at(9)
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateDeviceGroup(ctx, d1) })
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateDeviceGroup(ctx, store.DeviceGroup{ID: "nope"}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateDeviceGroup(missing): %v, want ErrNotFound", err)
		}
		equal(t, "GetDeviceGroup", query(t, s, func(tx store.Tx) (store.DeviceGroup, error) { return tx.GetDeviceGroup(ctx, "d1") }), d1)
		equal(t, "ListDeviceGroups", query(t, s, func(tx store.Tx) ([]store.DeviceGroup, error) { return tx.ListDeviceGroups(ctx) }),
			[]store.DeviceGroup{d1, d2})
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.GetDeviceGroup(ctx, "nope"); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetDeviceGroup(missing): %v, want ErrNotFound", err)
		}

		// Serial numbers: replaced as a set, listed sorted.
		serials := func(g string) []string {
			return query(t, s, func(tx store.Tx) ([]string, error) { return tx.ListSerials(ctx, g) })
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.SetSerials(ctx, "d1", []string{"CCCCCCCC", "AAAAAAAA", "BBBBBBBB", "AAAAAAAA"})
		})
		equal(t, "serials", serials("d1"), []string{"AAAAAAAA", "BBBBBBBB", "CCCCCCCC"})
		mustTx(t, s, func(tx store.Tx) error { return tx.SetSerials(ctx, "d1", []string{"DDDDDDDD", "BBBBBBBB"}) })
		equal(t, "serials replaced", serials("d1"), []string{"BBBBBBBB", "DDDDDDDD"})
		mustTx(t, s, func(tx store.Tx) error { return tx.SetSerials(ctx, "d2", []string{"BBBBBBBB"}) })
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.SetSerials(ctx, "nope", []string{"AAAAAAAA"}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetSerials(missing group): %v, want ErrNotFound", err)
		}

		// DeleteDeviceGroup takes its serial numbers; the other group, and the user group, stay.
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteDeviceGroup(ctx, "d1") })
		db := rawDB(t, url)
		if n := count(t, db, `SELECT COUNT(*) FROM group_members WHERE group_id = 'd1'`); n != 0 {
			t.Fatalf("%d serial numbers of the deleted device group remain", n)
		}
		equal(t, "the other group's serials", serials("d2"), []string{"BBBBBBBB"})
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.GetGroup(ctx, "u1"); return err }); err != nil {
			t.Fatalf("the user group u1 went with the device group: %v", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.DeleteDeviceGroup(ctx, "u1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteDeviceGroup(a user group): %v, want ErrNotFound", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.DeleteDeviceGroup(ctx, "d1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteDeviceGroup twice: %v, want ErrNotFound", err)
		}
	})
}

// Ten thousand serial numbers are written in a few multi-row statements, and a change of one
// device writes only that difference.
func TestDeviceGroupSerialsInBulk(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		const n = 10_000
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		all := serialNumbers(n + 1)
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertDeviceGroup(ctx, store.DeviceGroup{ID: "d1"}) })
		start := time.Now()
		mustTx(t, s, func(tx store.Tx) error { return tx.SetSerials(ctx, "d1", all[:n]) })
		if took := time.Since(start); took > 5*time.Second && !raceEnabled {
			t.Errorf("storing %d serial numbers took %v", n, took)
		}
		// One device out (the first), one in (the last): two rows written, the others left alone.
		db := rawDB(t, url)
		countRowWrites(t, db, kind)
		mustTx(t, s, func(tx store.Tx) error { return tx.SetSerials(ctx, "d1", all[1:]) })
		got := query(t, s, func(tx store.Tx) ([]string, error) { return tx.ListSerials(ctx, "d1") })
		if len(got) != n || got[0] != all[1] || got[n-1] != all[n] {
			t.Fatalf("%d serial numbers from %s to %s, want %d from %s to %s", len(got), got[0], got[len(got)-1], n, all[1], all[n])
		}
		if w := count(t, db, `SELECT n FROM row_writes`); w != 2 {
			t.Fatalf("changing one device wrote %d rows, want 2 (one deleted, one inserted)", w)
		}
		// Every serial number leaves at once: deleted a chunk at a time.
		mustTx(t, s, func(tx store.Tx) error { return tx.SetSerials(ctx, "d1", nil) })
		if k := count(t, db, `SELECT COUNT(*) FROM group_members WHERE group_id = 'd1'`); k != 0 {
			t.Fatalf("%d serial numbers left after setting none", k)
		}
	})
}

// countRowWrites makes the database count, in row_writes.n, the rows inserted into and deleted
// from group_members from now on.
func countRowWrites(t *testing.T, db *sql.DB, kind store.Kind) {
	t.Helper()
	ddl := []string{`CREATE TABLE row_writes (n INTEGER NOT NULL)`, `INSERT INTO row_writes (n) VALUES (0)`}
	if kind == store.Postgres {
		ddl = append(ddl, `CREATE FUNCTION count_row_write() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN UPDATE row_writes SET n = n + 1; RETURN NULL; END $$`,
			`CREATE TRIGGER count_serial_writes AFTER INSERT OR DELETE ON group_members
			FOR EACH ROW EXECUTE FUNCTION count_row_write()`)
	} else {
		for _, op := range []string{"INSERT", "DELETE"} {
			ddl = append(ddl, `CREATE TRIGGER count_serial_`+op+` AFTER `+op+` ON group_members
				BEGIN UPDATE row_writes SET n = n + 1; END`)
		}
	}
	for _, q := range ddl {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A database an older release wrote (schema 9: device groups in tables of their own) is migrated
// to groups of kind devices: each device group keeps its id, name and serial numbers, and an
// assignment can name it.
func TestMigration_deviceGroupsBecomeGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		insertToken(t, s, token("t1", "l1"))
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertGroup(ctx, store.Group{ID: "u1", Name: "Staff"}) })
		_ = s.Close()
		db := rawDB(t, url)
		for _, q := range append(down10(), // as an older release left the database
			`INSERT INTO device_groups (id, name, description, created_at, updated_at) VALUES ('d1', 'Carts', 'iPad carts', 5, 6)`,
			`INSERT INTO device_group_serials (group_id, serial_number) VALUES ('d1', 'BBBBBBBB'), ('d1', 'AAAAAAAA')`,
		) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s = storetest.OpenURL(t, url)
		g := query(t, s, func(tx store.Tx) (store.DeviceGroup, error) { return tx.GetDeviceGroup(ctx, "d1") })
		if g.Name != "Carts" || g.Description != "iPad carts" {
			t.Fatalf("device group after the migration = %+v", g)
		}
		equal(t, "serials", query(t, s, func(tx store.Tx) ([]string, error) { return tx.ListSerials(ctx, "d1") }), []string{"AAAAAAAA", "BBBBBBBB"})
		if u := query(t, s, func(tx store.Tx) (store.Group, error) { return tx.GetGroup(ctx, "u1") }); u.Kind != store.GroupUsers {
			t.Fatalf("user group after the migration = %+v, want kind %q", u, store.GroupUsers)
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.InsertAssignment(ctx, store.Assignment{ID: "a1", TokenID: "t1", AdamID: "100", PricingParam: "STDQ", GroupID: "d1", Intent: "required"})
		})
	})
}

// down10 is migration 10's Down for a database holding no device group or device license.
func down10() []string {
	return []string{
		`CREATE TABLE device_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE device_group_serials (group_id TEXT NOT NULL, serial_number TEXT NOT NULL, PRIMARY KEY (group_id, serial_number))`,
		`DROP TABLE device_licenses`, `ALTER TABLE user_groups DROP COLUMN kind`, `DELETE FROM vpp_schema_version WHERE version_id = 10`,
	}
}
