package store_test

import (
	"errors"
	"sort"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// rule is an engine-like settled rule: licensed, from confirmed users.
var rule = store.SettledRule{State: "licensed", Confirmed: []string{"Registered", "Associated"}}

// openWorkFixture is a token t1 with books 1 and 2, group g1 (a@x … e@x) assigned both books (a1,
// a2) and group g2 (a@x, f@x) assigned book 1 (a3); token t2 has its own assignment of g1 (a4).
func openWorkFixture(t *testing.T, s store.Store) {
	t.Helper()
	insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
	mustTx(t, s, func(tx store.Tx) error {
		for g, ms := range map[string][]string{"g1": {"a@x", "b@x", "c@x", "d@x", "e@x"}, "g2": {"a@x", "f@x"}} {
			if err := tx.InsertGroup(ctx, store.Group{ID: g, Name: g}); err != nil {
				return err
			}
			if err := tx.SetMembers(ctx, g, ms); err != nil {
				return err
			}
		}
		for id, a := range map[string][3]string{"a1": {"t1", "1", "g1"}, "a2": {"t1", "2", "g1"}, "a3": {"t1", "1", "g2"}, "a4": {"t2", "1", "g1"}} {
			if err := tx.InsertAssignment(ctx, store.Assignment{ID: id, TokenID: a[0], AdamID: a[1], PricingParam: "STDQ", GroupID: a[2], Intent: "required"}); err != nil {
				return err
			}
		}
		// c@x has a confirmed record and an unconfirmed one; d@x only an unconfirmed one; e@x none.
		if err := tx.UpsertVPPUsers(ctx, []store.VPPUser{
			{TokenID: "t1", ClientUserID: "ua", Email: "a@x", Status: "Registered"},
			{TokenID: "t1", ClientUserID: "ub", Email: "b@x", Status: "Associated"},
			{TokenID: "t1", ClientUserID: "uc1", Email: "c@x", Status: "Registered"},
			{TokenID: "t1", ClientUserID: "uc2", Email: "c@x", Status: "Retired"},
			{TokenID: "t1", ClientUserID: "ud", Email: "d@x"},
			{TokenID: "t1", ClientUserID: "uf", Email: "f@x", Status: "Registered"},
			{TokenID: "t2", ClientUserID: "xa", Email: "a@x", Status: "Registered"},
		}); err != nil {
			return err
		}
		licensed := func(e string) store.Delivery { return store.Delivery{Email: e, State: "licensed"} }
		for a, ds := range map[string][]store.Delivery{
			"a1": {licensed("a@x"), licensed("b@x"), licensed("c@x"), licensed("d@x"), {Email: "e@x", State: "queued"}},
			"a2": {licensed("a@x"), {Email: "b@x", State: "failed", ErrorNumber: 9610}, licensed("c@x"), licensed("d@x"), {Email: "e@x", State: "licensed", Detail: "odd"}},
			"a3": {licensed("a@x"), {Email: "f@x", State: "pending"}},
			"a4": {{Email: "a@x", State: "queued"}},
		} {
			if err := tx.ReplaceDeliveries(ctx, a, ds); err != nil {
				return err
			}
		}
		return nil
	})
}

func keys(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.AssignmentID + " " + d.Email
	}
	return out
}

