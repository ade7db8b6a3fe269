package store

import (
	"path/filepath"
	"testing"
)

// TestHotStatementsServeARefresh checks that the reads of an assignment's refresh use the
// statements prepared at open on SQLite (a query string that drifted from hotQueries would be
// parsed anew at every refresh), inside read and write transactions alike, and still read right.
func TestHotStatementsServeARefresh(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, Config{URL: filepath.Join(t.TempDir(), "engine.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, ok := s.(*db)
	if !ok {
		t.Fatalf("Open returned %T", s)
	}
	if len(d.hot) != len(hotQueries) {
		t.Fatalf("%d hot statements prepared, want %d", len(d.hot), len(hotQueries))
	}
	if err := s.Tx(ctx, func(tx Tx) error {
		if err := tx.InsertToken(ctx, Token{ID: "t1", DisplayName: "Library", AccountType: "business", Secret: "s"}); err != nil {
			return err
		}
		if err := tx.InsertGroup(ctx, Group{ID: "g1", Name: "Readers"}); err != nil {
			return err
		}
		return tx.InsertAssignment(ctx, Assignment{ID: "a1", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g1", Intent: "required"})
	}); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(func(Tx) error) error{
		"View": func(fn func(Tx) error) error { return s.View(ctx, fn) },
		"Tx":   func(fn func(Tx) error) error { return s.Tx(ctx, fn) },
	} {
		before := d.hotUses.Load()
		err := run(func(tx Tx) error {
			a, err := tx.GetAssignment(ctx, "a1")
			if err != nil || a.GroupID != "g1" {
				t.Errorf("%s: GetAssignment = %+v, %v", name, a, err)
			}
			if _, err := tx.ListDeliveries(ctx, "a1"); err != nil {
				t.Errorf("%s: ListDeliveries: %v", name, err)
			}
			tok, err := tx.GetToken(ctx, "t1")
			if err != nil || tok.DisplayName != "Library" {
				t.Errorf("%s: GetToken = %+v, %v", name, tok, err)
			}
			if _, err := tx.GetToken(ctx, "missing"); err == nil {
				t.Errorf("%s: GetToken of a missing token succeeded", name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.hotUses.Load() - before; got != 4 {
			t.Errorf("%s: the refresh's reads used prepared statements %d times, want 4", name, got)
		}
	}
}
