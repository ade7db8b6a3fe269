package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// The reliability tests of RELIABILITY.md that drive the engine against a faulty Apple: random
// faults during a large delivery, Apple down for longer than the retry budget, and garbage in
// Apple's answers.

// allFaultKinds is every fault the simulator can inject.
var allFaultKinds = []applesim.FaultKind{
	applesim.FaultRateLimited, applesim.FaultInternalError, applesim.FaultUnavailable, applesim.FaultErrorBody,
	applesim.FaultResetBefore, applesim.FaultResetAfter, applesim.FaultSlow,
	applesim.FaultInternalErrorAfter, applesim.FaultUnavailableAfter,
}

// reopen replaces the env's engine with one whose configuration tune adjusts (after the env's
// own fast settings), as a restarted process with other settings would be.
func (e *env) reopen(tune func(*engine.Config)) {
	e.t.Helper()
	_ = e.eng.Close()
	e.eng = e.openWith(func(cfg *engine.Config) {
		base := cfg.TuneClient
		cfg.TuneClient = func(c *apple.Config) {
			base(c)
			// Apple's Retry-After is honoured but capped, so that the tests do not sleep seconds.
			c.MaxRetryAfter = 5 * time.Millisecond
		}
		// A request whose answer a fault lost is sent again only after this long without its work
		// in Apple's records (10 minutes in production, 200 times the simulator's processing).
		cfg.EventTimeout = time.Second
		if tune != nil {
			tune(cfg)
		}
	})
}

// holdersOf maps each email holding adamID at Apple to how many licenses of it they hold.
func (e *env) holdersOf(adamID string) map[string]int {
	out := map[string]int{}
	for _, h := range e.holders(adamID) {
		out[h]++
	}
	return out
}

// checkApple verifies that exactly members hold bookC at Apple, once each, that the asset's
// assignedCount matches (no license spent twice), and that each member has one active user.
// With exact false, members may still be missing a license (a delivery cut short).
func (e *env) checkApple(members []string, exact bool) error {
	return e.checkAppleAllowing(members, exact, "")
}

