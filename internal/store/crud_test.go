package store_test

import (
	"errors"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		b, a := token("tok-b", "loc-b"), token("tok-a", "loc-a")
		insertToken(t, s, b)
		insertToken(t, s, a)
		// Two tokens whose location is not known yet do not collide.
		insertToken(t, s, token("tok-c", ""))
		insertToken(t, s, token("tok-d", ""))

		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "tok-a")
			if err != nil {
				return err
			}
			equal(t, "GetToken", got, a)
			got, err = tx.GetTokenByLocation(ctx, "loc-b")
			if err != nil {
				return err
			}
			equal(t, "GetTokenByLocation", got, b)
			if _, err := tx.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetToken(missing) = %v, want ErrNotFound", err)
			}
			if _, err := tx.GetTokenByLocation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetTokenByLocation(missing) = %v, want ErrNotFound", err)
			}
			if _, err := tx.GetTokenByLocation(ctx, ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetTokenByLocation(\"\") = %v, want ErrNotFound", err)
			}
			list, err := tx.ListTokens(ctx)
			if err != nil {
				return err
			}
			var ids []string
			for _, tk := range list {
				ids = append(ids, tk.ID)
			}
			equal(t, "ListTokens order", ids, []string{"tok-a", "tok-b", "tok-c", "tok-d"})
			return nil
		})

		// A second token for the same location, or the same id, conflicts.
		err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertToken(ctx, token("tok-x", "loc-a")) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate location: %v, want ErrConflict", err)
		}
		err = s.Tx(ctx, func(tx store.Tx) error { return tx.InsertToken(ctx, token("tok-a", "loc-x")) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: %v, want ErrConflict", err)
		}

		// Update changes every field but CreatedAt.
		upd := a
		upd.State, upd.StateDetail = "expired", "9625"
		upd.LastSyncAt, upd.LastSyncStatus, upd.LastSyncError = at(50), "failed", "boom"
		upd.UsersVersion, upd.AssignVersion, upd.AssetsVersion = "u1", "a1", "s1"
		upd.Secret = "renewed-secret"
		upd.CreatedAt = at(99)
		upd.UpdatedAt = at(60)
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateToken(ctx, upd) })
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "tok-a")
			want := upd
			want.CreatedAt = a.CreatedAt
			equal(t, "after UpdateToken", got, want)
			return err
		})
		// Moving a token onto another's location conflicts; updating a missing one is not found.
		moved := upd
		moved.LocationUID = "loc-b"
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateToken(ctx, moved) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpdateToken onto a taken location: %v, want ErrConflict", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateToken(ctx, token("nope", "")) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateToken(missing): %v, want ErrNotFound", err)
		}
		// Zero times are filled on insert.
		z := token("tok-z", "loc-z")
		z.CreatedAt, z.UpdatedAt = store.Token{}.CreatedAt, store.Token{}.UpdatedAt
		insertToken(t, s, z)
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetToken(ctx, "tok-z")
			if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
				t.Errorf("zero CreatedAt/UpdatedAt not filled: %+v", got)
			}
			return err
		})
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertToken(ctx, store.Token{}) }); err == nil {
			t.Fatal("InsertToken without an ID succeeded")
		}
	})
}

