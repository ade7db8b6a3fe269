package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// The open work decides as the whole work does: over records drawn at random (members in several
// groups, assignments of several books, users unconfirmed, retired or twice recorded, licenses held
// or not, refusals recorded, books short or oversubscribed), the plan of the members the records
// leave open (newUsers, grants, cuts, shortages) and the states it records are those of the
// whole work, and every member it leaves out is recorded licensed; forecasts with a plan laid over
// the records say the same whether read open or whole; and a change of a group's members recorded
// at once (changeMembersIn) leaves the states a recomputation from every record would.
func TestOpenWorkDecidesAsTheWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		seeds := 40
		if kind == store.Postgres {
			seeds = 8
		}
		for seed := range seeds {
			t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
				e, err := Open(t.Context(), Config{Database: storetest.URL(t, kind)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = e.Close() })
				r := rand.New(rand.NewPCG(uint64(seed), 13))
				rec := randomRecords(t, e, r)
				checkOpenPlan(t, e, nil)
				for _, bk := range rec.books {
					checkOpenPlan(t, e, &scope{book: bk})
				}
				checkOpenForecasts(t, e, r, rec)
				checkRecordedChange(t, e, r, rec)
			})
		}
	})
}

// records are what randomRecords wrote.
type records struct {
	books  []bookKey
	groups []string
	pool   []string
	inputs []AssignmentInput
}

const testToken = "t1"

