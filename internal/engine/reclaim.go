package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// opDisassociate journals a request that takes licenses back (POST /assets/disassociate). Its
// payload has the associate's shape: the asset and the clientUserIds.
const opDisassociate = "disassociate"

// removal is what removing an assignment does to the licenses of its asset: the holders (users
// and devices) whose licenses are reclaimed (sorted: byHolder), and how many licenses stay.
type removal struct {
	asset   bookKey
	reclaim []holder
	kept    int
}

// byHolder orders holders: users by clientUserId, then devices by serial number.
func byHolder(a, b holder) int {
	return cmp.Or(strings.Compare(a.serial, b.serial), strings.Compare(a.clientUserID, b.clientUserID))
}

// holdersIn splits holders into the users and the devices a request or a record names.
func holdersIn(hs []holder) store.Holders {
	var out store.Holders
	for _, h := range hs {
		if h.serial != "" {
			out.SerialNumbers = append(out.SerialNumbers, h.serial)
		} else {
			out.ClientUserIDs = append(out.ClientUserIDs, h.clientUserID)
		}
	}
	return out
}

// reclaims reports whether Apple lets the asset's licenses be taken back: a revocable app's.
func reclaims(a store.Asset) bool { return productOf(a) == store.ProductApp && a.Revocable }

// planRemoval says what removing assignment a does: a revocable app's licenses held by members of
// its group are reclaimed, unless another assignment of the app covers the member (whatever its
// intent: the member keeps the app through it); every other license stays.
func (e *Engine) planRemoval(ctx context.Context, a store.Assignment) (removal, error) {
	return e.planLeaving(ctx, a, nil)
}

// planLeaving is planRemoval for the members leaving (nil: every member of a's group), as when
// they leave the group: what a's asset's licenses they hold become once a no longer covers them.
func (e *Engine) planLeaving(ctx context.Context, a store.Assignment, leaving []string) (removal, error) {
	bk := bookKey{a.AdamID, a.PricingParam}
	w, err := e.loadWork(ctx, a.TokenID, &scope{book: bk, noStates: true})
	if err != nil {
		return removal{}, err
	}
	if leaving == nil {
		leaving = w.members[a.GroupID]
	}
	asset, known := w.books[bk]
	revocable := known && reclaims(asset)
	covered := map[string]bool{}
	for _, o := range w.assignments {
		if o.ID == a.ID {
			continue
		}
		for _, m := range w.members[o.GroupID] {
			covered[m] = true
		}
	}
	r := removal{asset: bk}
	for _, m := range leaving {
		h := w.holderOf(a.GroupID, m)
		if !w.licensed[h.of(bk)] {
			continue
		}
		if !revocable || covered[m] {
			r.kept++
			continue
		}
		r.reclaim = append(r.reclaim, h)
	}
	slices.SortFunc(r.reclaim, byHolder)
	return r, nil
}

// reclaimLeaving takes back the revocable app licenses that the members leaving group groupID
// hold through its assignments, where no other assignment of the app covers them: token by token,
// settled first, under the token's lock. It runs before the members leave the records, so that an
// update cut short finds them there again and the next one resumes; what is already reclaimed is
// not held any more and is not sent again.
func (e *Engine) reclaimLeaving(ctx context.Context, groupID string, leaving []string) (int, error) {
	if len(leaving) == 0 {
		return 0, nil
	}
	apps, err := e.reclaimingAssignments(ctx, groupID)
	if err != nil || len(apps) == 0 {
		return 0, err
	}
	total := 0
	for i := 0; i < len(apps); {
		j := i
		for j < len(apps) && apps[j].TokenID == apps[i].TokenID {
			j++
		}
		n, err := e.reclaimAtToken(ctx, apps[i:j], leaving)
		total += n
		if err != nil {
			return total, err
		}
		i = j
	}
	return total, nil
}

// reclaimingAssignments lists the group's assignments of revocable apps, by token.
func (e *Engine) reclaimingAssignments(ctx context.Context, groupID string) ([]store.Assignment, error) {
	var apps []store.Assignment
	err := e.view(ctx, func(tx store.Tx) error {
		all, err := tx.ListAssignmentsByGroup(ctx, groupID)
		if err != nil {
			return err
		}
		for _, a := range all {
			if asset, err := tx.GetAsset(ctx, a.TokenID, a.AdamID, a.PricingParam); err == nil && reclaims(asset) {
				apps = append(apps, a)
			}
		}
		return nil
	})
	slices.SortFunc(apps, func(a, b store.Assignment) int { return strings.Compare(a.TokenID+"/"+a.ID, b.TokenID+"/"+b.ID) })
	return apps, err
}