// checkAppleAllowing is checkApple tolerating violations of one kind (none when "").
func (e *env) checkAppleAllowing(members []string, exact bool, allowed string) error {
	adamID := bookC
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m] = true
	}
	var problems []string
	held := e.holdersOf(adamID)
	for m, n := range held {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s holds %d licenses", m, n))
		}
		if !want[m] {
			problems = append(problems, fmt.Sprintf("%q holds the book but is no member", m))
		}
	}
	if exact && len(held) != len(members) {
		problems = append(problems, fmt.Sprintf("%d of %d members hold the book", len(held), len(members)))
	}
	total := 0
	for _, n := range held {
		total += n
	}
	if asset, _ := e.sim.Asset(e.loc.UID, adamID, "STDQ"); asset.AssignedCount != total {
		problems = append(problems, fmt.Sprintf("assignedCount %d, but %d licenses are held", asset.AssignedCount, total))
	}
	active := map[string]int{}
	for _, u := range e.sim.Users(e.loc.UID) {
		if u.Status != "Retired" && u.Status != "Deleted" {
			active[u.Email]++
		}
	}
	for m, n := range active {
		if n > 1 || !want[m] {
			problems = append(problems, fmt.Sprintf("%d active users for %q", n, m))
		}
	}
	if exact && len(active) != len(members) {
		problems = append(problems, fmt.Sprintf("%d of %d members have a user at Apple", len(active), len(members)))
	}
	// The simulator runs in strict mode: a blind re-send of an associate for a pair Apple holds, or
	// a second user for a person, is a violation even when it spends nothing.
	for _, v := range e.sim.Violations() {
		if v.Kind != allowed {
			problems = append(problems, fmt.Sprintf("violation at Apple: %s %s", v.Kind, v.Detail))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	if len(problems) > 8 {
		problems = append(problems[:8], fmt.Sprintf("and %d more", len(problems)-8))
	}
	return errors.New(strings.Join(problems, "; "))
}

// checkRecords verifies that the engine records no license of bookC Apple does not hold (its records are
// unchanged or settled from Apple's, never ahead of them).
func (e *env) checkRecords(tokenID string) error {
	adamID := bookC
	s := storetest.OpenURL(e.t, e.dbURL)
	defer s.Close()
	held := e.holdersOf(adamID)
	emailOf := map[string]string{}
	for _, u := range e.sim.Users(e.loc.UID) {
		emailOf[u.ClientUserID] = u.Email
	}
	return s.Tx(context.Background(), func(tx store.Tx) error {
		lic, err := tx.ListLicenses(context.Background(), tokenID)
		if err != nil {
			return err
		}
		for _, l := range lic {
			if l.AdamID == adamID && held[emailOf[l.ClientUserID]] == 0 {
				return fmt.Errorf("the engine records a license of %s for %s that Apple does not hold", adamID, l.ClientUserID)
			}
		}
		return nil
	})
}

// openJournal lists the journal entries of a token that are neither settled nor failed.
func (e *env) openJournal(tokenID string) []store.JournalEntry {
	e.t.Helper()
	s := storetest.OpenURL(e.t, e.dbURL)
	defer s.Close()
	var open []store.JournalEntry
	if err := s.Tx(context.Background(), func(tx store.Tx) error {
		var err error
		open, err = tx.ListOpenJournal(context.Background(), tokenID)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return open
}

// clearAppleError reports whether a delivery error names what failed at Apple: the endpoint
// and Apple's error number, the HTTP status, or that the outcome of a request is unknown.
func clearAppleError(err error) error {
	msg := err.Error()
	var api *apple.APIError
	switch {
	case errors.As(err, &api):
		if !strings.Contains(msg, api.Method+" "+api.Path) || (api.Code != 0 && !strings.Contains(msg, fmt.Sprint(int(api.Code)))) {
			return fmt.Errorf("the error does not name the endpoint and Apple's error: %v", err)
		}
	case errors.Is(err, apple.ErrOutcomeUnknown):
		if !strings.Contains(msg, "POST /") || !strings.Contains(msg, "reconcile") {
			return fmt.Errorf("the outcome-unknown error does not name the request: %v", err)
		}
	case errors.Is(err, engine.ErrDeliveryIncomplete):
		if !strings.Contains(msg, "is incomplete: ") {
			return fmt.Errorf("the incomplete-delivery error does not say what is left: %v", err)
		}
	case strings.Contains(msg, "apple: GET /") || strings.Contains(msg, "apple: POST /"):
		// a transport error on a named endpoint (connection reset, timeout)
	default:
		return fmt.Errorf("unclear error: %v", err)
	}
	return nil
}

// Delivery of one book to 5,000 members while 20% of Apple's answers are faults of every kind
// (429/9646, 500/9603 and 503/9729 with Retry-After, 200 with an error body, connection resets
// before and after Apple processed the request, slow answers, and 500/9603 or 503/9729 after Apple
// did the work), with Apple processing events a part at a time, seeded (3 seeds; 15 with make
// soak). Each run either completes
// or stops with a clear error, and the runs that follow finish the work: Apple then holds exactly
// the intended licenses, none twice, with one user per member.
func TestFaults_deliveryUnderRandomFaults(t *testing.T) {
	const members = 5000
	const rate = 0.2
	each(t, func(t *testing.T, kind store.Kind) {
		injected := map[applesim.FaultKind]int{}
		seeds := []int64{7, 2026, 31337}
		if os.Getenv("VPP_SOAK") != "" { // make soak
			for s := int64(1); s <= 12; s++ {
				seeds = append(seeds, s*7919)
			}
		}
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
				e := newEnv(t, kind, applesim.Options{PageSize: 500})
				e.reopen(nil)
				ctx := context.Background()
				if err := e.sim.Purchase(e.loc.UID, bookC, "STDQ", members-1000); err != nil {
					t.Fatal(err)
				}
				tok := e.addToken()
				everyone := emails("f", members)
				g := e.group("Everyone", false, everyone...)
				in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}

				e.sim.ResetStats()
				e.sim.SetRandomFaults(applesim.RandomFaults{Rate: rate, Seed: seed, Kinds: allFaultKinds,
					RetryAfter: "1", ErrorNumber: 9603, Delay: 20 * time.Millisecond})
				// Whatever the draws, every kind strikes at least once: at the first writes, and at
				// the first status and users reads.
				for _, f := range []applesim.Fault{
					{Endpoint: "POST /users/create", Kind: applesim.FaultResetAfter},
					{Endpoint: "GET /status", Kind: applesim.FaultRateLimited},
					{Endpoint: "GET /users", Kind: applesim.FaultErrorBody, ErrorNumber: 9603},
					{Endpoint: "POST /assets/associate", Kind: applesim.FaultResetBefore},
					{Endpoint: "GET /status", Kind: applesim.FaultSlow, Delay: 20 * time.Millisecond},
					{Endpoint: "GET /users", Kind: applesim.FaultInternalError, RetryAfter: "1"},
					{Endpoint: "POST /assets/associate", Kind: applesim.FaultUnavailable, RetryAfter: "1"},
					// Apple did the work, then answered a server error.
					{Endpoint: "POST /users/create", Kind: applesim.FaultInternalErrorAfter, RetryAfter: "1"},
					{Endpoint: "POST /assets/associate", Kind: applesim.FaultUnavailableAfter, RetryAfter: "1"},
				} {
					e.sim.InjectFault(f)
				}
				_, err := e.eng.CreateAssignment(ctx, in)
				runs, errs := 1, map[string]int{}
				for ; err != nil; runs++ {
					if cerr := clearAppleError(err); cerr != nil {
						t.Fatalf("run %d: %v", runs, cerr)
					}
					if aerr := e.checkApple(everyone, false); aerr != nil {
						t.Fatalf("run %d stopped (%v) and left Apple in a bad state: %v", runs, err, aerr)
					}
					if rerr := e.checkRecords(tok.ID); rerr != nil {
						t.Fatalf("run %d stopped (%v): %v", runs, err, rerr)
					}
					errs[firstLine(err)]++
					if runs == 40 {
						t.Fatalf("delivery still failing after %d runs: %v", runs, err)
					}
					err = e.eng.Deliver(ctx, tok.ID)
				}
				st := e.sim.Stats()
				e.sim.ClearFaults()
				t.Logf("delivered after %d runs; %d requests, %d faults injected %v", runs, st.TotalRequests, st.FaultsInjected, st.Faults)
				for msg, n := range errs {
					t.Logf("  %dx %s", n, msg)
				}
				for k, n := range st.Faults {
					injected[k] += n
				}
				if err := e.checkApple(everyone, true); err != nil {
					t.Fatal(err)
				}
				if a, _ := e.eng.FindAssignment(ctx, in.BookID, g.ID); a.Licensed != members || a.Status != engine.StatusComplete {
					t.Errorf("assignment = %d licensed, status %s; want %d, complete", a.Licensed, a.Status, members)
				}
				if open := e.openJournal(tok.ID); len(open) != 0 {
					t.Errorf("%d journal entries left open after delivery completed", len(open))
				}
				// Nothing left to send.
				e.sim.ResetStats()
				if err := e.eng.Deliver(ctx, tok.ID); err != nil {
					t.Fatal(err)
				}
				if n := e.sim.Stats().Requests["POST /assets/associate"] + e.sim.Stats().Requests["POST /users/create"]; n != 0 {
					t.Errorf("a delivery with nothing to do sent %d requests", n)
				}
			})
		}
		for _, k := range allFaultKinds {
			if injected[k] == 0 {
				t.Errorf("no %s fault was injected over all seeds; the test proves less than it claims", k)
			}
		}
	})
}

