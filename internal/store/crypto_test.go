package store_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func newKey(t testing.TB) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// secretFor makes a distinctive token secret, like a .vpptoken file's base64 contents.
func secretFor(tag string) string {
	return "eyJ0b2tlbiI6" + strings.Repeat("S3CR3T"+tag, 8) + "In0="
}

// plaintextLocations lists where secret appears in the stored database: files for SQLite (the
// database, its WAL and shared-memory files), table.column for PostgreSQL (every text column).
func plaintextLocations(t *testing.T, url, secret string) []string {
	t.Helper()
	var found []string
	if store.KindOf(url) == store.SQLite {
		for _, f := range []string{url, url + "-wal", url + "-shm", url + "-journal"} {
			b, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			// The whole secret, or any 24-byte piece of it.
			for i := 0; i+24 <= len(secret); i += 8 {
				if bytes.Contains(b, []byte(secret[i:i+24])) {
					found = append(found, f)
					break
				}
			}
		}
		return found
	}
	db := rawDB(t, url)
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')`)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, [2]string{tbl, col})
	}
	rows.Close()
	if len(cols) < 20 {
		t.Fatalf("only %d text columns found: the scan is broken", len(cols))
	}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE strpos(%s, $1) > 0`, c[0], c[1])
		if count(t, db, q, secret[8:32]) > 0 {
			found = append(found, c[0]+"."+c[1])
		}
	}
	return found
}

func TestEncryptionAtRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		key := newKey(t)
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url, storetest.WithKey(key))
		tk := token("t1", "l1")
		tk.Secret = secretFor("one")
		insertToken(t, s, tk)
		tk.Secret = secretFor("two")
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateToken(ctx, tk) })
		tk2 := token("t2", "l2")
		tk2.Secret = secretFor("three")
		insertToken(t, s, tk2)
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "t1")
			if got.Secret != secretFor("two") {
				t.Errorf("secret does not round-trip")
			}
			all, err2 := tx.ListTokens(ctx)
			if len(all) != 2 || all[1].Secret != secretFor("three") {
				t.Errorf("ListTokens does not open secrets")
			}
			return errors.Join(err, err2)
		})
		for _, sec := range []string{secretFor("one"), secretFor("two"), secretFor("three")} {
			if where := plaintextLocations(t, url, sec); len(where) > 0 {
				t.Fatalf("token plaintext found in %v", where)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, sec := range []string{secretFor("one"), secretFor("two"), secretFor("three")} {
			if where := plaintextLocations(t, url, sec); len(where) > 0 {
				t.Fatalf("token plaintext found in %v after close", where)
			}
		}

		// Reopening needs the same key.
		if _, err := store.Open(ctx, store.Config{URL: url}); !errors.Is(err, store.ErrKeyRequired) {
			t.Fatalf("open without key: %v, want ErrKeyRequired", err)
		}
		if _, err := store.Open(ctx, store.Config{URL: url, EncryptionKey: newKey(t)}); !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("open with another key: %v, want ErrWrongKey", err)
		}
		s = storetest.OpenURL(t, url, storetest.WithKey(key))
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "t1")
			if got.Secret != secretFor("two") {
				t.Errorf("secret does not survive reopen")
			}
			return err
		})
	})
}

func TestEncryptionKeyErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		for _, n := range []int{1, 16, 31, 33, 64} {
			_, err := store.Open(ctx, store.Config{URL: url, EncryptionKey: make([]byte, n)})
			if err == nil || !strings.Contains(err.Error(), "32 bytes") {
				t.Fatalf("%d-byte key: %v", n, err)
			}
		}
		// A database set up with a key requires it even before any token is stored, so that a
		// run that forgot the key cannot store a token in clear.
		key := newKey(t)
		s, err := store.Open(ctx, store.Config{URL: url, EncryptionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if _, err := store.Open(ctx, store.Config{URL: url}); !errors.Is(err, store.ErrKeyRequired) {
			t.Fatalf("open without key: %v, want ErrKeyRequired", err)
		}
		if _, err := store.Open(ctx, store.Config{URL: url, EncryptionKey: newKey(t)}); !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("open with another key: %v, want ErrWrongKey", err)
		}
		for _, err := range []error{store.ErrWrongKey, store.ErrKeyRequired} {
			if strings.Contains(err.Error(), string(key)) {
				t.Fatal("error mentions the key")
			}
		}
	})
}

func TestEncryptionKeyAddedLater(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		var secrets []string
		for i := range 3 {
			tk := token(fmt.Sprintf("t%d", i), fmt.Sprintf("l%d", i))
			tk.Secret = secretFor(fmt.Sprint("clear", i))
			secrets = append(secrets, tk.Secret)
			insertToken(t, s, tk)
		}
		// A token deleted in clear must not linger either.
		gone := token("gone", "l-gone")
		gone.Secret = secretFor("gone")
		secrets = append(secrets, gone.Secret)
		insertToken(t, s, gone)
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "gone") })
		// Without a key the secrets are in clear: this proves the scan finds them.
		if where := plaintextLocations(t, url, secrets[0]); len(where) == 0 {
			t.Fatal("plaintext scan found nothing in an unencrypted database")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		key := newKey(t)
		s = storetest.OpenURL(t, url, storetest.WithKey(key))
		for i, sec := range secrets {
			if kind == store.Postgres && i == len(secrets)-1 {
				continue // a deleted row's old version is not visible to a scan by SELECT
			}
			if where := plaintextLocations(t, url, sec); len(where) > 0 {
				t.Fatalf("token %d plaintext found in %v after the key was added", i, where)
			}
		}
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "t1")
			if got.Secret != secrets[1] {
				t.Errorf("sealed secret does not round-trip")
			}
			return err
		})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Open(ctx, store.Config{URL: url}); !errors.Is(err, store.ErrKeyRequired) {
			t.Fatalf("open without key after sealing: %v, want ErrKeyRequired", err)
		}
		if _, err := store.Open(ctx, store.Config{URL: url, EncryptionKey: newKey(t)}); !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("open with another key after sealing: %v, want ErrWrongKey", err)
		}
	})
}

func TestEncryptionKeyAddedAfterTokensWereDeletedSQLite(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t, store.SQLite)
	s := storetest.OpenURL(t, url)
	tk := token("t1", "l1")
	tk.Secret = secretFor("deleted")
	insertToken(t, s, tk)
	mustTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t1") })
	_ = s.Close()
	if where := plaintextLocations(t, url, tk.Secret); len(where) == 0 {
		t.Fatal("plaintext scan found nothing in an unencrypted database")
	}
	storetest.OpenURL(t, url, storetest.WithKey(newKey(t)))
	if where := plaintextLocations(t, url, tk.Secret); len(where) > 0 {
		t.Fatalf("deleted token's plaintext found in %v after the key was added", where)
	}
}
