package engine

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// dueBookSets groups confirmed users by the identical set of books due to them, in a stable order.
func TestDueBookSets(t *testing.T) {
	a, b, c := bookKey{"100", "STDQ"}, bookKey{"200", "STDQ"}, bookKey{"300", "PLUS"}
	grant := map[bookKey][]string{
		a: {"alice@x", "bob@x", "carol@x", "dave@x", "frank@x"},
		b: {"alice@x", "bob@x"},
		c: {"erin@x"},
	}
	users := map[string]store.VPPUser{
		"alice@x": {ClientUserID: "u-9", Status: UserRegistered},
		"bob@x":   {ClientUserID: "u-1", Status: UserAssociated},
		"carol@x": {ClientUserID: "u-5", Status: UserRegistered},
		"dave@x":  {ClientUserID: "u-4"},                      // not confirmed yet
		"erin@x":  {ClientUserID: "u-7", Status: UserRetired}, // not confirmed
		// frank@x has no user
	}
	want := []bookSet{
		{books: []apple.AssetRef{{AdamID: "100", PricingParam: "STDQ"}}, name: "100/STDQ", users: []string{"u-5"}},
		{books: []apple.AssetRef{{AdamID: "100", PricingParam: "STDQ"}, {AdamID: "200", PricingParam: "STDQ"}}, name: "100/STDQ,200/STDQ", users: []string{"u-1", "u-9"}},
	}
	for range 20 { // map order varies from run to run; the result must not
		if got := dueBookSets(planOf(grant, users)); !reflect.DeepEqual(got, want) {
			t.Fatalf("dueBookSets =\n%+v\nwant\n%+v", got, want)
		}
	}
	// Users sharing a set share a request.
	reqs := associateRequests(dueBookSets(planOf(grant, users)), apple.Limits{})
	if len(reqs) != 2 || !reflect.DeepEqual(reqs[1].ClientUserIDs, []string{"u-1", "u-9"}) || len(reqs[1].Assets) != 2 {
		t.Errorf("requests = %+v, want alice and bob in one request for both books", reqs)
	}

	if got := dueBookSets(planOf(map[bookKey][]string{c: {"erin@x", "dave@x"}}, users)); len(got) != 0 {
		t.Errorf("dueBookSets with no confirmed user = %+v, want none", got)
	}
}

