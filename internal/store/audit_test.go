package store_test

import (
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// auditFixture is two tokens' audit entries and journal entries, as FindAudit reads them back.
type auditFixture struct {
	claim, assoc, create, lost store.AuditRecord
}

// fillAudit writes: t1's claim (no event) at 1 s, t1's associate (event ev1, journaled twice: sent,
// then settled) at 2 s, t2's create_users (ev2, sent with an error) at 3 s, and t1's associate of
// an event no journal entry of t1 carries (ev3; t2 has one) at 4 s.
func fillAudit(t *testing.T, s store.Store) auditFixture {
	t.Helper()
	insertToken(t, s, token("t1", "loc-1"))
	insertToken(t, s, token("t2", "loc-2"))
	f := auditFixture{
		claim:  store.AuditRecord{AuditEntry: store.AuditEntry{At: at(1), TokenID: "t1", Operation: "claim", Count: 1, Detail: "claimed"}},
		assoc:  store.AuditRecord{AuditEntry: store.AuditEntry{At: at(2), TokenID: "t1", Operation: "associate", EventID: "ev1", Count: 6}, Journaled: true, JournalState: "settled", JournalError: "9709 no licenses (1 users)"},
		create: store.AuditRecord{AuditEntry: store.AuditEntry{At: at(3), TokenID: "t2", Operation: "create_users", EventID: "ev2", Count: 2}, Journaled: true, JournalState: "sent", JournalError: "no uId"},
		lost:   store.AuditRecord{AuditEntry: store.AuditEntry{At: at(4), TokenID: "t1", Operation: "associate", EventID: "ev3", Count: 1}},
	}
	journal := []store.JournalEntry{
		{TokenID: "t1", Operation: "associate", State: "sent", EventID: "ev1"},
		{TokenID: "t1", Operation: "associate", State: "settled", EventID: "ev1", Error: "9709 no licenses (1 users)"},
		{TokenID: "t2", Operation: "create_users", State: "sent", EventID: "ev2", Error: "no uId"},
		{TokenID: "t2", Operation: "associate", State: "settled", EventID: "ev3"},
		{TokenID: "t1", Operation: "associate", State: "failed"}, // no event: joins no audit entry
	}
	mustTx(t, s, func(tx store.Tx) error {
		for _, j := range journal {
			if _, err := tx.InsertJournal(ctx, j); err != nil {
				return err
			}
		}
		for _, a := range []*store.AuditRecord{&f.claim, &f.assoc, &f.create, &f.lost} {
			if err := tx.InsertAudit(ctx, a.AuditEntry); err != nil {
				return err
			}
		}
		return nil
	})
	all := findAudit(t, s, store.AuditFilter{})
	if len(all) != 4 {
		t.Fatalf("FindAudit(all) = %+v", all)
	}
	f.claim.ID, f.assoc.ID, f.create.ID, f.lost.ID = all[0].ID, all[1].ID, all[2].ID, all[3].ID
	return f
}

func findAudit(t *testing.T, s store.Store, f store.AuditFilter) []store.AuditRecord {
	t.Helper()
	return query(t, s, func(tx store.Tx) ([]store.AuditRecord, error) { return tx.FindAudit(ctx, f) })
}

// FindAudit filters by token, time window (since inclusive, until exclusive, to the nanosecond),
// operations and count in SQL, and joins each entry to its own token's journal entry of its event.
func TestFindAudit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		f := fillAudit(t, s)
		ns := time.Nanosecond
		cases := []struct {
			name   string
			filter store.AuditFilter
			want   []store.AuditRecord
		}{
			{"all, oldest first, joined", store.AuditFilter{}, []store.AuditRecord{f.claim, f.assoc, f.create, f.lost}},
			{"one token", store.AuditFilter{TokenID: "t1"}, []store.AuditRecord{f.claim, f.assoc, f.lost}},
			{"unknown token", store.AuditFilter{TokenID: "t9"}, nil},
			{"since is inclusive", store.AuditFilter{Since: at(2)}, []store.AuditRecord{f.assoc, f.create, f.lost}},
			{"since a nanosecond later", store.AuditFilter{Since: at(2).Add(ns)}, []store.AuditRecord{f.create, f.lost}},
			{"until is exclusive", store.AuditFilter{Until: at(3)}, []store.AuditRecord{f.claim, f.assoc}},
			{"until a nanosecond later", store.AuditFilter{Until: at(3).Add(ns)}, []store.AuditRecord{f.claim, f.assoc, f.create}},
			{"window and token", store.AuditFilter{TokenID: "t1", Since: at(2), Until: at(5)}, []store.AuditRecord{f.assoc, f.lost}},
			{"empty window", store.AuditFilter{Since: at(3), Until: at(3)}, nil},
			{"operations", store.AuditFilter{Operations: []string{"claim", "create_users"}}, []store.AuditRecord{f.claim, f.create}},
			{"all filters", store.AuditFilter{TokenID: "t1", Since: at(1), Until: at(4), Operations: []string{"associate"}}, []store.AuditRecord{f.assoc}},
			{"limit", store.AuditFilter{TokenID: "t1", Limit: 2}, []store.AuditRecord{f.claim, f.assoc}},
		}
		for _, c := range cases {
			equal(t, c.name, findAudit(t, s, c.filter), c.want)
		}
		// ListAudit reads the same entries.
		mustTx(t, s, func(tx store.Tx) error {
			list, err := tx.ListAudit(ctx, "t1")
			equal(t, "ListAudit(t1)", list, []store.AuditEntry{f.claim.AuditEntry, f.assoc.AuditEntry, f.lost.AuditEntry})
			return err
		})
		// The audit outlives its token; the journal does not.
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(ctx, "t2") })
		gone := f.create
		gone.Journaled, gone.JournalState, gone.JournalError = false, "", ""
		equal(t, "after t2 was deleted", findAudit(t, s, store.AuditFilter{TokenID: "t2"}), []store.AuditRecord{gone})
	})
}
