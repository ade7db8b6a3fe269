package store_test

import (
	"errors"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

func locUser(id, email, status string) store.LocationUser {
	return store.LocationUser{ClientUserID: id, EmailKey: email, Status: status, InviteCode: "code-" + id}
}

// The location's users: a walk's page upserts the active users and removes the retired ones unless
// the same walk saw them active (Apple keeps retired records beside one active one, in any order);
// a later walk's retirement removes them; a full walk's end prunes what it did not see; lookups go
// by clientUserId or email key; the version is read back and the token's deletion takes them.
func TestLocationUsers_walksLookupsAndVersion(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertToken(ctx, token("t1", "loc-1")) })
		find := func(ids, emails []string) []store.LocationUser {
			return query(t, s, func(tx store.Tx) ([]store.LocationUser, error) { return tx.FindLocationUsers(ctx, "t1", ids, emails) })
		}
		ids := func(us []store.LocationUser) []string {
			out := []string{}
			for _, u := range us {
				out = append(out, u.ClientUserID)
			}
			return out
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ApplyLocationUsers(ctx, "t1", 1, []store.LocationUser{
				locUser("a", "ann@example.com", "Registered"), locUser("b", "bob@example.com", "Associated"), locUser("c", "cy@example.com", "Registered"),
			}, []string{"a"}) // a's retired record on the same page as its active one
		})
		mustTx(t, s, func(tx store.Tx) error { return tx.ApplyLocationUsers(ctx, "t1", 1, nil, []string{"b"}) }) // b's retired record, a later page
		equal(t, "after walk 1", ids(find([]string{"a", "b", "c"}, nil)), []string{"a", "b", "c"})
		mustTx(t, s, func(tx store.Tx) error { return tx.ApplyLocationUsers(ctx, "t1", 2, nil, []string{"b"}) }) // walk 2: b retired
		equal(t, "after walk 2", ids(find([]string{"a", "b", "c"}, nil)), []string{"a", "c"})
		got := find(nil, []string{"cy@example.com", "nobody@example.com"})
		equal(t, "by email", got, []store.LocationUser{{TokenID: "t1", ClientUserID: "c", EmailKey: "cy@example.com", Status: "Registered", InviteCode: "code-c"}})
		equal(t, "by id and email, once", ids(find([]string{"c"}, []string{"cy@example.com", "ann@example.com"})), []string{"c", "a"})
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.ApplyLocationUsers(ctx, "t1", 3, []store.LocationUser{locUser("c", "cy@example.com", "Associated")}, nil); err != nil {
				return err
			}
			return tx.PruneLocationUsers(ctx, "t1", 3) // a full walk that saw only c
		})
		equal(t, "after the full walk 3", ids(find([]string{"a", "b", "c"}, nil)), []string{"c"})

		equal(t, "version at first", query(t, s, func(tx store.Tx) (string, error) { return tx.LocationUsersVersion(ctx, "t1") }), "")
		mustTx(t, s, func(tx store.Tx) error { return tx.SetLocationUsersVersion(ctx, "t1", "v-9") })
		equal(t, "version", query(t, s, func(tx store.Tx) (string, error) { return tx.LocationUsersVersion(ctx, "t1") }), "v-9")
		tk := query(t, s, func(tx store.Tx) (store.Token, error) { return tx.GetToken(ctx, "t1") })
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateToken(ctx, tk) })
		equal(t, "version after UpdateToken", query(t, s, func(tx store.Tx) (string, error) { return tx.LocationUsersVersion(ctx, "t1") }), "v-9")
		if err := s.Tx(ctx, func(tx store.Tx) error { _, err := tx.LocationUsersVersion(ctx, "nope"); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LocationUsersVersion(missing token) = %v, want ErrNotFound", err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.SetLocationUsersVersion(ctx, "nope", "v") }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetLocationUsersVersion(missing token) = %v, want ErrNotFound", err)
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t1") })
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertToken(ctx, token("t1", "loc-1")) })
		equal(t, "after the token's deletion", ids(find([]string{"a", "b", "c"}, nil)), []string{})
	})
}

// ReplaceHolderLicenses replaces the licenses of the named users only.
func TestLicenses_replaceUserLicenses(t *testing.T) {
	eachStore(t, func(t *testing.T, s store.Store) {
		mustTx(t, s, func(tx store.Tx) error { return tx.InsertToken(ctx, token("t1", "loc-1")) })
		lic := func(adam, uid string) store.License {
			return store.License{TokenID: "t1", AdamID: adam, PricingParam: "STDQ", ClientUserID: uid, AssignedAt: at(1)}
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertLicenses(ctx, []store.License{lic("1", "u1"), lic("2", "u1"), lic("1", "u2"), lic("1", "u3")})
		})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceHolderLicenses(ctx, "t1", store.Holders{ClientUserIDs: []string{"u1", "u2"}}, []store.License{lic("3", "u1")})
		})
		got := query(t, s, func(tx store.Tx) ([]store.License, error) { return tx.ListLicenses(ctx, "t1") })
		equal(t, "licenses", got, []store.License{lic("1", "u3"), lic("3", "u1")})
		if err := s.Tx(ctx, func(tx store.Tx) error {
			return tx.ReplaceHolderLicenses(ctx, "t1", store.Holders{ClientUserIDs: []string{"u1"}}, []store.License{{TokenID: "t2", AdamID: "1", ClientUserID: "u1"}})
		}); err == nil {
			t.Error("ReplaceHolderLicenses took another token's license")
		}
	})
}