func TestBooks(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		books := []store.Asset{
			{TokenID: "t1", AdamID: "200", PricingParam: "STDQ", Title: "The Go Programming Language", Author: "Donovan", Genres: []string{"Computers", "Programming"}, Language: "en", CoverURL: "https://c/1", Total: 10, Assigned: 2, Available: 8, MetadataAt: at(5), SyncedAt: at(6)},
			{TokenID: "t1", AdamID: "100", PricingParam: "STDQ", Title: "100%_Pure Fun", Total: 3, Available: 3, SyncedAt: at(6)},
			{TokenID: "t1", AdamID: "100", PricingParam: "PLUS", Title: "Plus edition", Total: 1, Available: 0, Assigned: 1},
			{TokenID: "t2", AdamID: "100", PricingParam: "STDQ", Title: "THE GO WAY", Total: 5, Available: 5},
			{TokenID: "t2", AdamID: "300", PricingParam: "STDQ", Title: "100 percent pure"},
			{TokenID: "t2", AdamID: "900", PricingParam: "STDQ", ProductType: store.ProductApp, Revocable: true, DeviceAssignable: true,
				Title: "Go Playground", Author: "Gopher Inc.", Platforms: []string{"iOS", "macOS"}, BundleID: "dev.go.playground",
				Version: "1.2", Price: "$0.99", Total: 7, Assigned: 4, Available: 3},
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.UpsertAssets(ctx, books) })
		books[0].ProductType = store.ProductBook // an asset written without a product type is a book
		app := books[len(books)-1]
		books = books[:len(books)-1]

		keys := func(bs []store.Asset) []string {
			var out []string
			for _, b := range bs {
				out = append(out, b.TokenID+":"+b.AdamID+"/"+b.PricingParam)
			}
			return out
		}
		list := func(f store.AssetFilter) []store.Asset {
			return query(t, s, func(tx store.Tx) ([]store.Asset, error) { return tx.ListAssets(ctx, f) })
		}
		equal(t, "all", keys(list(store.AssetFilter{})), []string{"t1:100/PLUS", "t1:100/STDQ", "t1:200/STDQ", "t2:100/STDQ", "t2:300/STDQ", "t2:900/STDQ"})
		equal(t, "books", keys(list(store.AssetFilter{ProductType: store.ProductBook})), []string{"t1:100/PLUS", "t1:100/STDQ", "t1:200/STDQ", "t2:100/STDQ", "t2:300/STDQ"})
		equal(t, "apps", list(store.AssetFilter{ProductType: store.ProductApp}), []store.Asset{app})
		equal(t, "title ci, books", keys(list(store.AssetFilter{TitleContains: "gO", ProductType: store.ProductBook})), []string{"t1:200/STDQ", "t2:100/STDQ"})
		equal(t, "token", keys(list(store.AssetFilter{TokenID: "t2"})), []string{"t2:100/STDQ", "t2:300/STDQ", "t2:900/STDQ"})
		equal(t, "adam", keys(list(store.AssetFilter{AdamID: "100"})), []string{"t1:100/PLUS", "t1:100/STDQ", "t2:100/STDQ"})
		equal(t, "title ci", keys(list(store.AssetFilter{TitleContains: "gO"})), []string{"t1:200/STDQ", "t2:100/STDQ", "t2:900/STDQ"})
		equal(t, "title %", keys(list(store.AssetFilter{TitleContains: "100%"})), []string{"t1:100/STDQ"})
		equal(t, "title _", keys(list(store.AssetFilter{TitleContains: "%_p"})), []string{"t1:100/STDQ"})
		equal(t, "min available", keys(list(store.AssetFilter{MinAvailable: 4})), []string{"t1:200/STDQ", "t2:100/STDQ"})
		equal(t, "combined", keys(list(store.AssetFilter{TokenID: "t1", TitleContains: "e", MinAvailable: 1})), []string{"t1:100/STDQ", "t1:200/STDQ"})

		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetAsset(ctx, "t1", "200", "STDQ")
			equal(t, "GetBook", got, books[0])
			if _, err := tx.GetAsset(ctx, "t1", "200", "PLUS"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetBook(missing) = %v", err)
			}
			return err
		})

		// Upsert replaces, including clearing genres; duplicates in one call keep the last.
		changed := books[0]
		changed.Available, changed.Assigned, changed.Genres = 1, 9, nil
		first := changed
		first.Title = "overwritten below"
		mustTx(t, s, func(tx store.Tx) error { return tx.UpsertAssets(ctx, []store.Asset{first, changed}) })
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetAsset(ctx, "t1", "200", "STDQ")
			equal(t, "after upsert", got, changed)
			return err
		})
		// A book of a missing token is refused.
		err := s.Tx(ctx, func(tx store.Tx) error {
			return tx.UpsertAssets(ctx, []store.Asset{{TokenID: "nope", AdamID: "1", PricingParam: "STDQ"}})
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("book of missing token: %v, want ErrNotFound", err)
		}

		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteAssetsExcept(ctx, "t1", []string{"100/STDQ", "999/STDQ"}) })
		equal(t, "after DeleteAssetsExcept", keys(list(store.AssetFilter{})), []string{"t1:100/STDQ", "t2:100/STDQ", "t2:300/STDQ", "t2:900/STDQ"})
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteAssetsExcept(ctx, "t2", nil) })
		equal(t, "after DeleteAssetsExcept(nil)", keys(list(store.AssetFilter{})), []string{"t1:100/STDQ"})
	})
}

