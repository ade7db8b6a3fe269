package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Terraform refreshes resources in parallel (10 at a time by default), and several processes may
// share one database: refreshing every assignment of a token at once, from two engines, never
// fails and leaves each assignment's delivery records whole.
func TestConcurrency_parallelRefreshes(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		var ids []string
		for i := range 4 {
			g := e.group(fmt.Sprintf("Readers %d", i), false, emails(fmt.Sprintf("r%d-", i), 250)...)
			a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		other := e.open() // a second process on the same database
		for round := range 5 {
			var wg sync.WaitGroup
			errs := make(chan error, 2*len(ids))
			for _, eng := range []*engine.Engine{e.eng, other} {
				for _, id := range ids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a, err := eng.RefreshAssignment(ctx, id)
						switch {
						case err != nil:
							errs <- fmt.Errorf("round %d, refresh of %s: %w", round, id, err)
						case a.Licensed != 250 || a.Status != engine.StatusComplete:
							errs <- fmt.Errorf("round %d, refresh of %s: %d licensed (%s), want 250 complete", round, id, a.Licensed, a.Status)
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if t.Failed() {
				return
			}
		}
	})
}