// reclaimableLeaving counts the licenses reclaimLeaving would take back, without sending anything.
func (e *Engine) reclaimableLeaving(ctx context.Context, groupID string, leaving []string) (int, error) {
	if len(leaving) == 0 {
		return 0, nil
	}
	apps, err := e.reclaimingAssignments(ctx, groupID)
	n := 0
	for _, a := range apps {
		if err != nil {
			break
		}
		var r removal
		r, err = e.planLeaving(ctx, a, leaving)
		n += len(r.reclaim)
	}
	return n, err
}

// reclaimAtToken is reclaimLeaving for the app assignments of one token, in passes (lockedPasses).
func (e *Engine) reclaimAtToken(ctx context.Context, apps []store.Assignment, leaving []string) (int, error) {
	tokenID := apps[0].TokenID
	freed := map[pairKey]bool{}
	err := e.lockedPasses(ctx, tokenID, "reclaim", func() error { return e.reclaimLeavingPass(ctx, apps, leaving, freed) })
	return len(freed), err
}

func (e *Engine) reclaimLeavingPass(ctx context.Context, apps []store.Assignment, leaving []string, freed map[pairKey]bool) error {
	rec, c, err := e.usableToken(ctx, apps[0].TokenID)
	if err != nil {
		return err
	}
	if err := e.settle(ctx, rec, c); err != nil {
		return err
	}
	for _, a := range apps {
		r, err := e.planLeaving(ctx, a, leaving)
		if err != nil {
			return err
		}
		for _, h := range r.reclaim {
			freed[h.of(r.asset)] = true
		}
		if _, err := e.disassociate(ctx, rec, c, r.asset, r.reclaim); err != nil {
			return err
		}
	}
	return nil
}

// ForecastRemoval says what removing the assignment id would do to its licenses, without doing
// it: for a revocable app, how many licenses would be reclaimed (members no other assignment of the
// app covers) and how many kept; for a book, or an app Apple does not let be reclaimed, how many
// stay with their users.
func (e *Engine) ForecastRemoval(ctx context.Context, id string) (RemoveReport, error) {
	a, err := e.assignmentRecord(ctx, id)
	if err != nil {
		return RemoveReport{}, err
	}
	r, err := e.planRemoval(ctx, a)
	return RemoveReport{LicensesKept: r.kept, LicensesReclaimed: len(r.reclaim)}, err
}

func (e *Engine) assignmentRecord(ctx context.Context, id string) (store.Assignment, error) {
	var a store.Assignment
	err := e.view(ctx, func(tx store.Tx) error {
		var err error
		a, err = tx.GetAssignment(ctx, id)
		return notFound("assignment", id, err)
	})
	return a, err
}

// removeReclaiming removes assignment a of a revocable app: it settles what an earlier run left
// open, takes back at Apple the licenses the removal frees (planRemoval), and forgets the
// assignment only once Apple confirmed them all. When it stops early, the assignment stays, so
// that removing it again resumes: licenses already reclaimed are no longer held, and are not sent
// again.
func (e *Engine) removeReclaiming(ctx context.Context, a store.Assignment) (RemoveReport, error) {
	var rep RemoveReport
	freed := map[holder]bool{} // every holder a pass set out to reclaim from
	err := e.lockedPasses(ctx, a.TokenID, "reclaim", func() error { return e.reclaimPass(ctx, a, &rep, freed) })
	return rep, err
}

// reclaimPass is one pass of removeReclaiming. The users it sets out to reclaim from join freed;
// rep counts what was reclaimed: all of freed once the pass completes (a license an earlier pass
// sent for and this one's settle found gone counts too).
func (e *Engine) reclaimPass(ctx context.Context, a store.Assignment, rep *RemoveReport, freed map[holder]bool) error {
	rec, c, err := e.usableToken(ctx, a.TokenID)
	if err != nil {
		return err
	}
	if err := e.settle(ctx, rec, c); err != nil {
		return err
	}
	r, err := e.planRemoval(ctx, a)
	if err != nil {
		return err
	}
	rep.LicensesKept = r.kept
	for _, h := range r.reclaim {
		freed[h] = true
	}
	n, err := e.disassociate(ctx, rec, c, r.asset, r.reclaim)
	if err != nil {
		rep.LicensesReclaimed = len(freed) - len(r.reclaim) + n
		return err
	}
	rep.LicensesReclaimed = len(freed)
	return e.tx(ctx, func(tx store.Tx) error {
		if err := tx.TouchDeliveries(ctx, a.TokenID); err != nil {
			return err
		}
		return tx.DeleteAssignment(ctx, a.ID)
	})
}