func TestVPPUsers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"))
		users := []store.VPPUser{
			{TokenID: "t1", ClientUserID: "c2", Email: "zed@example.com", Status: "Registered", InviteCode: "inv", InvitationURL: "https://buy.itunes.apple.com/x?inviteCode=inv", IDHash: "h2", UpdatedAt: at(1)},
			{TokenID: "t1", ClientUserID: "c1", Email: "amy@example.com", Managed: true, Status: "Associated", IDHash: "h1", UpdatedAt: at(2)},
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.UpsertVPPUsers(ctx, users) })
		users[0].Status = "Associated"
		users[0].UpdatedAt = at(3)
		mustTx(t, s, func(tx store.Tx) error { return tx.UpsertVPPUsers(ctx, users[:1]) })
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.ListVPPUsers(ctx, "t1")
			equal(t, "ListVPPUsers", got, []store.VPPUser{users[1], users[0]})
			none, err2 := tx.ListVPPUsers(ctx, "t2")
			if len(none) != 0 || err2 != nil {
				t.Errorf("ListVPPUsers(other) = %v, %v", none, err2)
			}
			return err
		})
	})
}

func TestGroupsMembersAssignmentsDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		g1 := store.Group{ID: "g1", Kind: store.GroupUsers, Name: "Teachers", Description: "all teachers", Managed: true, CreatedAt: at(1), UpdatedAt: at(1)}
		g2 := store.Group{ID: "g2", Kind: store.GroupUsers, Name: "Students", CreatedAt: at(2), UpdatedAt: at(2)}
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.InsertGroup(ctx, g2); err != nil {
				return err
			}
			return tx.InsertGroup(ctx, g1)
		})
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertGroup(ctx, g1) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate group: %v", err)
		}
		g1.Name, g1.UpdatedAt = "Staff", at(9)
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateGroup(ctx, g1) })
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateGroup(ctx, store.Group{ID: "nope"}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateGroup(missing): %v", err)
		}
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetGroup(ctx, "g1")
			equal(t, "GetGroup", got, g1)
			all, err2 := tx.ListGroups(ctx)
			equal(t, "ListGroups", all, []store.Group{g1, g2})
			if _, err := tx.GetGroup(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetGroup(missing) = %v", err)
			}
			return errors.Join(err, err2)
		})

		// Members: replaced as a set, listed by email.
		members := func(g string) []string {
			return query(t, s, func(tx store.Tx) ([]string, error) { return tx.ListMembers(ctx, g) })
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.SetMembers(ctx, "g1", []string{"c@x", "a@x", "b@x", "a@x"}) })
		equal(t, "members", members("g1"), []string{"a@x", "b@x", "c@x"})
		mustTx(t, s, func(tx store.Tx) error { return tx.SetMembers(ctx, "g1", []string{"d@x", "b@x"}) })
		equal(t, "members replaced", members("g1"), []string{"b@x", "d@x"})
		mustTx(t, s, func(tx store.Tx) error { return tx.SetMembers(ctx, "g2", []string{"s@x"}) })
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.SetMembers(ctx, "nope", []string{"a@x"}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetMembers(missing group): %v", err)
		}

		// Assignments.
		a1 := store.Assignment{ID: "a1", TokenID: "t1", AdamID: "100", PricingParam: "STDQ", GroupID: "g1", Intent: "required", CreatedAt: at(1), UpdatedAt: at(1)}
		a2 := store.Assignment{ID: "a2", TokenID: "t1", AdamID: "100", PricingParam: "STDQ", GroupID: "g2", Intent: "available", AllowOversubscription: true, CreatedAt: at(2), UpdatedAt: at(2)}
		a3 := store.Assignment{ID: "a3", TokenID: "t2", AdamID: "050", PricingParam: "STDQ", GroupID: "g1", Intent: "required", CreatedAt: at(3), UpdatedAt: at(3)}
		mustTx(t, s, func(tx store.Tx) error {
			for _, a := range []store.Assignment{a3, a2, a1} {
				if err := tx.InsertAssignment(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		dup := a1
		dup.ID = "a1-dup"
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertAssignment(ctx, dup) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate book+group assignment: %v, want ErrConflict", err)
		}
		orphan := store.Assignment{ID: "a9", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "nope"}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.InsertAssignment(ctx, orphan) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("assignment to a missing group: %v, want ErrNotFound", err)
		}
		a1.Intent, a1.AllowOversubscription, a1.UpdatedAt = "available", true, at(10)
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateAssignment(ctx, a1) })
		onto := a1
		onto.GroupID = "g2"
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateAssignment(ctx, onto) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpdateAssignment onto a taken book+group: %v, want ErrConflict", err)
		}
		ids := func(as []store.Assignment) []string {
			var out []string
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.GetAssignment(ctx, "a1")
			equal(t, "GetAssignment", got, a1)
			got, err2 := tx.GetAssignmentByBookGroup(ctx, "t1", "100", "STDQ", "g2")
			equal(t, "GetAssignmentByBookGroup", got, a2)
			if _, err := tx.GetAssignmentByBookGroup(ctx, "t2", "100", "STDQ", "g2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetAssignmentByBookGroup(missing) = %v", err)
			}
			all, err3 := tx.ListAssignments(ctx, "")
			equal(t, "ListAssignments(all)", ids(all), []string{"a1", "a2", "a3"})
			t1, err4 := tx.ListAssignments(ctx, "t1")
			equal(t, "ListAssignments(t1)", ids(t1), []string{"a1", "a2"})
			byG, err5 := tx.ListAssignmentsByGroup(ctx, "g1")
			equal(t, "ListAssignmentsByGroup", ids(byG), []string{"a1", "a3"})
			return errors.Join(err, err2, err3, err4, err5)
		})

		// Deliveries: replaced as a set, listed by email.
		deliveries := func(a string) []store.Delivery {
			return query(t, s, func(tx store.Tx) ([]store.Delivery, error) { return tx.ListDeliveries(ctx, a) })
		}
		ds := []store.Delivery{
			{Email: "d@x", State: "pending", Detail: "invitation sent", UpdatedAt: at(1)},
			{AssignmentID: "a1", Email: "b@x", State: "failed", ErrorNumber: 9610, Detail: "no licenses", UpdatedAt: at(2)},
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.ReplaceDeliveries(ctx, "a1", ds) })
		ds[0].AssignmentID = "a1"
		equal(t, "deliveries", deliveries("a1"), []store.Delivery{ds[1], ds[0]})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceDeliveries(ctx, "a1", []store.Delivery{{Email: "b@x", State: "licensed", UpdatedAt: at(3)}})
		})
		equal(t, "deliveries replaced", deliveries("a1"), []store.Delivery{{AssignmentID: "a1", Email: "b@x", State: "licensed", UpdatedAt: at(3)}})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceDeliveries(ctx, "a2", []store.Delivery{{Email: "s@x", State: "queued", UpdatedAt: at(3)}})
		})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceDeliveries(ctx, "a3", []store.Delivery{{Email: "b@x", State: "queued", UpdatedAt: at(3)}})
		})
		if err := s.Tx(ctx, func(tx store.Tx) error {
			return tx.ReplaceDeliveries(ctx, "nope", []store.Delivery{{Email: "b@x"}})
		}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deliveries of a missing assignment: %v", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			return tx.ReplaceDeliveries(ctx, "a1", []store.Delivery{{AssignmentID: "a2", Email: "b@x"}})
		}); err == nil {
			t.Fatal("ReplaceDeliveries accepted a delivery of another assignment")
		}

		// DeleteAssignment takes its deliveries.
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteAssignment(ctx, "a2") })
		equal(t, "deliveries of deleted assignment", len(deliveries("a2")), 0)
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.DeleteAssignment(ctx, "a2") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteAssignment twice: %v", err)
		}

		// DeleteGroup takes members, assignments and their deliveries; the other group stays.
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteGroup(ctx, "g1") })
		equal(t, "members of deleted group", len(members("g1")), 0)
		equal(t, "deliveries a1", len(deliveries("a1")), 0)
		equal(t, "deliveries a3", len(deliveries("a3")), 0)
		equal(t, "other group's members", members("g2"), []string{"s@x"})
		mustTx(t, s, func(tx store.Tx) error {
			all, err := tx.ListAssignments(ctx, "")
			equal(t, "assignments after DeleteGroup", len(all), 0)
			if _, err := tx.GetGroup(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleted group still there: %v", err)
			}
			return err
		})
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.DeleteGroup(ctx, "g1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteGroup twice: %v", err)
		}
	})
}

