package engine

import (
	"context"
	"sort"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Open work: what a change leaves to do. Once a group's books are delivered, each member's
// recorded delivery says so; a change of a few members of a group of 100,000 then plans, forecasts
// and records from the few members whose deliveries are not settled, not from every member's user,
// license and delivery.
//
// While a token's recorded delivery states are current (DeliveriesRecorded has caught up with
// DeliveriesGen: no write since may have changed them), each assignment's recorded deliveries are
// what deliveriesOf computes from the records, one for each member of its group. A member recorded
// licensed, with no error and no detail, then holds the book through its user; when every user
// record of the member is confirmed too, it is settled (settledRule): planDelivery neither creates
// its user nor grants it the book, and deliveriesOf records it licensed again. Leaving settled
// members out of the work changes nothing the work decides (TestOpenWorkDecidesAsTheWhole).

// settledRule is the rule of a settled member as the store applies it to the recorded states.
func settledRule() store.SettledRule {
	return store.SettledRule{State: DeliveryLicensed, Confirmed: confirmedStatuses}
}

// openLookups bounds how many members an open work reads the users and licenses of by email;
// past it, reading the token's users and licenses whole costs less.
const openLookups = 10000

// readOpenMembers reads, as the members of each group of the work, those whose delivery is not
// settled for every assignment of the group in it, with their recorded deliveries; the rest are
// counted per assignment (settled).
func (w *work) readOpenMembers(ctx context.Context, tx store.Tx, sc *scope) error {
	if len(w.assignments) == 0 {
		return nil
	}
	var adamID, pricing string
	if sc != nil {
		adamID, pricing = sc.book.adamID, sc.book.pricing
	}
	rows, err := tx.ListOpenDeliveries(ctx, w.token.ID, adamID, pricing, settledRule())
	if err != nil {
		return err
	}
	groupOf := make(map[string]string, len(w.assignments))
	for _, a := range w.assignments {
		groupOf[a.ID] = a.GroupID
	}
	open := map[string]map[string]bool{}
	for _, d := range rows {
		g, ok := groupOf[d.AssignmentID]
		if !ok {
			continue
		}
		w.previous[d.AssignmentID][d.Email] = d
		if open[g] == nil {
			open[g] = map[string]bool{}
		}
		open[g][d.Email] = true
	}
	for g := range w.groups {
		w.partial[g] = true
		w.members[g] = sortedKeys(open[g])
	}
	for _, a := range w.assignments {
		prev := w.previous[a.ID]
		for _, m := range w.members[a.GroupID] {
			if _, ok := prev[m]; !ok {
				// Open for another assignment of the group, settled for this one.
				prev[m] = store.Delivery{AssignmentID: a.ID, Email: m, State: DeliveryLicensed}
			}
		}
		rows, err := tx.CountDeliveries(ctx, a.ID)
		if err != nil {
			return err
		}
		w.settled[a.ID] = max(rows-len(w.members[a.GroupID]), 0)
	}
	return nil
}

// loadMembersUsersAndLicenses reads the users of an open work's members and their licenses of the
// work's books (and those of the users planDelivery would derive for members without one), and the
// licenses of its device groups' members.
func (w *work) loadMembersUsersAndLicenses(ctx context.Context, tx store.Tx) error {
	var emails, serials []string
	for g, ms := range w.members {
		if w.devices(g) {
			serials = append(serials, ms...)
		} else {
			emails = append(emails, ms...)
		}
	}
	if len(emails)+len(serials) > openLookups {
		return loadUsersAndLicenses(ctx, tx, w)
	}
	users, err := tx.ListVPPUsersByEmail(ctx, w.token.ID, emails)
	if err != nil {
		return err
	}
	for _, u := range users {
		w.users[u.Email] = u
	}
	hs := store.Holders{ClientUserIDs: make([]string, 0, len(emails)), SerialNumbers: serials}
	for _, m := range emails {
		if u, ok := w.users[m]; ok {
			hs.ClientUserIDs = append(hs.ClientUserIDs, u.ClientUserID)
		} else {
			hs.ClientUserIDs = append(hs.ClientUserIDs, clientUserID(w.token.LocationUID, m))
		}
	}
	read := map[bookKey]bool{}
	for _, a := range w.assignments {
		bk := bookKey{a.AdamID, a.PricingParam}
		if read[bk] {
			continue
		}
		read[bk] = true
		lic, err := tx.ListHolderLicenses(ctx, w.token.ID, bk.adamID, bk.pricing, hs)
		if err != nil {
			return err
		}
		for _, l := range lic {
			w.licensed[licenseHolder(l).of(bk)] = true
		}
	}
	return nil
}

// recordedMembers returns group g's members as the records hold them: the work's own, unless it
// holds them only in part.
func (w *work) recordedMembers(ctx context.Context, tx store.Tx, g string) ([]string, error) {
	if !w.partial[g] {
		return w.members[g], nil
	}
	return tx.ListMembers(ctx, g)
}

// changeMembers lays a change of group g's members over the work: removed (sorted, of its
// recorded members) leave it, and added (sorted, not recorded) join it, marked added. The removed
// members an open work left out were settled: they leave its counts.
func (w *work) changeMembers(g string, added, removed []string) {
	kept, left := subtractSorted(w.members[g], removed)
	if w.partial[g] {
		for _, a := range w.assignments {
			if a.GroupID == g {
				w.settled[a.ID] = max(w.settled[a.ID]-(len(removed)-left), 0)
			}
		}
	}
	merged, joined := unionSorted(kept, added)
	w.members[g] = merged
	if len(joined) > 0 && w.added[g] == nil {
		w.added[g] = make(map[string]bool, len(joined))
	}
	for _, m := range joined {
		w.added[g][m] = true
	}
	w.removed[g] = append(w.removed[g], removed...)
}

// deliveryChange is what recording one assignment's states writes: the states that changed, and
// the emails whose states go.
type deliveryChange struct {
	assignmentID string
	changed      []store.Delivery
	gone         []string
}

// deliveryChanges computes the states the work's plan gives its members and returns, assignment by
// assignment in id order, those that differ from the recorded ones, and the removal of those of
// members no longer in the assignment's group; the others are left as they are (a member left out
// of an open work keeps its settled state).
func deliveryChanges(w *work, f *runFailures, now time.Time) []deliveryChange {
	if f == nil {
		f = &runFailures{}
	}
	p := planDelivery(w)
	assignments := append([]store.Assignment(nil), w.assignments...)
	sort.Slice(assignments, func(i, j int) bool { return assignments[i].ID < assignments[j].ID })
	var out []deliveryChange
	for _, a := range assignments {
		list := deliveriesOf(w, p, a, f.users, f.pairs, now)
		removed := w.removed[a.GroupID]
		if len(removed) == 0 && sameDeliveries(list, w.previous[a.ID]) {
			continue
		}
		if changed, gone := changedDeliveries(list, w.previous[a.ID], removed); len(changed)+len(gone) > 0 {
			out = append(out, deliveryChange{a.ID, changed, gone})
		}
	}
	return out
}

// writeDeliveries writes the changes of the recorded states.
func writeDeliveries(ctx context.Context, tx store.Tx, changes []deliveryChange) error {
	for _, c := range changes {
		if err := tx.UpdateDeliveries(ctx, c.assignmentID, c.changed, c.gone); err != nil {
			return err
		}
	}
	return nil
}

// changedDeliveries returns the states of list that differ from those recorded (prev), and the
// emails (sorted) whose recorded states go: those of prev not in list, and removed.
func changedDeliveries(list []store.Delivery, prev map[string]store.Delivery, removed []string) ([]store.Delivery, []string) {
	var changed []store.Delivery
	in := make(map[string]bool, len(list))
	for _, d := range list {
		in[d.Email] = true
		if p, ok := prev[d.Email]; !ok || p.State != d.State || p.ErrorNumber != d.ErrorNumber || p.Detail != d.Detail {
			changed = append(changed, d)
		}
	}
	gone := map[string]bool{}
	for m := range prev {
		if !in[m] {
			gone[m] = true
		}
	}
	for _, m := range removed {
		if !in[m] {
			gone[m] = true
		}
	}
	return changed, sortedKeys(gone)
}

// diffSorted returns what after adds to before and what it removes, both sorted, in one pass over
// both (each sorted, without repeats).
func diffSorted(before, after []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || i < len(before) && before[i] < after[j]:
			removed = append(removed, before[i])
			i++
		case i == len(before) || after[j] < before[i]:
			added = append(added, after[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return added, removed
}

// subtractSorted returns a without the elements of b (both sorted, without repeats), and how many
// of b it held.
func subtractSorted(a, b []string) ([]string, int) {
	if len(b) == 0 {
		return a, 0
	}
	out := make([]string, 0, len(a))
	held, j := 0, 0
	for _, s := range a {
		for j < len(b) && b[j] < s {
			j++
		}
		if j < len(b) && b[j] == s {
			held++
			continue
		}
		out = append(out, s)
	}
	return out, held
}

// unionSorted merges a and b (both sorted, without repeats) and returns the elements of b that a
// did not hold.
func unionSorted(a, b []string) (merged, fresh []string) {
	if len(b) == 0 {
		return a, nil
	}
	merged = make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			merged = append(merged, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			merged = append(merged, b[j])
			fresh = append(fresh, b[j])
			j++
		default:
			merged = append(merged, a[i])
			i, j = i+1, j+1
		}
	}
	return merged, fresh
}

// sortedKeys returns the keys of set, sorted.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