func firstLine(err error) string {
	s := err.Error()
	// Ids and counts vary from run to run; keep the shape of the message.
	if i := strings.Index(s, " for token "); i >= 0 {
		if j := strings.Index(s[i+len(" for token "):], ":"); j >= 0 {
			s = s[:i] + s[i+len(" for token ")+j:]
		}
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// Apple answers 503/9729 (with Retry-After) to one endpoint for longer than the client's retry
// budget, at each stage of a delivery. The error names the endpoint and Apple's error; the
// engine's records are unchanged or settled from Apple's (never ahead of Apple); once Apple is
// back, the next run finishes the work exactly.
func TestFaults_appleDownLongerThanRetryBudget(t *testing.T) {
	cases := []struct {
		endpoint string
		want     []string // in the error text
	}{
		{"GET /service/config", []string{"GET /service/config", "9729"}},
		{"GET /client/config", []string{"GET /client/config", "9729"}},
		{"POST /users/create", []string{"POST /users/create", "9729"}},
		{"GET /status", []string{"GET /status", "9729"}},
		{"GET /users", []string{"GET /users", "9729"}},
		{"POST /assets/associate", []string{"POST /assets/associate", "9729"}},
		{"GET /assignments", []string{"GET /assignments", "9729"}},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			each(t, func(t *testing.T, kind store.Kind) {
				e := newEnv(t, kind, applesim.Options{PageSize: 100})
				e.reopen(nil)
				ctx := context.Background()
				tok := e.addToken()
				readers := emails("d", 250)
				g := e.group("Readers", false, readers...)
				in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
				// The service config is cached: start cold, as a new process would.
				e.reopen(nil)

				e.sim.SetRandomFaults(applesim.RandomFaults{Rate: 1, Endpoint: tc.endpoint, Kinds: []applesim.FaultKind{applesim.FaultUnavailable}, RetryAfter: "30"})
				_, err := e.eng.CreateAssignment(ctx, in)
				if err == nil {
					// Some endpoints are not used by every delivery (a full sync reads them all):
					// a "Sync now" meets the outage instead, and the token's sync status says so.
					if n := e.sim.Stats().Faults[applesim.FaultUnavailable]; n != 0 {
						t.Fatalf("delivery succeeded although %s answered 503 %d times", tc.endpoint, n)
					}
					synced, serr := e.eng.SyncToken(ctx, tok.ID, true)
					if serr != nil {
						t.Fatal(serr)
					}
					if synced.LastSyncStatus != engine.SyncFailed {
						t.Fatalf("neither delivery nor a full sync used %s", tc.endpoint)
					}
					err = errors.New(synced.LastSyncError)
				}
				t.Logf("%s down: %v", tc.endpoint, err)
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if !strings.Contains(err.Error(), "Apple API") {
					t.Errorf("error %q does not say it comes from Apple", err)
				}
				if err := e.checkApple(readers, false); err != nil {
					t.Fatal(err)
				}
				if err := e.checkRecords(tok.ID); err != nil {
					t.Fatal(err)
				}

				// Apple is back: a second run (a new process) finishes exactly.
				e.sim.ClearFaults()
				e.reopen(nil)
				if err := e.eng.Deliver(ctx, tok.ID); err != nil {
					t.Fatalf("the run after Apple came back: %v", err)
				}
				if err := e.checkApple(readers, true); err != nil {
					t.Fatal(err)
				}
				if open := e.openJournal(tok.ID); len(open) != 0 {
					t.Errorf("%d journal entries left open", len(open))
				}
				if a, _ := e.eng.FindAssignment(ctx, in.BookID, g.ID); a.Licensed != len(readers) {
					t.Errorf("assignment licensed = %d, want %d", a.Licensed, len(readers))
				}
			})
		})
	}
}