func TestLicenses(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		l := func(tok, adam, user string, sec int64) store.License {
			return store.License{TokenID: tok, AdamID: adam, PricingParam: "STDQ", ClientUserID: user, AssignedAt: at(sec)}
		}
		list := func(tok string) []store.License {
			return query(t, s, func(tx store.Tx) ([]store.License, error) { return tx.ListLicenses(ctx, tok) })
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertLicenses(ctx, []store.License{l("t1", "2", "u1", 1), l("t1", "1", "u2", 2), l("t1", "1", "u1", 3), l("t2", "1", "u1", 4)})
		})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertLicenses(ctx, []store.License{l("t1", "1", "u1", 9), l("t1", "1", "u1", 9)})
		})
		equal(t, "licenses", list("t1"), []store.License{l("t1", "1", "u1", 9), l("t1", "1", "u2", 2), l("t1", "2", "u1", 1)})

		repl := l("t1", "3", "u3", 5)
		repl.TokenID = ""
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceLicenses(ctx, "t1", []store.License{l("t1", "1", "u2", 2), repl})
		})
		equal(t, "replaced", list("t1"), []store.License{l("t1", "1", "u2", 2), l("t1", "3", "u3", 5)})
		equal(t, "other token untouched", list("t2"), []store.License{l("t2", "1", "u1", 4)})
		mustTx(t, s, func(tx store.Tx) error { return tx.ReplaceLicenses(ctx, "t1", nil) })
		equal(t, "emptied", len(list("t1")), 0)
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.ReplaceLicenses(ctx, "t1", []store.License{l("t2", "1", "u", 1)}) }); err == nil {
			t.Fatal("ReplaceLicenses accepted another token's license")
		}
	})
}