// disassociate takes the licenses of asset bk back from the holders hs (users and devices) at
// Apple: journaled, in requests within Apple's limits, sent in order and confirmed from their
// events. The licenses Apple confirmed leave the records and return to the asset's available
// count. It returns how many were taken back; any it could not take back is a ReclaimError (or the
// error that stopped it).
func (e *Engine) disassociate(ctx context.Context, rec store.Token, c *apple.Client, bk bookKey, hs []holder) (int, error) {
	if len(hs) == 0 {
		return 0, nil
	}
	lim, err := c.Limits(ctx)
	if err != nil {
		return 0, e.appleError(rec.ID, "reading Apple's limits (GET /service/config)", err)
	}
	requests := manageRequests([]apple.AssetRef{{AdamID: bk.adamID, PricingParam: bk.pricing}}, holdersIn(hs), lim)
	payloads := make([][]byte, len(requests))
	for i, r := range requests {
		payloads[i] = payloadOf(r)
	}
	ids, err := e.journal(ctx, rec.ID, opDisassociate, payloads, nil)
	if err != nil {
		return 0, err
	}
	eventOf := make([]string, len(requests))
	journaled := func(i int) (int64, error) { return ids[i], nil }
	sending := e.startProgress(ctx, rec.ID, "Reclaiming licenses", len(hs), "licenses")
	sent, events, sendErr := e.sendAll(ctx, rec.ID, opDisassociate, len(requests), sending, journaled, func(i int) (*apple.EventResponse, int, error) {
		resp, err := c.DisassociateAssets(ctx, requests[i])
		if err == nil {
			eventOf[i] = resp.EventID
		}
		return resp, licensesOf(requests[i]), err
	})
	sending.finish()
	if err := e.dropUnsent(ctx, ids[len(sent):]); err != nil && sendErr == nil {
		return 0, err
	}
	statuses, pending, err := e.waitEvents(ctx, c, rec.ID, "Waiting for Apple to reclaim licenses", events)
	if err != nil {
		return 0, e.appleError(rec.ID, "following the reclaim of licenses (GET /status)", err)
	}
	// What a finished event released is what it did not name as failed: grantsFromStatuses reads
	// an associate's grants, and a disassociate's releases, from the same statuses.
	released, _, failures, needRead := grantsFromStatuses(rec.ID, requests, eventOf, statuses, e.now())
	if needRead || sendErr != nil {
		// Apple's records say what was taken back; an incremental read does not show removals.
		if err := e.readAssetLicenses(ctx, c, rec, bk); err != nil {
			return 0, err
		}
	} else if err := e.recordReleases(ctx, rec.ID, bk, released); err != nil {
		return 0, err
	}
	if err := e.settleEntries(ctx, ids, statuses, eventOf, pending); err != nil {
		return 0, err
	}
	held, err := e.stillHeld(ctx, rec.ID, bk, hs)
	if err != nil {
		return 0, err
	}
	n := len(hs) - len(held)
	switch {
	case sendErr != nil:
		return n, sendErr
	case len(pending) > 0:
		return n, &IncompleteError{Pending: len(pending), Reason: fmt.Sprintf("Apple has not finished reclaiming licenses (event %s)", pending[0])}
	case len(held) > 0:
		return n, reclaimError(bk, held, failures)
	}
	return n, nil
}

// recordReleases removes the released licenses of asset bk from the records and counts them as
// available again, in one transaction.
func (e *Engine) recordReleases(ctx context.Context, tokenID string, bk bookKey, released []store.License) error {
	if len(released) == 0 {
		return nil
	}
	hs := make([]holder, len(released))
	for i, l := range released {
		hs[i] = licenseHolder(l)
	}
	of := holdersIn(hs)
	return e.tx(ctx, func(tx store.Tx) error {
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
		if err := tx.ReplaceAssetLicenses(ctx, tokenID, bk.adamID, bk.pricing, &of, nil); err != nil {
			return err
		}
		// Keep counts true until the next sync reads Apple's.
		a, err := tx.GetAsset(ctx, tokenID, bk.adamID, bk.pricing)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		a.Assigned = max(a.Assigned-len(released), 0)
		a.Available += len(released)
		return tx.UpsertAssets(ctx, []store.Asset{a})
	})
}

