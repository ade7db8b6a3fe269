package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// at is a fixed time with the store's (millisecond) precision.
func at(sec int64) time.Time { return time.UnixMilli(1_700_000_000_000 + sec*1000 + 123).UTC() }

func mustTx(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Tx(ctx, fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

// query runs read in a transaction and returns what it read, failing the test on an error.
func query[T any](t testing.TB, s store.Store, read func(tx store.Tx) (T, error)) T {
	t.Helper()
	var out T
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		out, err = read(tx)
		return err
	})
	return out
}

// eachStore runs test once per backend (storetest.Each) with a new store.
func eachStore(t *testing.T, test func(t *testing.T, s store.Store)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, kind store.Kind) { test(t, storetest.Open(t, kind)) })
}

// eachSharedDatabase runs test once per backend with two store instances on one new database, as
// two processes would open it; opts configure the second.
func eachSharedDatabase(t *testing.T, test func(t *testing.T, a, b store.Store), opts ...storetest.Option) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		test(t, storetest.OpenURL(t, url), storetest.OpenURL(t, url, opts...))
	})
}

func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func token(id, location string) store.Token {
	return store.Token{
		ID:               id,
		LocationUID:      location,
		DisplayName:      "Token " + id,
		AppleID:          "apple-" + id,
		AccountType:      "education",
		OrganizationName: "Org",
		LocationName:     "Location " + location,
		CountryCode:      "US",
		Platform:         "volumestore",
		WebsiteURL:       "https://example.com",
		ExpiresAt:        at(1000),
		Secret:           "c2VjcmV0LXRva2VuLWZvci0" + id + "-eyJ0b2tlbiI6InNlY3JldCJ9",
		State:            "valid",
		LastSyncStatus:   "none",
		DeliveriesGen:    1, // what a new token reads back
		CreatedAt:        at(1),
		UpdatedAt:        at(2),
	}
}

// insertToken inserts each token, one transaction each.
func insertToken(t testing.TB, s store.Store, tokens ...store.Token) {
	t.Helper()
	for _, tk := range tokens {
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertToken(ctx, tk) })
	}
}

// rawDB opens the database behind url directly, for checks below the store's API.
func rawDB(t testing.TB, url string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", url
	if store.KindOf(url) == store.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func count(t testing.TB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func emails(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%06d@example.com", i)
	}
	return out
}
