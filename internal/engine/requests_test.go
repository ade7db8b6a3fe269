package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// An incremental sync with nothing changed at Apple costs four requests from a fresh process:
// the limits, page 0 of the assets (unchanged versionId: the walk ends there), and one empty page
// each of the users and assignments changed since the last sync. No client config.
func TestSync_incrementalNothingChangedFourRequests(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{PageSize: 2})
	ctx := context.Background()
	tok := e.addToken()
	g := e.group("Readers", false, emails("i", 5)...)
	if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.SyncToken(ctx, tok.ID, true); err != nil {
		t.Fatal(err)
	}
	e.restart() // a new process: nothing cached
	got, err := e.eng.SyncToken(ctx, tok.ID, false)
	if err != nil || got.LastSyncStatus != engine.SyncCompleted || got.BookCount != 3 {
		t.Fatalf("incremental sync: %+v, %v", got, err)
	}
	st := e.sim.Stats()
	want := map[string]int{"GET /service/config": 1, "GET /assets": 1, "GET /users": 1, "GET /assignments": 1}
	if st.TotalRequests != 4 || len(st.Requests) != len(want) {
		t.Fatalf("requests = %v, want %v", st.Requests, want)
	}
	for k, n := range want {
		if st.Requests[k] != n {
			t.Errorf("%s: %d requests, want %d", k, st.Requests[k], n)
		}
	}
	// A purchase changes the assets' versionId: the next incremental sync walks them again.
	if err := e.sim.Purchase(e.loc.UID, bookA, "STDQ", 3); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()
	if _, err := e.eng.SyncToken(ctx, tok.ID, false); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Stats().Requests["GET /assets"]; n != 2 {
		t.Errorf("after a purchase: %d GET /assets, want both pages", n)
	}
	if b, _ := e.eng.GetBook(ctx, engine.BookID(tok.ID, bookA, "STDQ")); b.Total != 13 {
		t.Errorf("book A after the purchase = %+v, want 13 licenses", b)
	}
}

// Delivery confirms the users it created with one walk of the users changed since the last read
// (which brings the invitation codes), not a status request per users/create: 250 members with
// pages of 100 cost one page of the location's users (no existing user to adopt), 3 creates, 3
// pages, 1 associate and its status.
func TestDelivery_confirmsInBulk(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{PageSize: 100})
	ctx := context.Background()
	tok := e.addToken()
	g := e.group("Many", false, emails("b", 250)...)
	// Apple processes each event before answering: the counts do not depend on how fast the
	// simulator's background worker is.
	e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		resp, err := next(r)
		if r.Method == http.MethodPost {
			e.sim.ProcessPendingEvents()
		}
		return resp, err
	})
	e.sim.ResetStats()
	a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
	if err != nil || a.Licensed != 250 {
		t.Fatalf("delivery: %+v, %v", a, err)
	}
	st := e.sim.Stats().Requests
	want := map[string]int{"POST /users/create": 3, "GET /users": 4, "POST /assets/associate": 1, "GET /status": 1}
	for k, n := range want {
		if st[k] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", k, st[k], n, st)
		}
	}
	grp, err := e.eng.GetGroup(ctx, g.ID)
	if err != nil || len(grp.Invitations) != 250 {
		t.Errorf("invitations: %d, %v; want one per member", len(grp.Invitations), err)
	}
}

// A refresh of a token that synced recently asks Apple one question: its client config (another
// system's claim, or a token Apple refuses, shows at once). Refreshing N tokens from a new process
// (a plan) costs 2N requests: N GET /client/config, and the unauthenticated GET /service/config
// that each token's new client reads once for Apple's limits (cached for five minutes).
func TestRefreshToken_oneRequestPerToken(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	ids := []string{e.addToken().ID}
	for i := range 4 {
		loc, file := e.newLocation(fmt.Sprintf("Branch %d", i), applesim.AccountBusiness)
		tok, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: file, AccountType: engine.AccountBusiness})
		if err != nil || tok.LocationID != loc.UID {
			t.Fatalf("token %d: %+v, %v", i, tok, err)
		}
		ids = append(ids, tok.ID)
	}
	e.restart() // a new process: nothing cached
	for _, id := range ids {
		if _, err := e.eng.RefreshToken(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	st := e.sim.Stats()
	if st.TotalRequests != 2*len(ids) || st.Requests["GET /client/config"] != len(ids) || st.Requests["GET /service/config"] != len(ids) {
		t.Errorf("refreshing %d tokens: %v, want one GET /client/config and one GET /service/config each", len(ids), st.Requests)
	}
	// In the same process, the next refresh costs the client config alone.
	e.sim.ResetStats()
	if _, err := e.eng.RefreshToken(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.TotalRequests != 1 || st.Requests["GET /client/config"] != 1 {
		t.Errorf("a second refresh: %v, want one GET /client/config", st.Requests)
	}
}