// More books than bits in a word: rows span several words.
func TestDueBookSets_manyBooks(t *testing.T) {
	grant := map[bookKey][]string{}
	var all []apple.AssetRef
	var names []string
	for i := range 70 {
		bk := bookKey{fmt.Sprintf("%03d", i), "STDQ"}
		all = append(all, apple.AssetRef{AdamID: bk.adamID, PricingParam: bk.pricing})
		names = append(names, bk.adamID+"/STDQ")
		grant[bk] = []string{"x@x", "y@x"}
		if i == 65 {
			grant[bk] = append(grant[bk], "z@x")
		}
		if i == 1 {
			grant[bk] = append(grant[bk], "w@x")
		}
	}
	users := map[string]store.VPPUser{
		"w@x": {ClientUserID: "w", Status: UserRegistered},
		"x@x": {ClientUserID: "x", Status: UserRegistered},
		"y@x": {ClientUserID: "y", Status: UserRegistered},
		"z@x": {ClientUserID: "z", Status: UserRegistered},
	}
	got := dueBookSets(planOf(grant, users))
	want := []bookSet{
		{books: all, name: strings.Join(names, ","), users: []string{"x", "y"}},
		{books: []apple.AssetRef{{AdamID: "001", PricingParam: "STDQ"}}, name: "001/STDQ", users: []string{"w"}},
		{books: []apple.AssetRef{{AdamID: "065", PricingParam: "STDQ"}}, name: "065/STDQ", users: []string{"z"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dueBookSets =\n%+v\nwant\n%+v", got, want)
	}
}

// associateRequests covers every set's books x users, set after set, within Apple's limits.
func TestAssociateRequests(t *testing.T) {
	refs := func(ids ...string) []apple.AssetRef {
		var out []apple.AssetRef
		for _, id := range ids {
			out = append(out, apple.AssetRef{AdamID: id, PricingParam: "STDQ"})
		}
		return out
	}
	sets := []bookSet{
		{books: refs("1", "2", "3"), name: "1,2,3", users: []string{"a", "b", "c", "d", "e"}},
		{books: refs("4"), name: "4", users: []string{"f"}},
	}
	lim := apple.Limits{MaxAssets: 2, MaxClientUserIDs: 3}
	reqs := associateRequests(sets, lim)
	if len(reqs) != 2*2+1 {
		t.Fatalf("%d requests, want 5: %+v", len(reqs), reqs)
	}
	type pair struct{ book, user string }
	seen := map[pair]int{}
	for i, r := range reqs {
		if len(r.Assets) == 0 || len(r.Assets) > lim.MaxAssets || len(r.ClientUserIDs) == 0 || len(r.ClientUserIDs) > lim.MaxClientUserIDs {
			t.Errorf("request %d breaks the limits: %+v", i, r)
		}
		for _, a := range r.Assets {
			for _, u := range r.ClientUserIDs {
				seen[pair{a.AdamID, u}]++
			}
		}
	}
	for _, st := range sets {
		for _, a := range st.books {
			for _, u := range st.users {
				if n := seen[pair{a.AdamID, u}]; n != 1 {
					t.Errorf("pair %s/%s in %d requests, want 1", a.AdamID, u, n)
				}
				delete(seen, pair{a.AdamID, u})
			}
		}
	}
	if len(seen) != 0 {
		t.Errorf("pairs not due: %v", seen)
	}
	if last := reqs[len(reqs)-1]; last.Assets[0].AdamID != "4" {
		t.Errorf("last request %+v, want the second set's", last)
	}
}

// grantsFromStatuses turns the events' statuses into licenses granted and pairs failed.
func TestGrantsFromStatuses(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := bookKey{"100", "STDQ"}, bookKey{"200", "STDQ"}
	req := apple.ManageAssetsRequest{
		Assets:        []apple.AssetRef{{AdamID: "100", PricingParam: "STDQ"}, {AdamID: "200"}}, // no pricing: standard
		ClientUserIDs: []string{"u1", "u2"},
	}
	complete := &apple.EventStatus{Status: apple.EventComplete}
	failed := func(fs ...apple.EventFailure) *apple.EventStatus {
		return &apple.EventStatus{Status: apple.EventFailed, Failures: fs}
	}
	noLicenses := apple.EventFailure{Code: 9610, Message: "no licenses", ClientUserIDs: []string{"u2"}, Assets: []apple.AssetRef{{AdamID: "100", PricingParam: "STDQ"}}}
	type pairs = map[pairKey]failure
	for _, tc := range []struct {
		name     string
		requests []apple.ManageAssetsRequest
		eventOf  []string
		statuses map[string]*apple.EventStatus
		granted  []pairKey // in request order: assets, then users
		failures pairs
		needRead bool
	}{
		{
			name: "complete grants every pair", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": complete},
			granted:  []pairKey{{a, "u1", ""}, {a, "u2", ""}, {b, "u1", ""}, {b, "u2", ""}},
		},
		{
			name: "failed with named users fails only those pairs", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": failed(noLicenses)},
			granted:  []pairKey{{a, "u1", ""}, {b, "u1", ""}, {b, "u2", ""}},
			failures: pairs{{a, "u2", ""}: {9610, "no licenses"}},
		},
		{
			name: "a failure naming no assets covers the request's", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": failed(apple.EventFailure{Code: 9632, Message: "retired", ClientUserIDs: []string{"u1"}})},
			granted:  []pairKey{{a, "u2", ""}, {b, "u2", ""}},
			failures: pairs{{a, "u1", ""}: {9632, "retired"}, {b, "u1", ""}: {9632, "retired"}},
		},
		{
			name: "a failure naming no users reads, grants nothing", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": failed(apple.EventFailure{Code: 9610, Message: "no licenses"}, noLicenses)},
			failures: pairs{{a, "u2", ""}: {9610, "no licenses"}},
			needRead: true,
		},
		{
			name: "failed naming no failure reads, grants nothing", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": failed()},
			needRead: true,
		},
		{
			name: "an event Apple forgot reads", requests: []apple.ManageAssetsRequest{req}, eventOf: []string{"e1"},
			statuses: map[string]*apple.EventStatus{"e1": nil},
			needRead: true,
		},
		{
			name: "pending or unsent events grant nothing", requests: []apple.ManageAssetsRequest{req, req}, eventOf: []string{"e1", ""},
			statuses: map[string]*apple.EventStatus{},
		},
		{
			// Once a read is due, a later FAILED event grants nothing either (its named failures
			// still count); a COMPLETE one still grants.
			name: "a read due from an earlier event", requests: []apple.ManageAssetsRequest{req, req, req}, eventOf: []string{"e1", "e2", "e3"},
			statuses: map[string]*apple.EventStatus{"e1": nil, "e2": failed(noLicenses), "e3": complete},
			granted:  []pairKey{{a, "u1", ""}, {a, "u2", ""}, {b, "u1", ""}, {b, "u2", ""}},
			failures: pairs{{a, "u2", ""}: {9610, "no licenses"}},
			needRead: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			granted, countByBook, failures, needRead := grantsFromStatuses("tok", tc.requests, tc.eventOf, tc.statuses, now)
			var gotPairs []pairKey
			for _, l := range granted {
				if l.TokenID != "tok" || !l.AssignedAt.Equal(now) {
					t.Errorf("license %+v: want token tok, assigned at %s", l, now)
				}
				gotPairs = append(gotPairs, licenseHolder(l).of(bookKey{l.AdamID, l.PricingParam}))
			}
			if !reflect.DeepEqual(gotPairs, tc.granted) {
				t.Errorf("granted %v, want %v", gotPairs, tc.granted)
			}
			wantCount := map[bookKey]int{}
			for _, pk := range tc.granted {
				wantCount[pk.book]++
			}
			if !reflect.DeepEqual(countByBook, wantCount) {
				t.Errorf("countByBook %v, want %v", countByBook, wantCount)
			}
			if tc.failures == nil {
				tc.failures = pairs{}
			}
			if !reflect.DeepEqual(failures, tc.failures) {
				t.Errorf("failures %v, want %v", failures, tc.failures)
			}
			if needRead != tc.needRead {
				t.Errorf("needRead %t, want %t", needRead, tc.needRead)
			}
		})
	}
}

// recordGrants writes the licenses and the books' counts in one transaction, then the work; a
// failed transaction leaves both untouched.
func TestRecordGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		ctx := t.Context()
		e := &Engine{cfg: Config{Now: time.Now}, store: storetest.Open(t, kind)}
		a, b := bookKey{"100", "STDQ"}, bookKey{"200", "STDQ"}
		books := map[bookKey]store.Asset{
			a: {TokenID: "tok", AdamID: "100", PricingParam: "STDQ", Total: 10, Assigned: 1, Available: 9},
			b: {TokenID: "tok", AdamID: "200", PricingParam: "STDQ", Total: 2, Assigned: 1, Available: 1},
		}
		if err := e.tx(ctx, func(tx store.Tx) error {
			if err := tx.InsertToken(ctx, store.Token{ID: "tok", DisplayName: "Main", AccountType: AccountBusiness}); err != nil {
				return err
			}
			return tx.UpsertAssets(ctx, []store.Asset{books[a], books[b]})
		}); err != nil {
			t.Fatal(err)
		}
		gen := func() int64 {
			var tok store.Token
			if err := e.tx(ctx, func(tx store.Tx) (err error) { tok, err = tx.GetToken(ctx, "tok"); return err }); err != nil {
				t.Fatal(err)
			}
			return tok.DeliveriesGen
		}
		// counts keeps what recordGrants changes of the books.
		counts := func(bs map[bookKey]store.Asset) map[bookKey][3]int {
			out := map[bookKey][3]int{}
			for bk, bo := range bs {
				out[bk] = [3]int{bo.Total, bo.Assigned, bo.Available}
			}
			return out
		}
		read := func() ([]store.License, map[bookKey][3]int) {
			var ls []store.License
			got := map[bookKey]store.Asset{}
			if err := e.tx(ctx, func(tx store.Tx) error {
				var err error
				if ls, err = tx.ListLicenses(ctx, "tok"); err != nil {
					return err
				}
				bs, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: "tok"})
				for _, b := range bs {
					got[bookKey{b.AdamID, b.PricingParam}] = b
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ls, counts(got)
		}
		newWork := func() *work {
			w := &work{books: map[bookKey]store.Asset{}, licensed: map[pairKey]bool{}}
			for bk, bo := range books {
				w.books[bk] = bo
			}
			return w
		}
		lic := func(bk bookKey, uid string) store.License {
			return store.License{TokenID: "tok", AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: uid, AssignedAt: time.Now()}
		}

		// A book the records do not have: nothing is written, nothing noted.
		w := newWork()
		before := gen()
		err := e.recordGrants(ctx, "tok", w, []store.License{lic(a, "u1")}, map[bookKey]int{a: 1, {"999", "STDQ"}: 1})
		if err == nil {
			t.Fatal("recordGrants with an unknown book: no error")
		}
		if ls, got := read(); len(ls) != 0 || !reflect.DeepEqual(got, counts(books)) || gen() != before {
			t.Errorf("after a failed recordGrants: licenses %v, books %v, generation %d (was %d)", ls, got, gen(), before)
		}
		if len(w.licensed) != 0 || !reflect.DeepEqual(w.books, books) {
			t.Errorf("after a failed recordGrants, work changed: %v %v", w.licensed, w.books)
		}

		granted := []store.License{lic(b, "u3"), lic(a, "u2"), lic(b, "u1"), lic(a, "u1")}
		if err := e.recordGrants(ctx, "tok", w, granted, map[bookKey]int{a: 2, b: 2}); err != nil {
			t.Fatal(err)
		}
		if !sort.SliceIsSorted(granted, func(i, j int) bool {
			return granted[i].AdamID+"/"+granted[i].ClientUserID < granted[j].AdamID+"/"+granted[j].ClientUserID
		}) {
			t.Errorf("licenses not written in key order: %v", granted)
		}
		wantBooks := map[bookKey]store.Asset{}
		wantBooks[a] = store.Asset{TokenID: "tok", AdamID: "100", PricingParam: "STDQ", Total: 10, Assigned: 3, Available: 7}
		wantBooks[b] = store.Asset{TokenID: "tok", AdamID: "200", PricingParam: "STDQ", Total: 2, Assigned: 3, Available: 0} // never below zero
		ls, got := read()
		var pairs []string
		for _, l := range ls {
			pairs = append(pairs, l.AdamID+"/"+l.ClientUserID)
		}
		sort.Strings(pairs)
		if want := []string{"100/u1", "100/u2", "200/u1", "200/u3"}; !reflect.DeepEqual(pairs, want) {
			t.Errorf("licenses %v, want %v", pairs, want)
		}
		if want := counts(wantBooks); !reflect.DeepEqual(got, want) {
			t.Errorf("books recorded (total, assigned, available) %v, want %v", got, want)
		}
		if gen() != before+1 {
			t.Errorf("deliveries generation %d, want %d", gen(), before+1)
		}
		wantLicensed := map[pairKey]bool{{a, "u1", ""}: true, {a, "u2", ""}: true, {b, "u1", ""}: true, {b, "u3", ""}: true}
		if !reflect.DeepEqual(w.licensed, wantLicensed) {
			t.Errorf("work licensed %v, want %v", w.licensed, wantLicensed)
		}
		if !reflect.DeepEqual(w.books, wantBooks) {
			t.Errorf("work books %v, want %v", w.books, wantBooks)
		}
	})
}

// planOf is a plan granting grant, with the holders delivery would license: the members' users
// that Apple has (confirmed).
func planOf(grant map[bookKey][]string, users map[string]store.VPPUser) *deliveryPlan {
	p := &deliveryPlan{grant: grant, grantTo: map[string]holder{}}
	for _, members := range grant {
		for _, m := range members {
			if u, ok := users[m]; ok && confirmed(u) {
				p.grantTo[m] = userHolder(u.ClientUserID)
			}
		}
	}
	return p
}