func TestJournalSyncRunsAudit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		var e1, e2, e3 store.JournalEntry
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			e1 = store.JournalEntry{TokenID: "t1", Operation: "create_users", Payload: []byte(`{"users":[1,2]}`), State: "prepared", CreatedAt: at(1), UpdatedAt: at(1)}
			if e1.ID, err = tx.InsertJournal(ctx, e1); err != nil {
				return err
			}
			e2 = store.JournalEntry{TokenID: "t1", Operation: "associate", Payload: []byte{0, 1, 2, 255}, State: "sent", EventID: "ev", CreatedAt: at(2), UpdatedAt: at(2)}
			if e2.ID, err = tx.InsertJournal(ctx, e2); err != nil {
				return err
			}
			e3 = store.JournalEntry{TokenID: "t2", Operation: "associate", Payload: []byte(`{"assets":[]}`), State: "prepared", CreatedAt: at(3), UpdatedAt: at(3)}
			e3.ID, err = tx.InsertJournal(ctx, e3)
			return err
		})
		if e1.ID <= 0 || e2.ID <= e1.ID || e3.ID <= e2.ID {
			t.Fatalf("journal ids not increasing: %d %d %d", e1.ID, e2.ID, e3.ID)
		}
		open := func(tok string) []store.JournalEntry {
			return query(t, s, func(tx store.Tx) ([]store.JournalEntry, error) { return tx.ListOpenJournal(ctx, tok) })
		}
		equal(t, "open journal", open("t1"), []store.JournalEntry{e1, e2})
		e1.State, e1.EventID, e1.UpdatedAt = "settled", "ev1", at(4)
		e2.State, e2.Error, e2.UpdatedAt = "failed", "9610", at(4)
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.UpdateJournal(ctx, e1); err != nil {
				return err
			}
			return tx.UpdateJournal(ctx, e2)
		})
		equal(t, "open journal after settle", len(open("t1")), 0)
		// An update that carries no payload (as the sender's does) keeps the one inserted.
		e3.State, e3.UpdatedAt = "sent", at(5)
		sent := e3
		sent.Payload, sent.Operation = nil, ""
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateJournal(ctx, sent) })
		equal(t, "other token's journal", open("t2"), []store.JournalEntry{e3})
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateJournal(ctx, store.JournalEntry{ID: 999}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateJournal(missing): %v", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.InsertJournal(ctx, store.JournalEntry{TokenID: "nope", State: "prepared"})
			return err
		}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("journal entry of a missing token: %v", err)
		}

		// Sync runs.
		r := store.SyncRun{TokenID: "t1", Kind: "full", Status: "in_progress", StartedAt: at(1)}
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			r.ID, err = tx.InsertSyncRun(ctx, r)
			return err
		})
		r.Status, r.FinishedAt, r.Books, r.Users, r.Licenses, r.Error = "completed", at(2), 3, 4, 5, ""
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateSyncRun(ctx, r) })
		r2 := store.SyncRun{TokenID: "t2", Kind: "incremental", Status: "failed", StartedAt: at(3), FinishedAt: at(4), Error: "9625"}
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			r2.ID, err = tx.InsertSyncRun(ctx, r2)
			return err
		})
		mustTx(t, s, func(tx store.Tx) error {
			all, err := tx.ListSyncRuns(ctx, "")
			equal(t, "sync runs", all, []store.SyncRun{r, r2})
			one, err2 := tx.ListSyncRuns(ctx, "t2")
			equal(t, "sync runs of t2", one, []store.SyncRun{r2})
			return errors.Join(err, err2)
		})
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateSyncRun(ctx, store.SyncRun{ID: 999}) }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateSyncRun(missing): %v", err)
		}

		// Audit.
		a1 := store.AuditEntry{At: at(1), TokenID: "t2", Operation: "claim", Count: 1}
		a2 := store.AuditEntry{At: at(2), TokenID: "t1", Operation: "associate", EventID: "ev", Count: 1000, Detail: "book 100"}
		mustTx(t, s, func(tx store.Tx) error { return errors.Join(tx.InsertAudit(ctx, a1), tx.InsertAudit(ctx, a2)) })
		mustTx(t, s, func(tx store.Tx) error {
			all, err := tx.ListAudit(ctx, "")
			if len(all) != 2 || all[0].ID >= all[1].ID {
				t.Fatalf("ListAudit = %+v", all)
			}
			a1.ID, a2.ID = all[0].ID, all[1].ID
			equal(t, "audit", all, []store.AuditEntry{a1, a2})
			one, err2 := tx.ListAudit(ctx, "t1")
			equal(t, "audit of t1", one, []store.AuditEntry{a2})
			return errors.Join(err, err2)
		})
	})
}

