package store_test

import (
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// A database an older release wrote (schema 6: a books table) is migrated to assets: its books
// keep their rows and read as books, and apps can be written beside them.
func TestMigration_booksBecomeAssets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		insertToken(t, s, token("t1", "l1"))
		_ = s.Close()
		db := rawDB(t, url)
		for _, q := range []string{ // migrations 10's, 9's, 8's and 7's Down, as an older release left the database
			`DROP TABLE device_licenses`, `ALTER TABLE user_groups DROP COLUMN kind`, `DELETE FROM vpp_schema_version WHERE version_id = 10`,
			`DELETE FROM vpp_schema_version WHERE version_id = 9`,
			`DELETE FROM vpp_schema_version WHERE version_id = 8`,
			`ALTER TABLE assets DROP COLUMN price`, `ALTER TABLE assets DROP COLUMN version`, `ALTER TABLE assets DROP COLUMN platforms`,
			`ALTER TABLE assets DROP COLUMN bundle_id`, `ALTER TABLE assets DROP COLUMN device_assignable`,
			`ALTER TABLE assets DROP COLUMN revocable`, `ALTER TABLE assets DROP COLUMN product_type`, `ALTER TABLE assets RENAME TO books`,
			`DELETE FROM vpp_schema_version WHERE version_id = 7`,
			`INSERT INTO books (token_id, adam_id, pricing_param, title, total, available) VALUES ('t1', '100', 'STDQ', 'Old Book', 4, 4)`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s = storetest.OpenURL(t, url)
		got := query(t, s, func(tx store.Tx) ([]store.Asset, error) {
			return tx.ListAssets(ctx, store.AssetFilter{ProductType: store.ProductBook})
		})
		if len(got) != 1 || got[0].Title != "Old Book" || got[0].ProductType != store.ProductBook || got[0].Total != 4 {
			t.Fatalf("books after the migration = %+v, want the old book", got)
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertAssets(ctx, []store.Asset{{TokenID: "t1", AdamID: "900", PricingParam: "STDQ", ProductType: store.ProductApp, Title: "An App"}})
		})
		if apps := query(t, s, func(tx store.Tx) ([]store.Asset, error) {
			return tx.ListAssets(ctx, store.AssetFilter{ProductType: store.ProductApp})
		}); len(apps) != 1 || apps[0].AdamID != "900" {
			t.Errorf("apps = %+v, want the one written", apps)
		}
	})
}

// A database whose tokens synced before apps were recorded (schema 8) has them synced again, every
// asset read: the migration leaves no assets version and no last sync time.
func TestMigration_tokensSyncAgainForApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		tk := token("t1", "l1")
		tk.AssetsVersion, tk.LastSyncAt = "v1", time.Now()
		insertToken(t, s, tk)
		_ = s.Close()
		db := rawDB(t, url)
		for _, q := range append(down10(), `DELETE FROM vpp_schema_version WHERE version_id = 9`) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE tokens SET assets_version = 'v1', last_sync_at = 1`); err != nil {
			t.Fatal(err)
		}
		s = storetest.OpenURL(t, url)
		got := query(t, s, func(tx store.Tx) (store.Token, error) { return tx.GetToken(ctx, "t1") })
		if got.AssetsVersion != "" || !got.LastSyncAt.IsZero() {
			t.Errorf("after the migration: assets version %q, last sync %v; want none, so that the next read syncs every asset", got.AssetsVersion, got.LastSyncAt)
		}
	})
}
