package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// A write whose answer is lost after Apple did the work (a server error after queuing the event,
// or a connection dropped before the answer) is never re-sent blindly: the engine waits for the
// work in Apple's records, then goes on with what is still missing, in the same delivery. Apple
// processes events slowly here (a processing delay, numCompleted growing over several polls), so
// the records at first do not show the work: a re-send at that point would be a replay.
func TestDelivery_lostAnswerAfterWorkIsReconciledNotReplayed(t *testing.T) {
	for _, kind := range []applesim.FaultKind{applesim.FaultInternalErrorAfter, applesim.FaultUnavailableAfter, applesim.FaultResetAfter} {
		for _, endpoint := range []string{"POST /users/create", "POST /assets/associate"} {
			t.Run(string(kind)+" "+endpoint, func(t *testing.T) {
				each(t, func(t *testing.T, db store.Kind) {
					e := newEnv(t, db, applesim.Options{ProcessingDelay: 40 * time.Millisecond, ProgressSteps: 3})
					ctx := context.Background()
					tok := e.addToken()
					members := emails("d", 12)
					g := e.group("Doubt", false, members...)
					e.sim.ResetStats()
					e.sim.InjectFault(applesim.Fault{Endpoint: endpoint, Kind: kind, Count: 1, RetryAfter: "0"})
					in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
					if _, err := e.eng.CreateAssignment(ctx, in); err != nil {
						t.Fatalf("create with a lost answer: %v; the engine should reconcile and go on", err)
					}
					e.sim.ProcessPendingEvents()
					if err := e.checkApple(members, true); err != nil {
						t.Fatal(err)
					}
					if n := e.sim.Stats().Requests[endpoint]; n != 1 {
						t.Errorf("%s sent %d times; Apple had done the work of the first", endpoint, n)
					}
					if a, _ := e.eng.FindAssignment(ctx, in.BookID, g.ID); a.Licensed != len(members) || a.Status != engine.StatusComplete {
						t.Errorf("assignment = %+v, want %d licensed", a, len(members))
					}
				})
			})
		}
	}
}

// A server error before Apple did the work looks the same from here: the engine waits for the work
// until the event timeout has passed since it was sent (Apple's rule for resubmitting a pending
// event), then sends it again, once.
func TestDelivery_lostAnswerWithoutWorkIsSentAgainAfterTheTimeout(t *testing.T) {
	each(t, func(t *testing.T, db store.Kind) {
		e := newEnv(t, db, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
		_ = e.eng.Close()
		e.eng = e.openWith(func(c *engine.Config) { c.EventTimeout = 400 * time.Millisecond })
		ctx := context.Background()
		tok := e.addToken()
		members := emails("w", 5)
		g := e.group("Wait", false, members...)
		e.sim.ResetStats()
		e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/associate", Kind: applesim.FaultInternalError, Count: 1, RetryAfter: "0"})
		start := time.Now()
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		if _, err := e.eng.CreateAssignment(ctx, in); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 400*time.Millisecond {
			t.Errorf("re-sent after %s, before the event timeout", took)
		}
		e.sim.ProcessPendingEvents()
		if n := e.sim.Stats().Requests["POST /assets/associate"]; n != 2 {
			t.Errorf("associate sent %d times, want 2 (the refused one, then once more)", n)
		}
		if err := e.checkApple(members, true); err != nil {
			t.Fatal(err)
		}
	})
}

// A delivery journals all its associate requests before it sends the first. When Apple refuses
// one outright, the ones after it are never sent: the next run must not wait the event timeout
// for their work, as it must for a request whose answer was lost.
func TestDelivery_requestsNeverSentAreNotAwaited(t *testing.T) {
	each(t, func(t *testing.T, db store.Kind) {
		e := newEnv(t, db, applesim.Options{Limits: map[string]int{applesim.LimitMaxClientUserIDs: 4}})
		_ = e.eng.Close()
		e.eng = e.openWith(func(c *engine.Config) { c.EventTimeout = 20 * time.Second })
		ctx := context.Background()
		tok := e.addToken()
		members := emails("n", 10) // three associate requests of at most 4 users
		g := e.group("Unsent", false, members...)
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/associate", Kind: applesim.FaultErrorBody, ErrorNumber: 9602, Count: 1})
		if _, err := e.eng.CreateAssignment(ctx, in); err == nil {
			t.Fatal("the refused associate did not stop the delivery")
		}
		start := time.Now()
		if err := e.eng.Deliver(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the next delivery took %s: it waited for requests that were never sent", took)
		}
		e.sim.ProcessPendingEvents()
		if err := e.checkApple(members, true); err != nil {
			t.Fatal(err)
		}
	})
}