func TestDeleteTokenCascade(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		fill := func(tok, grp string) {
			insertToken(t, s, token(tok, "loc-"+tok))
			mustTx(t, s, func(tx store.Tx) error {
				return errors.Join(
					tx.UpsertAssets(ctx, []store.Asset{{TokenID: tok, AdamID: "1", PricingParam: "STDQ"}}),
					tx.UpsertVPPUsers(ctx, []store.VPPUser{{TokenID: tok, ClientUserID: "c", Email: "a@x"}}),
					tx.UpsertLicenses(ctx, []store.License{{TokenID: tok, AdamID: "1", PricingParam: "STDQ", ClientUserID: "c"}}),
					tx.InsertGroup(ctx, store.Group{ID: grp}),
					tx.SetMembers(ctx, grp, []string{"a@x"}),
					tx.InsertAssignment(ctx, store.Assignment{ID: "as-" + tok, TokenID: tok, AdamID: "1", PricingParam: "STDQ", GroupID: grp}),
					tx.ReplaceDeliveries(ctx, "as-"+tok, []store.Delivery{{Email: "a@x", State: "licensed"}}),
					func() error {
						_, err := tx.InsertJournal(ctx, store.JournalEntry{TokenID: tok, State: "prepared"})
						return err
					}(),
					func() error { _, err := tx.InsertSyncRun(ctx, store.SyncRun{TokenID: tok}); return err }(),
					tx.InsertAudit(ctx, store.AuditEntry{TokenID: tok, Operation: "claim"}),
				)
			})
		}
		fill("t1", "g1")
		fill("t2", "g2")
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t1") })
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t1") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteToken twice: %v", err)
		}
		db := rawDB(t, url)
		for table, want := range map[string][2]int{
			// rows of t1, rows of t2
			"assets":      {0, 1},
			"vpp_users":   {0, 1},
			"licenses":    {0, 1},
			"assignments": {0, 1},
			"journal":     {0, 1},
			"sync_runs":   {1, 1}, // history stays
			"audit":       {1, 1},
		} {
			for i, tok := range []string{"t1", "t2"} {
				if got := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE token_id = $1`, tok); got != want[i] {
					t.Errorf("%s rows of %s: %d, want %d", table, tok, got, want[i])
				}
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM deliveries`); got != 1 {
			t.Errorf("deliveries left: %d, want 1 (t2's)", got)
		}
		// Groups are not per token: they and their members stay.
		if got := count(t, db, `SELECT COUNT(*) FROM group_members`); got != 2 {
			t.Errorf("group members: %d, want 2", got)
		}
	})
}