// randomRecords writes a token's records drawn from r, then records its delivery states (current).
func randomRecords(t *testing.T, e *Engine, r *rand.Rand) records {
	t.Helper()
	ctx := t.Context()
	const location = "loc-1"
	rec := records{books: []bookKey{{"1", "STDQ"}, {"2", "STDQ"}, {"3", "PLUS"}}, groups: []string{"g1", "g2", "g3"}}
	for i := range 24 {
		rec.pool = append(rec.pool, fmt.Sprintf("m%02d@school.example.org", i))
	}
	err := e.store.Tx(ctx, func(tx store.Tx) error {
		if err := tx.InsertToken(ctx, store.Token{ID: testToken, LocationUID: location, DisplayName: "T", AccountType: AccountBusiness, Secret: "not a token"}); err != nil {
			return err
		}
		for _, bk := range rec.books {
			if err := tx.UpsertAssets(ctx, []store.Asset{{TokenID: testToken, AdamID: bk.adamID, PricingParam: bk.pricing, ProductType: store.ProductBook,
				Title: "Book " + bk.adamID, Available: r.IntN(14), Total: 20}}); err != nil {
				return err
			}
		}
		for _, g := range rec.groups {
			if err := tx.InsertGroup(ctx, store.Group{ID: g, Name: g, Managed: r.IntN(4) == 0}); err != nil {
				return err
			}
			var ms []string
			for _, m := range rec.pool {
				if r.IntN(2) == 0 {
					ms = append(ms, m)
				}
			}
			if err := tx.SetMembers(ctx, g, ms); err != nil {
				return err
			}
			for _, bk := range rec.books {
				if r.IntN(3) == 0 {
					continue
				}
				in := AssignmentInput{BookID: BookID(testToken, bk.adamID, bk.pricing), GroupID: g, Intent: []string{IntentRequired, IntentAvailable}[r.IntN(2)],
					AllowOversubscription: r.IntN(2) == 0}
				rec.inputs = append(rec.inputs, in)
				if err := tx.InsertAssignment(ctx, store.Assignment{ID: "a-" + g + "-" + bk.adamID, TokenID: testToken, AdamID: bk.adamID, PricingParam: bk.pricing,
					GroupID: g, Intent: in.Intent, AllowOversubscription: in.AllowOversubscription}); err != nil {
					return err
				}
			}
		}
		statuses := []string{"", UserRegistered, UserAssociated, UserAssociated, UserRetired}
		var users []store.VPPUser
		var lic []store.License
		for i, m := range rec.pool {
			ids := []string{clientUserID(location, m)}
			if r.IntN(10) < 7 {
				n := 1 + r.IntN(5)/4 // a second record now and then
				for k := range n {
					id := fmt.Sprintf("u-%02d-%d", i, k)
					if k == 0 && r.IntN(2) == 0 {
						id = ids[0]
					}
					ids = append(ids, id)
					users = append(users, store.VPPUser{TokenID: testToken, ClientUserID: id, Email: m, Status: statuses[r.IntN(len(statuses))], Managed: r.IntN(10) == 0})
				}
			}
			for _, id := range ids {
				for _, bk := range rec.books {
					if r.IntN(5) < 2 {
						lic = append(lic, store.License{TokenID: testToken, AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: id})
					}
				}
			}
		}
		if err := tx.UpsertVPPUsers(ctx, users); err != nil {
			return err
		}
		return tx.UpsertLicenses(ctx, lic)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Refusals Apple gave earlier runs, lasting (9610) or not (9709), stay recorded.
	if err := e.store.Tx(ctx, func(tx store.Tx) error {
		as, err := tx.ListAssignments(ctx, testToken)
		for _, a := range as {
			ms, err := tx.ListMembers(ctx, a.GroupID)
			if err != nil {
				return err
			}
			var failed []store.Delivery
			for _, m := range ms {
				if r.IntN(8) == 0 {
					failed = append(failed, store.Delivery{Email: m, State: DeliveryFailed, ErrorNumber: []int{9610, 9709}[r.IntN(2)], Detail: "refused"})
				}
			}
			if err := tx.ReplaceDeliveries(ctx, a.ID, failed); err != nil {
				return err
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	recordWhole(t, e)
	return rec
}

// recordWhole recomputes the token's states from every record and marks them current.
func recordWhole(t *testing.T, e *Engine) {
	t.Helper()
	if err := e.store.Tx(t.Context(), func(tx store.Tx) error { return tx.TouchDeliveries(t.Context(), testToken) }); err != nil {
		t.Fatal(err)
	}
	if err := e.recordDeliveries(t.Context(), testToken, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// checkOpenPlan compares the open work of the scope with the whole work.
func checkOpenPlan(t *testing.T, e *Engine, sc *scope) {
	t.Helper()
	whole, err := e.loadWork(t.Context(), testToken, sc)
	if err != nil {
		t.Fatal(err)
	}
	open, err := e.loadOpenWork(t.Context(), testToken, sc)
	if err != nil {
		t.Fatal(err)
	}
	if !open.open || whole.open {
		t.Fatalf("open work read open: %t; whole work: %t", open.open, whole.open)
	}
	pw, po := planDelivery(whole), planDelivery(open)
	now := time.Unix(1_700_000_000, 0)
	for what, pair := range map[string][2]any{
		"new users": {pw.newUsers, po.newUsers}, "grants": {pw.grant, po.grant}, "cuts": {pw.cut, po.cut}, "shortages": {pw.short, po.short},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("scope %v: %s differ:\n whole %+v\n open  %+v", sc, what, pair[0], pair[1])
		}
	}
	for _, a := range whole.assignments {
		inOpen := map[string]bool{}
		for _, m := range open.members[a.GroupID] {
			inOpen[m] = true
		}
		for _, d := range deliveriesOf(whole, pw, a, nil, nil, now) {
			got := d
			if inOpen[d.Email] {
				if po.want[a.ID][d.Email] != pw.want[a.ID][d.Email] {
					t.Errorf("assignment %s, %s: due %t open, %t whole", a.ID, d.Email, po.want[a.ID][d.Email], pw.want[a.ID][d.Email])
				}
				continue
			}
			if got.State != DeliveryLicensed || got.ErrorNumber != 0 || got.Detail != "" {
				t.Errorf("assignment %s: %s left out of the open work, but its state is %+v", a.ID, d.Email, got)
			}
		}
		if want := len(whole.members[a.GroupID]) - len(open.members[a.GroupID]); open.settled[a.ID] != want {
			t.Errorf("assignment %s: %d members counted settled, %d left out", a.ID, open.settled[a.ID], want)
		}
		openStates := map[string]store.Delivery{}
		for _, d := range deliveriesOf(open, po, a, nil, nil, now) {
			openStates[d.Email] = d
		}
		for _, d := range deliveriesOf(whole, pw, a, nil, nil, now) {
			if o, ok := openStates[d.Email]; inOpen[d.Email] && (!ok || o != d) {
				t.Errorf("assignment %s, %s: open state %+v, whole %+v", a.ID, d.Email, o, d)
			}
		}
	}
}

// checkOpenForecasts forecasts every assignment with a plan drawn from r laid over the records
// (members added and removed, intents changed, an assignment created), read open while the states
// are current, then whole once they are not: the forecasts agree.
func checkOpenForecasts(t *testing.T, e *Engine, r *rand.Rand, rec records) {
	t.Helper()
	planned := map[string][]string{}
	for _, g := range rec.groups {
		if r.IntN(2) == 0 {
			continue
		}
		ms, _, err := e.GroupMembers(t.Context(), g)
		if err != nil {
			t.Fatal(err)
		}
		var next []string
		for _, m := range ms {
			if r.IntN(6) != 0 {
				next = append(next, m)
			}
		}
		if m := rec.pool[r.IntN(len(rec.pool))]; !slices.Contains(next, m) {
			next = append(next, m)
		}
		next = append(next, fmt.Sprintf("new%d@school.example.org", r.IntN(3)))
		planned[g] = next
	}
	inputs := slices.Clone(rec.inputs)
	for i := range inputs {
		if r.IntN(4) == 0 {
			inputs[i].Intent = []string{IntentRequired, IntentAvailable}[r.IntN(2)]
		}
	}
	inputs = append(inputs, AssignmentInput{BookID: BookID(testToken, "3", "PLUS"), GroupID: rec.groups[r.IntN(len(rec.groups))], Intent: IntentRequired})
	forecastAll := func() []string {
		plan := NewPlannedChanges()
		var out []string
		for _, g := range rec.groups {
			if ms, ok := planned[g]; ok {
				if err := e.ForecastGroup(t.Context(), g, ms, plan); err != nil && !errors.Is(err, ErrNotEnoughLicenses) {
					t.Fatal(err)
				}
			}
		}
		for _, in := range inputs {
			f, err := e.Forecast(t.Context(), in, plan)
			out = append(out, fmt.Sprintf("%s %s: %+v %v", in.BookID, in.GroupID, f, err))
		}
		return out
	}
	open := forecastAll()
	if err := e.store.Tx(t.Context(), func(tx store.Tx) error { return tx.TouchDeliveries(t.Context(), testToken) }); err != nil {
		t.Fatal(err)
	}
	whole := forecastAll()
	if !slices.Equal(open, whole) {
		t.Errorf("forecasts differ:\n open  %q\n whole %q", open, whole)
	}
}

// checkRecordedChange changes a group's members as UpdateGroup does, recording at once what the
// change does, and compares the states recorded with those a recomputation from every record
// gives.
func checkRecordedChange(t *testing.T, e *Engine, r *rand.Rand, rec records) {
	t.Helper()
	ctx := t.Context()
	recordWhole(t, e)
	g := rec.groups[r.IntN(len(rec.groups))]
	err := e.store.Tx(ctx, func(tx store.Tx) error {
		old, err := tx.ListMembers(ctx, g)
		if err != nil {
			return err
		}
		var next []string
		for _, m := range rec.pool {
			if slices.Contains(old, m) == (r.IntN(5) != 0) {
				next = append(next, m)
			}
		}
		_, tokens, err := licensesHeldBy(ctx, tx, g, nil)
		if err != nil {
			return err
		}
		added, removed := diffSorted(old, next)
		return e.changeMembersIn(ctx, tx, g, added, removed, tokens)
	})
	if err != nil {
		t.Fatal(err)
	}
	states := func() (map[string]string, store.Token) {
		var out map[string]string
		var tok store.Token
		err := e.store.View(ctx, func(tx store.Tx) error {
			ds, err := tx.ListTokenDeliveries(ctx, testToken)
			out = map[string]string{}
			for _, d := range ds {
				out[d.AssignmentID+" "+d.Email] = fmt.Sprintf("%s %d %s", d.State, d.ErrorNumber, d.Detail)
			}
			if err == nil {
				tok, err = tx.GetToken(ctx, testToken)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, tok
	}
	changed, tok := states()
	if tok.DeliveriesRecorded < tok.DeliveriesGen {
		t.Errorf("after the change, the states are not current: recorded %d, generation %d", tok.DeliveriesRecorded, tok.DeliveriesGen)
	}
	recordWhole(t, e)
	whole, _ := states()
	if !reflect.DeepEqual(changed, whole) {
		t.Errorf("states recorded with the change of %s differ from those of every record:\n change %v\n whole  %v", g, changed, whole)
	}
}

// The sorted-list helpers of the open work.
func TestSortedHelpers(t *testing.T) {
	added, removed := diffSorted([]string{"a", "c", "d", "f"}, []string{"b", "c", "e", "f", "g"})
	if !slices.Equal(added, []string{"b", "e", "g"}) || !slices.Equal(removed, []string{"a", "d"}) {
		t.Errorf("diffSorted: added %v, removed %v", added, removed)
	}
	kept, held := subtractSorted([]string{"a", "b", "c", "e"}, []string{"b", "d", "e"})
	if !slices.Equal(kept, []string{"a", "c"}) || held != 2 {
		t.Errorf("subtractSorted: %v, %d", kept, held)
	}
	merged, fresh := unionSorted([]string{"a", "c", "e"}, []string{"b", "c", "f"})
	if !slices.Equal(merged, []string{"a", "b", "c", "e", "f"}) || !slices.Equal(fresh, []string{"b", "f"}) {
		t.Errorf("unionSorted: %v, %v", merged, fresh)
	}
}