// The open deliveries are those the rule does not settle: another state, an error number, a
// detail, or a member with an unconfirmed user record; for the token's assignments, or one book's.
func TestListOpenDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		token := query(t, s, func(tx store.Tx) ([]store.Delivery, error) { return tx.ListOpenDeliveries(ctx, "t1", "", "", rule) })
		equal(t, "token t1", keys(token), []string{"a1 c@x", "a1 d@x", "a1 e@x", "a2 b@x", "a2 c@x", "a2 d@x", "a2 e@x", "a3 f@x"})
		if d := token[3]; d.State != "failed" || d.ErrorNumber != 9610 {
			t.Errorf("a2 b@x read as %+v", d)
		}
		book := query(t, s, func(tx store.Tx) ([]store.Delivery, error) {
			return tx.ListOpenDeliveries(ctx, "t1", "1", "STDQ", rule)
		})
		equal(t, "book 1 of t1", keys(book), []string{"a1 c@x", "a1 d@x", "a1 e@x", "a3 f@x"})
		other := query(t, s, func(tx store.Tx) ([]store.Delivery, error) { return tx.ListOpenDeliveries(ctx, "t2", "", "", rule) })
		equal(t, "token t2", keys(other), []string{"a4 a@x"})
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.ListOpenDeliveries(ctx, "t1", "", "", store.SettledRule{State: "licensed"})
			return err
		})
		if err == nil {
			t.Error("a rule without confirmed statuses was accepted")
		}
	})
}

// An assignment's deliveries are counted (none: 0), and those in one state listed by email.
func TestCountAndStateDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		mustTx(t, s, func(tx store.Tx) error {
			return tx.InsertAssignment(ctx, store.Assignment{ID: "a5", TokenID: "t1", AdamID: "3", PricingParam: "STDQ", GroupID: "g2", Intent: "required"})
		})
		counts := map[string]int{}
		for _, a := range []string{"a1", "a2", "a3", "a4", "a5", "missing"} {
			counts[a] = query(t, s, func(tx store.Tx) (int, error) { return tx.CountDeliveries(ctx, a) })
		}
		equal(t, "counts", counts, map[string]int{"a1": 5, "a2": 5, "a3": 2, "a4": 1, "a5": 0, "missing": 0})
		licensed := query(t, s, func(tx store.Tx) ([]store.Delivery, error) { return tx.ListDeliveriesInState(ctx, "a2", "licensed") })
		equal(t, "a2 licensed", keys(licensed), []string{"a2 a@x", "a2 c@x", "a2 d@x", "a2 e@x"})
	})
}

// Users are read by email in ListVPPUsers' order, across the chunks a long list of emails is
// split into; licenses of an asset by clientUserId.
func TestUsersAndLicensesOfMembers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		many := append(emails(1200), "c@x", "a@x", "zz@x", "a@x")
		users := query(t, s, func(tx store.Tx) ([]store.VPPUser, error) { return tx.ListVPPUsersByEmail(ctx, "t1", many) })
		var got []string
		for _, u := range users {
			got = append(got, u.Email+" "+u.ClientUserID+" "+u.Status)
		}
		equal(t, "users", got, []string{"a@x ua Registered", "c@x uc1 Registered", "c@x uc2 Retired"})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertLicenses(ctx, []store.License{
				{TokenID: "t1", AdamID: "1", PricingParam: "STDQ", ClientUserID: "ua", AssignedAt: at(1)},
				{TokenID: "t1", AdamID: "2", PricingParam: "STDQ", ClientUserID: "ua", AssignedAt: at(2)},
				{TokenID: "t1", AdamID: "1", PricingParam: "STDQ", ClientUserID: "ub", AssignedAt: at(3)},
				{TokenID: "t2", AdamID: "1", PricingParam: "STDQ", ClientUserID: "ua", AssignedAt: at(4)},
			})
		})
		lic := query(t, s, func(tx store.Tx) ([]store.License, error) {
			return tx.ListHolderLicenses(ctx, "t1", "1", "STDQ", store.Holders{ClientUserIDs: append(emails(700), "ub", "ua", "nobody")})
		})
		sort.Slice(lic, func(i, j int) bool { return lic[i].ClientUserID < lic[j].ClientUserID })
		equal(t, "licenses of book 1 held by ua and ub", lic, []store.License{
			{TokenID: "t1", AdamID: "1", PricingParam: "STDQ", ClientUserID: "ua", AssignedAt: at(1)},
			{TokenID: "t1", AdamID: "1", PricingParam: "STDQ", ClientUserID: "ub", AssignedAt: at(3)},
		})
	})
}

