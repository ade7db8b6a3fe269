package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Apple leaves some behaviours undocumented (apple-api.md §17); the simulator can take each the
// unfriendly way. The engine's everyday work must hold under every one of them: a token upload, a
// delivery to invited and Managed Apple Account members, a group that grows, a full sync, and a
// delivery with nothing left to do that sends nothing, with no double spend.
func TestQuirks_engineWorksWithEachUnfriendlyChoice(t *testing.T) {
	for name, q := range map[string]applesim.Quirks{
		"token errors with HTTP 200":                   {TokenErrorsAsOK: true},
		"totalPages 0 for an empty result":             {EmptyTotalPagesZero: true},
		"sinceVersionId invalidated by a removal":      {InvalidateSinceOnRemoval: true},
		"an already-assigned pair fails with 9616":     {AlreadyAssignedFails: true},
		"events forgotten at once (9708)":              {EventRetention: time.Millisecond},
		"client config replaced whole":                 {ClientConfigReplace: true},
		"client config kept per token":                 {ClientConfigPerToken: true},
		"no Retry-After on 429":                        {RateLimitRetryAfter: ""},
		"tokenExpirationDate only within 15 days":      {ExpirationDateWithin15Days: true},
		"empty clientUserId answered with legacy 9600": {EmptyClientUserIDError: 9600},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, store.SQLite, applesim.Options{PageSize: 7, Quirks: q})
			ctx := context.Background()
			tok := e.addToken()
			invited := emails("q", 15)
			managed := []string{"m1@corp.example.com", "m2@corp.example.com"}
			g := e.group("Quirky", false, invited...)
			mg := e.group("Quirky staff", true, managed...)
			for _, grp := range []engine.Group{g, mg} {
				in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: grp.ID, Intent: engine.IntentRequired}
				if _, err := e.eng.CreateAssignment(ctx, in); err != nil {
					t.Fatalf("create for %s: %v", grp.Name, err)
				}
			}
			grown := append(append([]string(nil), invited...), emails("r", 4)...)
			if _, _, err := e.eng.UpdateGroup(ctx, g.ID, engine.GroupInput{Name: "Quirky", Members: grown}); err != nil {
				t.Fatalf("growing the group: %v", err)
			}
			if synced, err := e.eng.SyncToken(ctx, tok.ID, true); err != nil || synced.LastSyncStatus != engine.SyncCompleted {
				t.Fatalf("full sync: %+v, %v", synced, err)
			}
			e.sim.ProcessPendingEvents()
			e.sim.ResetStats()
			if err := e.eng.Deliver(ctx, tok.ID); err != nil {
				t.Fatalf("delivery with nothing to do: %v", err)
			}
			if n := e.sim.Stats().Requests["POST /assets/associate"] + e.sim.Stats().Requests["POST /users/create"]; n != 0 {
				t.Errorf("a delivery with nothing to do sent %d requests", n)
			}
			if err := e.checkApple(append(grown, managed...), true); err != nil {
				t.Fatal(err)
			}
		})
	}
}