// readAssetLicenses reads at Apple every assignment of asset bk (GET /assignments with its adamId
// and pricingParam) and records those of the engine's users, and every device's, as the asset's
// licenses: what a disassociate whose outcome is not known left, since Apple's changes-since reads
// do not show removed assignments.
func (e *Engine) readAssetLicenses(ctx context.Context, c *apple.Client, rec store.Token, bk bookKey) error {
	now := e.now()
	var held []store.License
	_, err := c.EachAssignment(ctx, apple.AssignmentQuery{AdamID: bk.adamID, PricingParam: bk.pricing}, func(restart bool, page []apple.Assignment) error {
		if restart {
			held = held[:0]
		}
		for _, a := range page {
			if (a.ClientUserID != "" || a.SerialNumber != "") && a.AdamID == bk.adamID && pricingOr(a.PricingParam) == bk.pricing {
				held = append(held, store.License{TokenID: rec.ID, AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: a.ClientUserID, SerialNumber: a.SerialNumber, AssignedAt: now})
			}
		}
		return nil
	})
	if err != nil {
		return e.appleError(rec.ID, "reading the licenses of an app (GET /assignments)", err)
	}
	// The records keep the licenses of the engine's own users only, as a sync does.
	var own []store.VPPUser
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		own, err = tx.ListVPPUsers(ctx, rec.ID)
		return err
	}); err != nil {
		return err
	}
	ours := make(map[string]bool, len(own))
	for _, u := range own {
		ours[u.ClientUserID] = true
	}
	held = slices.DeleteFunc(held, func(l store.License) bool { return l.SerialNumber == "" && !ours[l.ClientUserID] })
	// The counts too: the last sync's may be from before the work was done.
	counts, err := c.GetAssets(ctx, apple.AssetQuery{AdamID: bk.adamID, PricingParam: bk.pricing})
	if err != nil {
		return e.appleError(rec.ID, "reading the license counts of an app (GET /assets)", err)
	}
	return e.tx(ctx, func(tx store.Tx) error {
		if err := tx.ReplaceAssetLicenses(ctx, rec.ID, bk.adamID, bk.pricing, nil, held); err != nil {
			return err
		}
		if err := tx.TouchDeliveries(ctx, rec.ID); err != nil {
			return err
		}
		a, err := tx.GetAsset(ctx, rec.ID, bk.adamID, bk.pricing)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, got := range counts.Assets {
			if got.AdamID == bk.adamID && pricingOr(got.PricingParam) == bk.pricing {
				a.Total, a.Assigned, a.Available, a.Retired = got.TotalCount, got.AssignedCount, got.AvailableCount, got.RetiredCount
			}
		}
		return tx.UpsertAssets(ctx, []store.Asset{a})
	})
}

// stillHeld lists which of the holders hs the records show still holding a license of asset bk.
func (e *Engine) stillHeld(ctx context.Context, tokenID string, bk bookKey, hs []holder) ([]holder, error) {
	var held []holder
	err := e.view(ctx, func(tx store.Tx) error {
		list, err := tx.ListHolderLicenses(ctx, tokenID, bk.adamID, bk.pricing, holdersIn(hs))
		for _, l := range list {
			held = append(held, licenseHolder(l))
		}
		return err
	})
	slices.SortFunc(held, byHolder)
	return held, err
}

// reclaimError says which licenses Apple did not take back, with the failure it named for the
// first of them (byHolder), if any.
func reclaimError(bk bookKey, held []holder, failures map[pairKey]failure) *ReclaimError {
	out := &ReclaimError{AdamID: bk.adamID, Remaining: len(held)}
	keys := slices.SortedFunc(maps.Keys(failures), func(a, b pairKey) int { return byHolder(a.holder(), b.holder()) })
	if len(keys) > 0 {
		out.ErrorNumber, out.Detail = failures[keys[0]].code, failures[keys[0]].message
	}
	return out
}

// readDisassociated reads at Apple the licenses of every asset a disassociate among entries
// names, so that whether its work was done can be told from the records: Apple's changes-since
// reads do not show removed assignments.
func (e *Engine) readDisassociated(ctx context.Context, tokenID string, entries []store.JournalEntry) error {
	assets := map[bookKey]bool{}
	for _, j := range entries {
		if j.Operation != opDisassociate {
			continue
		}
		var p associatePayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return fmt.Errorf("journal entry %d: %w", j.ID, err)
		}
		for _, a := range p.Assets {
			assets[bookKey{a.AdamID, pricingOr(a.PricingParam)}] = true
		}
	}
	if len(assets) == 0 {
		return nil
	}
	rec, err := e.tokenRecord(ctx, tokenID)
	if err != nil {
		return err
	}
	c, err := e.client(rec)
	if err != nil {
		return err
	}
	for _, bk := range slices.SortedFunc(maps.Keys(assets), func(a, b bookKey) int {
		return strings.Compare(a.adamID+"/"+a.pricing, b.adamID+"/"+b.pricing)
	}) {
		if err := e.readAssetLicenses(ctx, c, rec, bk); err != nil {
			return err
		}
	}
	return nil
}
