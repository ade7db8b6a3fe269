package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Terraform refreshes assignments in parallel, and each refresh rewrites the delivery records of
// its token's assignments; two processes may do it at once. Concurrent replacements of the same
// assignment's deliveries, from two store instances, all succeed and leave exactly one writer's
// whole set: each writer's set is its own (disjoint emails, its name in every row's detail, its
// own size), so rows of two writers merged together, or a set cut short, show. (On PostgreSQL the
// writers used to collide on the deliveries' primary key; without the assignment's row lock they
// would merge.)
func TestConcurrentReplaceDeliveries(t *testing.T) {
	t.Parallel()
	eachSharedDatabase(t, func(t *testing.T, a, b store.Store) {
		insertToken(t, a, token("t1", "l1"))
		mustTx(t, a, func(tx store.Tx) error {
			if err := tx.InsertGroup(ctx, store.Group{ID: "g1"}); err != nil {
				return err
			}
			return tx.InsertAssignment(ctx, store.Assignment{ID: "a1", TokenID: "t1", AdamID: "1", PricingParam: "STDQ", GroupID: "g1", Intent: "required"})
		})
		// sets[w] is writer w's set: emails of its own, marked with its name, 200+10*w of them.
		writers := []store.Store{a, b, a, b}
		sets := make([][]store.Delivery, len(writers))
		for w := range writers {
			for m := range 200 + 10*w {
				sets[w] = append(sets[w], store.Delivery{Email: fmt.Sprintf("w%d-m%04d@example.com", w, m), State: "licensed", Detail: fmt.Sprintf("writer %d", w)})
			}
		}
		for round := range 5 {
			var wg sync.WaitGroup
			for w, s := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Tx(ctx, func(tx store.Tx) error { return tx.ReplaceDeliveries(ctx, "a1", sets[w]) }); err != nil {
						t.Errorf("round %d, writer %d: %v", round, w, err)
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			mustTx(t, a, func(tx store.Tx) error {
				got, err := tx.ListDeliveries(context.Background(), "a1")
				if err != nil {
					return err
				}
				if problem := oneWritersSet(got, sets); problem != "" {
					t.Errorf("round %d: %d deliveries, not one writer's whole set: %s", round, len(got), problem)
				}
				return nil
			})
		}
	})
}

// oneWritersSet returns "" when got is exactly one of the sets (emails and details), or else
// what is wrong: how many rows each writer left, or which rows differ.
func oneWritersSet(got []store.Delivery, sets [][]store.Delivery) string {
	if len(got) == 0 {
		return "no rows at all"
	}
	rows := map[string]int{}
	for _, d := range got {
		rows[d.Detail]++
	}
	if len(rows) != 1 {
		var parts []string
		for w, n := range rows {
			parts = append(parts, fmt.Sprintf("%d rows of %s", n, w))
		}
		sort.Strings(parts)
		return "rows of several writers merged: " + strings.Join(parts, ", ")
	}
	for _, want := range sets {
		if len(want) == 0 || want[0].Detail != got[0].Detail {
			continue
		}
		if len(got) != len(want) {
			return fmt.Sprintf("%s wrote %d rows, %d are there", want[0].Detail, len(want), len(got))
		}
		emails := map[string]bool{}
		for _, d := range got {
			emails[d.Email] = true
		}
		for _, d := range want {
			if !emails[d.Email] {
				return fmt.Sprintf("%s's row %s is missing", d.Detail, d.Email)
			}
		}
		return ""
	}
	return fmt.Sprintf("rows of no writer (detail %q)", got[0].Detail)
}
