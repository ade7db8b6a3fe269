package store_test

import (
	"errors"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// A token's delivery generation moves on with every touch; recording catches up with the
// generation it read, never back; UpdateToken leaves both alone.
func TestDeliveriesGeneration(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		state := func(id string) (int64, int64) {
			tk := query(t, s, func(tx store.Tx) (store.Token, error) { return tx.GetToken(ctx, id) })
			return tk.DeliveriesGen, tk.DeliveriesRecorded
		}
		if gen, rec := state("t1"); gen != 1 || rec != 0 {
			t.Fatalf("new token: gen %d, recorded %d; want 1 and 0 (states to compute)", gen, rec)
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.TouchDeliveries(ctx, "t1", "t2") })
		mustTx(t, s, func(tx store.Tx) error { return tx.TouchDeliveries(ctx, "t1") })
		mustTx(t, s, func(tx store.Tx) error { return tx.SetDeliveriesRecorded(ctx, "t1", 3) })
		mustTx(t, s, func(tx store.Tx) error { return tx.SetDeliveriesRecorded(ctx, "t1", 2) }) // a slower recorder
		if gen, rec := state("t1"); gen != 3 || rec != 3 {
			t.Errorf("t1: gen %d, recorded %d; want 3 and 3", gen, rec)
		}
		if gen, rec := state("t2"); gen != 2 || rec != 0 {
			t.Errorf("t2: gen %d, recorded %d; want 2 and 0", gen, rec)
		}
		upd := token("t1", "l1")
		upd.DeliveriesGen, upd.DeliveriesRecorded = 99, 99
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateToken(ctx, upd) })
		if gen, rec := state("t1"); gen != 3 || rec != 3 {
			t.Errorf("after UpdateToken: gen %d, recorded %d; want them untouched (3 and 3)", gen, rec)
		}
	})
}

// The token-wide and per-book listings return what the per-group and per-assignment ones do, for
// the token's (or the book's) assignments only.
func TestTokenMembersAndDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		mustTx(t, s, func(tx store.Tx) error {
			for _, g := range []string{"g1", "g2", "g3"} {
				if err := tx.InsertGroup(ctx, store.Group{ID: g, Name: g}); err != nil {
					return err
				}
			}
			for g, ms := range map[string][]string{"g1": {"b@x", "a@x"}, "g2": {"c@x"}, "g3": {"z@x"}} {
				if err := tx.SetMembers(ctx, g, ms); err != nil {
					return err
				}
			}
			for _, a := range []store.Assignment{
				{ID: "a1", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g1", Intent: "required"},
				{ID: "a2", TokenID: "t1", AdamID: "2", PricingParam: "STDQ", GroupID: "g1", Intent: "required"},
				{ID: "a3", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g2", Intent: "required"},
				{ID: "a4", TokenID: "t2", AdamID: "1", PricingParam: "STDQ", GroupID: "g3", Intent: "required"},
			} {
				if err := tx.InsertAssignment(ctx, a); err != nil {
					return err
				}
			}
			for id, emails := range map[string][]string{"a1": {"b@x", "a@x"}, "a3": {"c@x"}, "a4": {"z@x"}} {
				var ds []store.Delivery
				for _, e := range emails {
					ds = append(ds, store.Delivery{Email: e, State: "licensed", UpdatedAt: at(5)})
				}
				if err := tx.ReplaceDeliveries(ctx, id, ds); err != nil {
					return err
				}
			}
			return nil
		})
		mustTx(t, s, func(tx store.Tx) error {
			ms, err := tx.ListTokenMembers(ctx, "t1")
			equal(t, "ListTokenMembers", ms, []store.GroupMember{{GroupID: "g1", Email: "a@x"}, {GroupID: "g1", Email: "b@x"}, {GroupID: "g2", Email: "c@x"}})
			ds, err2 := tx.ListTokenDeliveries(ctx, "t1")
			var got []string
			for _, d := range ds {
				got = append(got, d.AssignmentID+"/"+d.Email+"/"+d.State)
			}
			equal(t, "ListTokenDeliveries", got, []string{"a1/a@x/licensed", "a1/b@x/licensed", "a3/c@x/licensed"})
			as, err3 := tx.ListBookAssignments(ctx, "t1", "1", "STDQ")
			var aids []string
			for _, a := range as {
				aids = append(aids, a.ID)
			}
			equal(t, "ListBookAssignments", aids, []string{"a1", "a3"})
			return errors.Join(err, err2, err3)
		})
	})
}