// UpdateDeliveries writes the given states and removes those named, leaving the others as they
// were.
func TestUpdateDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpdateDeliveries(ctx, "a1", []store.Delivery{
				{Email: "e@x", State: "licensed", UpdatedAt: at(9)},
				{Email: "g@x", State: "queued", Detail: "due", UpdatedAt: at(9)},
			}, []string{"c@x", "d@x", "nobody@x"})
		})
		ds := query(t, s, func(tx store.Tx) ([]store.Delivery, error) { return tx.ListDeliveries(ctx, "a1") })
		var got []string
		for _, d := range ds {
			got = append(got, d.Email+" "+d.State+" "+d.Detail)
		}
		equal(t, "a1", got, []string{"a@x licensed ", "b@x licensed ", "e@x licensed ", "g@x queued due"})
		if ds[2].UpdatedAt != at(9) {
			t.Errorf("e@x updated at %v, want %v", ds[2].UpdatedAt, at(9))
		}
	})
}

// ChangeMembers adds and removes members, leaving the rest; adding one already there or removing
// one that is not does nothing.
func TestChangeMembers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ChangeMembers(ctx, "g1", []string{"z@x", "a@x", "y@x", "y@x"}, []string{"b@x", "nobody@x"})
		})
		got := query(t, s, func(tx store.Tx) ([]string, error) { return tx.ListMembers(ctx, "g1") })
		equal(t, "g1", got, []string{"a@x", "c@x", "d@x", "e@x", "y@x", "z@x"})
	})
}

// A change of deliveries or members of an assignment or group that does not exist is not found.
func TestChangesOfMissingRecords(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		for what, change := range map[string]func(tx store.Tx) error{
			"UpdateDeliveries": func(tx store.Tx) error {
				return tx.UpdateDeliveries(ctx, "missing", []store.Delivery{{Email: "a@x", State: "queued"}}, nil)
			},
			"ChangeMembers": func(tx store.Tx) error { return tx.ChangeMembers(ctx, "missing", []string{"a@x"}, nil) },
		} {
			if err := s.Tx(ctx, change); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a missing record: %v, want ErrNotFound", what, err)
			}
		}
	})
}

// The invited members of a group are its members' users in the status, with an invitation URL, at
// the tokens of the group's assignments, by token, email and clientUserId.
func TestListInvitedMembers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		openWorkFixture(t, s)
		insertToken(t, s, token("t3", "l3"))
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertVPPUsers(ctx, []store.VPPUser{
				{TokenID: "t1", ClientUserID: "ua", Email: "a@x", Status: "Registered", InvitationURL: "https://i/ua"},
				{TokenID: "t1", ClientUserID: "ub", Email: "b@x", Status: "Associated", InvitationURL: "https://i/ub"},
				{TokenID: "t1", ClientUserID: "uc1", Email: "c@x", Status: "Registered"},
				{TokenID: "t1", ClientUserID: "uc0", Email: "c@x", Status: "Registered", InvitationURL: "https://i/uc0"},
				{TokenID: "t1", ClientUserID: "uf", Email: "f@x", Status: "Registered", InvitationURL: "https://i/uf"},
				{TokenID: "t2", ClientUserID: "xa", Email: "a@x", Status: "Registered", InvitationURL: "https://i/xa"},
				{TokenID: "t3", ClientUserID: "ya", Email: "a@x", Status: "Registered", InvitationURL: "https://i/ya"},
			})
		})
		invited := query(t, s, func(tx store.Tx) ([]store.VPPUser, error) { return tx.ListInvitedMembers(ctx, "g1", "Registered") })
		var got []string
		for _, u := range invited {
			got = append(got, u.TokenID+" "+u.Email+" "+u.ClientUserID+" "+u.InvitationURL+" "+u.Status)
		}
		equal(t, "g1", got, []string{
			"t1 a@x ua https://i/ua Registered",
			"t1 c@x uc0 https://i/uc0 Registered",
			"t2 a@x xa https://i/xa Registered",
		})
	})
}