func TestTxRollback(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s := storetest.OpenURL(t, url)
		insertToken(t, s, token("t1", "l1"))
		boom := errors.New("boom")
		err := s.Tx(ctx, func(tx store.Tx) error {
			if err := tx.InsertToken(ctx, token("t2", "l2")); err != nil {
				return err
			}
			if err := tx.UpsertAssets(ctx, []store.Asset{{TokenID: "t1", AdamID: "1", PricingParam: "STDQ"}}); err != nil {
				return err
			}
			if err := tx.InsertGroup(ctx, store.Group{ID: "g"}); err != nil {
				return err
			}
			if _, err := tx.InsertJournal(ctx, store.JournalEntry{TokenID: "t1", State: "prepared"}); err != nil {
				return err
			}
			if err := tx.DeleteToken(ctx, "t1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx = %v, want the callback's error", err)
		}
		// A panic rolls back too, and propagates.
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic did not propagate")
				}
			}()
			_ = s.Tx(ctx, func(tx store.Tx) error {
				if err := tx.InsertGroup(ctx, store.Group{ID: "g-panic"}); err != nil {
					return err
				}
				panic("oops")
			})
		}()
		db := rawDB(t, url)
		for q, want := range map[string]int{
			`SELECT COUNT(*) FROM tokens`:      1,
			`SELECT COUNT(*) FROM assets`:      0,
			`SELECT COUNT(*) FROM user_groups`: 0,
			`SELECT COUNT(*) FROM journal`:     0,
		} {
			if got := count(t, db, q); got != want {
				t.Errorf("%s = %d, want %d", q, got, want)
			}
		}
		mustTx(t, s, func(tx store.Tx) error {
			_, err := tx.GetToken(ctx, "t1")
			return err
		})
		// The id sequence survives the rollback.
		mustTx(t, s, func(tx store.Tx) error {
			_, err := tx.InsertJournal(ctx, store.JournalEntry{TokenID: "t1", State: "prepared"})
			return err
		})
	})
}

// TestView checks the read-only transaction Terraform's parallel refreshes use: it reads the
// committed records, is not held up by a writer (on SQLite, where writers queue for one lock),
// sees the writer's changes only once committed, and PostgreSQL refuses writes in it.
func TestView(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		s := storetest.Open(t, kind)
		insertToken(t, s, token("t1", "l1"))

		writing, release := make(chan struct{}), make(chan struct{})
		writerDone := make(chan error, 1)
		go func() {
			writerDone <- s.Tx(ctx, func(tx store.Tx) error {
				if err := tx.InsertToken(ctx, token("t2", "l2")); err != nil {
					return err
				}
				close(writing)
				<-release
				return nil
			})
		}()
		<-writing
		// The writer holds the write lock until released: a View that waited for it would
		// never return, and the test's deadline would say so.
		var names []string
		err := s.View(ctx, func(tx store.Tx) error {
			ts, err := tx.ListTokens(ctx)
			for _, t := range ts {
				names = append(names, t.ID)
			}
			return err
		})
		close(release)
		if err != nil {
			t.Fatalf("View while a writer is open: %v", err)
		}
		if len(names) != 1 || names[0] != "t1" {
			t.Errorf("View while a writer is open read tokens %v, want only the committed t1", names)
		}
		if err := <-writerDone; err != nil {
			t.Fatalf("writer: %v", err)
		}
		names = nil
		if err := s.View(ctx, func(tx store.Tx) error {
			ts, err := tx.ListTokens(ctx)
			for _, t := range ts {
				names = append(names, t.ID)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(names) != 2 {
			t.Errorf("View after the commit read tokens %v, want t1 and t2", names)
		}

		if kind == store.Postgres {
			err := s.View(ctx, func(tx store.Tx) error { return tx.InsertGroup(ctx, store.Group{ID: "g"}) })
			if err == nil {
				t.Error("a write inside View succeeded on PostgreSQL; want it refused")
			}
		}
	})
}
