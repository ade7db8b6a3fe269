package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// Terraform refreshes assignments in parallel, and each refresh rewrites the delivery records of
// its token's assignments; two processes may do it at once. Concurrent replacements of the same
// assignment's deliveries, from two store instances, all succeed and leave the records whole.
// (On PostgreSQL they used to collide on the deliveries' primary key.)
func TestConcurrentReplaceDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		a := storetest.OpenURL(t, url)
		b := storetest.OpenURL(t, url)
		insertToken(t, a, token("t1", "l1"))
		mustTx(t, a, func(tx store.Tx) error {
			if err := tx.InsertGroup(ctx, store.Group{ID: "g1"}); err != nil {
				return err
			}
			return tx.InsertAssignment(ctx, store.Assignment{ID: "a1", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g1", Intent: "required"})
		})
		for round := range 5 {
			var wg sync.WaitGroup
			for i, s := range []store.Store{a, b, a, b} {
				var ds []store.Delivery
				for m := range 200 + 10*i {
					ds = append(ds, store.Delivery{Email: fmt.Sprintf("m%04d@example.com", m), State: "licensed"})
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Tx(ctx, func(tx store.Tx) error { return tx.ReplaceDeliveries(ctx, "a1", ds) }); err != nil {
						t.Errorf("round %d: %v", round, err)
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			mustTx(t, a, func(tx store.Tx) error {
				got, err := tx.ListDeliveries(context.Background(), "a1")
				if n := len(got); n < 200 || n > 230 || (n-200)%10 != 0 {
					t.Errorf("round %d: %d deliveries, want one writer's whole set", round, n)
				}
				return err
			})
		}
	})
}
