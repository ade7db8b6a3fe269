package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func deliveriesFor(n int, state string) []store.Delivery {
	ds := make([]store.Delivery, n)
	for i, e := range emails(n) {
		ds[i] = store.Delivery{Email: e, State: state, UpdatedAt: at(int64(i % 1000))}
	}
	return ds
}

func setupAssignment(t testing.TB, s store.Store) {
	t.Helper()
	mustTx(t, s, func(tx store.Tx) error {
		return errors.Join(
			tx.InsertToken(ctx, token("t1", "l1")),
			tx.InsertGroup(ctx, store.Group{ID: "g1"}),
			tx.InsertAssignment(ctx, store.Assignment{ID: "a1", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g1", Intent: "required"}),
		)
	})
}

func TestManyRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		const n = 100_000
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		setupAssignment(t, s)
		mustTx(t, s, func(tx store.Tx) error {
			// An earlier set, replaced in the same transaction.
			if err := tx.ReplaceDeliveries(ctx, "a1", deliveriesFor(10, "queued")); err != nil {
				return err
			}
			return tx.ReplaceDeliveries(ctx, "a1", deliveriesFor(n, "licensed"))
		})
		db := rawDB(t, url)
		if got := count(t, db, `SELECT COUNT(*) FROM deliveries WHERE assignment_id = 'a1' AND state = 'licensed'`); got != n {
			t.Fatalf("%d deliveries stored, want %d", got, n)
		}
		if !raceEnabled {
			mustTx(t, s, func(tx store.Tx) error {
				got, err := tx.ListDeliveries(ctx, "a1")
				if err != nil {
					return err
				}
				if len(got) != n || got[0].Email != "user000000@example.com" || got[n-1].Email != fmt.Sprintf("user%06d@example.com", n-1) {
					t.Fatalf("got %d deliveries, first %+v", len(got), got[0])
				}
				return nil
			})
		}
		// The other bulk writers span several statements too.
		const m = 5_000
		books := make([]store.Asset, m)
		users := make([]store.VPPUser, m)
		lic := make([]store.License, m)
		for i := range m {
			books[i] = store.Asset{TokenID: "t1", AdamID: fmt.Sprint(i), PricingParam: "STDQ", Title: "Book", Genres: []string{"g"}}
			users[i] = store.VPPUser{TokenID: "t1", ClientUserID: fmt.Sprint("c", i), Email: fmt.Sprint("e", i)}
			lic[i] = store.License{TokenID: "t1", AdamID: "1", PricingParam: "STDQ", ClientUserID: fmt.Sprint("c", i)}
		}
		mustTx(t, s, func(tx store.Tx) error {
			return errors.Join(tx.UpsertAssets(ctx, books), tx.UpsertVPPUsers(ctx, users), tx.UpsertLicenses(ctx, lic),
				tx.ReplaceLicenses(ctx, "t1", lic[:m/2]), tx.SetMembers(ctx, "g1", emails(m)))
		})
		mustTx(t, s, func(tx store.Tx) error {
			bs, err1 := tx.ListAssets(ctx, store.AssetFilter{TokenID: "t1"})
			us, err2 := tx.ListVPPUsers(ctx, "t1")
			ls, err3 := tx.ListLicenses(ctx, "t1")
			ms, err4 := tx.ListMembers(ctx, "g1")
			if len(bs) != m || len(us) != m || len(ls) != m/2 || len(ms) != m {
				t.Fatalf("counts: books %d users %d licenses %d members %d", len(bs), len(us), len(ls), len(ms))
			}
			return errors.Join(err1, err2, err3, err4)
		})
	})
}

func BenchmarkReplaceDeliveries100k(b *testing.B) {
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		b.Run(string(kind), func(b *testing.B) {
			s := storetest.Open(b, kind)
			setupAssignment(b, s)
			ds := deliveriesFor(100_000, "licensed")
			b.ResetTimer()
			for b.Loop() {
				mustTx(b, s, func(tx store.Tx) error { return tx.ReplaceDeliveries(ctx, "a1", ds) })
			}
		})
	}
}

func TestTxRetriesSerializationFailuresOnPostgres(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		s := storetest.Open(t, kind)
		calls := 0
		err := s.Tx(ctx, func(tx store.Tx) error {
			calls++
			if err := tx.InsertGroup(ctx, store.Group{ID: "g1"}); err != nil {
				return err
			}
			if calls < 3 {
				return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
			}
			return nil
		})
		if kind == store.SQLite {
			if err == nil || calls != 1 {
				t.Fatalf("SQLite: calls %d, err %v; want 1 call and the error", calls, err)
			}
			return
		}
		if err != nil || calls != 3 {
			t.Fatalf("PostgreSQL: calls %d, err %v; want 3 calls and success", calls, err)
		}
		mustTx(t, s, func(tx store.Tx) error {
			_, err := tx.GetGroup(ctx, "g1")
			return err
		})
	})
}

func BenchmarkListVPPUsers100k(b *testing.B) {
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		b.Run(string(kind), func(b *testing.B) {
			s := storetest.Open(b, kind)
			insertToken(b, s, token("t1", "l1"))
			users := make([]store.VPPUser, 100_000)
			for i := range users {
				users[i] = store.VPPUser{TokenID: "t1", ClientUserID: fmt.Sprintf("%08d-0000-5000-8000-000000000000", i),
					Email: fmt.Sprintf("student%06d@district.example.org", i), Status: "Registered", InviteCode: fmt.Sprintf("%032x", i)}
			}
			mustTx(b, s, func(tx store.Tx) error { return tx.UpsertVPPUsers(ctx, users) })
			b.ResetTimer()
			for b.Loop() {
				got := query(b, s, func(tx store.Tx) ([]store.VPPUser, error) { return tx.ListVPPUsers(ctx, "t1") })
				if len(got) != len(users) {
					b.Fatalf("%d users", len(got))
				}
			}
		})
	}
}
