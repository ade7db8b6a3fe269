package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Journal operations and states.
const (
	opCreateUsers = "create_users"
	opAssociate   = "associate"

	journalPrepared = "prepared"
	journalSent     = "sent"
	journalSettled  = "settled"
	journalFailed   = "failed"
)

type createUsersPayload struct {
	Users []apple.RequestUser `json:"users"`
}

type associatePayload struct {
	Assets        []apple.AssetRef `json:"assets"`
	ClientUserIDs []string         `json:"clientUserIds"`
}

// Deliver brings every assignment of the token to its intended licenses: it settles requests an
// earlier run left open, creates missing VPP users, associates books, and records each member's
// delivery state. It is safe to call again at any point: nothing is sent twice.
func (e *Engine) Deliver(ctx context.Context, tokenID string) error {
	return e.withTokenLock(ctx, tokenID, func() error { return e.deliver(ctx, tokenID) })
}

func (e *Engine) deliver(ctx context.Context, tokenID string) error {
	rec, c, err := e.usableToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if err := e.settle(ctx, rec, c); err != nil {
		return err
	}
	w, err := e.loadWork(ctx, tokenID)
	if err != nil {
		return err
	}
	p := planDelivery(w, e.ID())
	userFailures := map[string]failure{}
	pairFailures := map[pairKey]failure{}

	if len(p.newUsers) > 0 {
		if err := e.createUsers(ctx, rec, c, p.newUsers, userFailures); err != nil {
			return e.finish(ctx, tokenID, userFailures, pairFailures, err)
		}
		if w, err = e.loadWork(ctx, tokenID); err != nil {
			return err
		}
		p = planDelivery(w, e.ID())
	}
	if err := e.associate(ctx, rec, c, w, p, pairFailures); err != nil {
		return e.finish(ctx, tokenID, userFailures, pairFailures, err)
	}
	return e.finish(ctx, tokenID, userFailures, pairFailures, nil)
}

// finish records deliveries whatever happened, and returns cause.
func (e *Engine) finish(ctx context.Context, tokenID string, uf map[string]failure, pf map[pairKey]failure, cause error) error {
	if err := e.recordDeliveries(ctx, tokenID, &runFailures{users: uf, pairs: pf}); err != nil && cause == nil {
		return err
	}
	return cause
}

type runFailures struct {
	users map[string]failure
	pairs map[pairKey]failure
}

// recordDeliveries recomputes every assignment's per-member state of the token and stores it.
func (e *Engine) recordDeliveries(ctx context.Context, tokenID string, f *runFailures) error {
	w, err := e.loadWork(ctx, tokenID)
	if err != nil {
		return err
	}
	p := planDelivery(w, e.ID())
	if f == nil {
		f = &runFailures{}
	}
	now := e.now()
	ds := deliveries(w, p, f.users, f.pairs, func() store.Delivery { return store.Delivery{UpdatedAt: now} })
	ids := make([]string, 0, len(ds))
	for id := range ds {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return e.tx(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.ReplaceDeliveries(ctx, id, ds[id]); err != nil {
				return err
			}
		}
		return nil
	})
}

// usableToken returns the token and its client, refusing a token Apple or the owner has ruled out.
func (e *Engine) usableToken(ctx context.Context, tokenID string) (store.Token, *apple.Client, error) {
	var rec store.Token
	if err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.GetToken(ctx, tokenID)
		return notFound("token", tokenID, err)
	}); err != nil {
		return rec, nil, err
	}
	switch {
	case rec.State == StateExternalMDM:
		return rec, nil, &ExternalMDMError{LocationName: rec.LocationName, MDMName: "another MDM", MDMID: "see the token's state_detail"}
	case rec.State == StateExpired || rec.State == StateRevoked || rec.State == StateInvalid:
		return rec, nil, &TokenUnusableError{TokenID: tokenID, State: rec.State, Cause: errors.New(rec.StateDetail)}
	case !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(e.now()):
		return rec, nil, &TokenUnusableError{TokenID: tokenID, State: StateExpired, Cause: fmt.Errorf("expired %s", rec.ExpiresAt.Format(time.RFC3339))}
	}
	c, err := e.client(rec)
	return rec, c, err
}

// settle reconciles requests an earlier run journaled but did not settle (it crashed, was killed,
// or lost the response): it waits for known events, then reads Apple's records so the plan that
// follows sends only what is still missing.
func (e *Engine) settle(ctx context.Context, rec store.Token, c *apple.Client) error {
	var open []store.JournalEntry
	if err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		open, err = tx.ListOpenJournal(ctx, rec.ID)
		return err
	}); err != nil || len(open) == 0 {
		return err
	}
	tflog.Info(ctx, "Reconciling requests an earlier run left open", map[string]any{"token_id": rec.ID, "open": len(open)})
	var events []string
	for _, j := range open {
		if j.EventID != "" {
			events = append(events, j.EventID)
		}
	}
	statuses, pending, err := e.waitEvents(ctx, c, events)
	if err != nil {
		return e.appleError(rec.ID, "checking earlier requests (GET /status)", err)
	}
	if len(pending) > 0 {
		return &IncompleteError{Pending: len(pending), Reason: fmt.Sprintf("Apple is still processing %d earlier requests (event %s)", len(pending), pending[0])}
	}
	// Apple's records are the truth for requests whose outcome we never learned.
	if err := e.sync(ctx, rec.ID, false); err != nil {
		return err
	}
	now := e.now()
	return e.tx(ctx, func(tx store.Tx) error {
		for _, j := range open {
			j.State, j.UpdatedAt = journalSettled, now
			if st := statuses[j.EventID]; st != nil && st.Failed() {
				j.Error = summarizeFailures(st.Failures)
			}
			if err := tx.UpdateJournal(ctx, j); err != nil {
				return err
			}
		}
		return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: rec.ID, Operation: "reconcile", Count: len(open),
			Detail: "requests left open by an earlier run settled from Apple's records"})
	})
}

// createUsers creates VPP users in batches of maxUsers, journaled, then reads them back from Apple
// (statuses and invitation codes).
func (e *Engine) createUsers(ctx context.Context, rec store.Token, c *apple.Client, users []store.VPPUser, failures map[string]failure) error {
	lim, err := c.Limits(ctx)
	if err != nil {
		return e.appleError(rec.ID, "reading Apple's limits (GET /service/config)", err)
	}
	reqs := make([]apple.RequestUser, len(users))
	for i, u := range users {
		reqs[i] = apple.RequestUser{ClientUserID: u.ClientUserID, Email: u.Email}
		if u.Managed {
			reqs[i].ManagedAppleID = u.Email
		}
	}
	batches := apple.SplitUsers(reqs, lim)
	payloads := make([][]byte, len(batches))
	for i, b := range batches {
		payloads[i], _ = json.Marshal(createUsersPayload{Users: b})
	}
	// The users are recorded (unconfirmed) with their journal entries before anything is sent,
	// so whatever happens next, the sync that follows recognises them as ours.
	ids, err := e.journal(ctx, rec.ID, opCreateUsers, payloads, func(tx store.Tx) error {
		return tx.UpsertVPPUsers(ctx, users)
	})
	if err != nil {
		return err
	}
	events, sendErr := e.sendAll(ctx, rec.ID, opCreateUsers, ids, len(batches), func(i int) (*apple.EventResponse, int, error) {
		resp, err := c.CreateUsers(ctx, batches[i])
		return resp, len(batches[i]), err
	})
	statuses, pending, err := e.waitEvents(ctx, c, events)
	if err != nil {
		return e.appleError(rec.ID, "following user creation (GET /status)", err)
	}
	for _, st := range statuses {
		for _, f := range st.Failures {
			if f.Code == apple.CodeUserExists {
				continue // created earlier (a lost response); the sync below reads it
			}
			for _, id := range f.ClientUserIDs {
				failures[id] = failure{code: int(f.Code), message: f.Message}
			}
		}
	}
	// Read the users back: status (Managed Apple Accounts are associated at once) and invite codes.
	if err := e.sync(ctx, rec.ID, false); err != nil {
		return err
	}
	if err := e.settleEntries(ctx, ids, statuses, events, pending); err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	if len(pending) > 0 {
		return &IncompleteError{Pending: len(pending), Reason: fmt.Sprintf("Apple has not finished creating users (event %s)", pending[0])}
	}
	return nil
}

// associate sends the planned licenses: users needing the same set of books share requests,
// split by maxAssets x maxClientUserIds, journaled, then confirmed from the events' status.
func (e *Engine) associate(ctx context.Context, rec store.Token, c *apple.Client, w *work, p *deliveryPlan, failures map[pairKey]failure) error {
	// Per confirmed user, the books due now.
	booksOf := map[string][]bookKey{}
	for bk, emails := range p.grant {
		for _, m := range emails {
			if u, ok := w.users[m]; ok && confirmed(u) {
				booksOf[u.ClientUserID] = append(booksOf[u.ClientUserID], bk)
			}
		}
	}
	if len(booksOf) == 0 {
		return nil
	}
	lim, err := c.Limits(ctx)
	if err != nil {
		return e.appleError(rec.ID, "reading Apple's limits (GET /service/config)", err)
	}
	// Group users by identical book sets so several books for the same users share a request.
	bySet := map[string][]string{}
	setBooks := map[string][]apple.AssetRef{}
	for uid, books := range booksOf {
		sort.Slice(books, func(i, j int) bool {
			return books[i].adamID+"/"+books[i].pricing < books[j].adamID+"/"+books[j].pricing
		})
		parts := make([]string, len(books))
		refs := make([]apple.AssetRef, len(books))
		for i, b := range books {
			parts[i] = b.adamID + "/" + b.pricing
			refs[i] = apple.AssetRef{AdamID: b.adamID, PricingParam: b.pricing}
		}
		key := strings.Join(parts, ",")
		bySet[key] = append(bySet[key], uid)
		setBooks[key] = refs
	}
	keys := make([]string, 0, len(bySet))
	for k := range bySet {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var requests []apple.ManageAssetsRequest
	for _, k := range keys {
		sort.Strings(bySet[k])
		requests = append(requests, apple.SplitAssociations(setBooks[k], bySet[k], lim)...)
	}
	payloads := make([][]byte, len(requests))
	for i, r := range requests {
		payloads[i], _ = json.Marshal(associatePayload{Assets: r.Assets, ClientUserIDs: r.ClientUserIDs})
	}
	ids, err := e.journal(ctx, rec.ID, opAssociate, payloads, nil)
	if err != nil {
		return err
	}
	eventOf := make([]string, len(requests))
	events, sendErr := e.sendAll(ctx, rec.ID, opAssociate, ids, len(requests), func(i int) (*apple.EventResponse, int, error) {
		resp, err := c.AssociateAssets(ctx, requests[i])
		if err == nil {
			eventOf[i] = resp.EventID
		}
		return resp, len(requests[i].Assets) * len(requests[i].ClientUserIDs), err
	})
	statuses, pending, err := e.waitEvents(ctx, c, events)
	if err != nil {
		return e.appleError(rec.ID, "following license delivery (GET /status)", err)
	}

	// A COMPLETE event licensed every pair it carried; a FAILED one names what failed.
	var granted []store.License
	now := e.now()
	countByBook := map[bookKey]int{}
	needRead := false
	for i, r := range requests {
		st := statuses[eventOf[i]]
		if st == nil {
			continue // not sent, or still pending: the next run settles it
		}
		failed := map[pairKey]failure{}
		for _, f := range st.Failures {
			assets := f.Assets
			if len(assets) == 0 {
				assets = r.Assets
			}
			if len(f.ClientUserIDs) == 0 {
				needRead = true // Apple did not say whom; read the truth below
				continue
			}
			for _, uid := range f.ClientUserIDs {
				for _, a := range assets {
					failed[pairKey{bookKey{a.AdamID, pricingOr(a.PricingParam)}, uid}] = failure{code: int(f.Code), message: f.Message}
				}
			}
		}
		if st.Failed() && len(failed) == 0 {
			needRead = true
		}
		for _, a := range r.Assets {
			bk := bookKey{a.AdamID, pricingOr(a.PricingParam)}
			for _, uid := range r.ClientUserIDs {
				pk := pairKey{bk, uid}
				if f, bad := failed[pk]; bad {
					failures[pk] = f
					continue
				}
				if st.Failed() && needRead {
					continue
				}
				granted = append(granted, store.License{TokenID: rec.ID, AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: uid, AssignedAt: now})
				countByBook[bk]++
			}
		}
	}
	if err := e.tx(ctx, func(tx store.Tx) error {
		if err := tx.UpsertLicenses(ctx, granted); err != nil {
			return err
		}
		// Keep counts true until the next sync reads Apple's.
		for bk, n := range countByBook {
			b, err := tx.GetBook(ctx, rec.ID, bk.adamID, bk.pricing)
			if err != nil {
				return err
			}
			b.Assigned += n
			b.Available = max(b.Available-n, 0)
			if err := tx.UpsertBooks(ctx, []store.Book{b}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if needRead || sendErr != nil {
		if err := e.sync(ctx, rec.ID, false); err != nil {
			return err
		}
	}
	if err := e.settleEntries(ctx, ids, statuses, eventOf, pending); err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	if len(pending) > 0 {
		return &IncompleteError{Pending: len(pending), Reason: fmt.Sprintf("Apple has not finished delivering licenses (event %s)", pending[0])}
	}
	return nil
}

func pricingOr(p string) string {
	if p == "" {
		return PricingStandard
	}
	return p
}

// journal records prepared entries (and whatever extra writes belong with them) in one
// transaction, before anything is sent.
func (e *Engine) journal(ctx context.Context, tokenID, op string, payloads [][]byte, extra func(tx store.Tx) error) ([]int64, error) {
	ids := make([]int64, len(payloads))
	now := e.now()
	err := e.tx(ctx, func(tx store.Tx) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		for i, p := range payloads {
			id, err := tx.InsertJournal(ctx, store.JournalEntry{TokenID: tokenID, Operation: op, Payload: p, State: journalPrepared, CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	return ids, err
}

// sendAll sends journaled requests in order and records each accepted event with an audit entry.
// It stops at the first failure: an outcome-unknown request stays "sent" for the next run to
// reconcile; a refused one is marked failed. It returns the accepted event ids.
func (e *Engine) sendAll(ctx context.Context, tokenID, op string, ids []int64, n int, send func(i int) (*apple.EventResponse, int, error)) ([]string, error) {
	var events []string
	for i := 0; i < n; i++ {
		resp, count, err := send(i)
		now := e.now()
		entry := store.JournalEntry{ID: ids[i], TokenID: tokenID, Operation: op, UpdatedAt: now}
		switch {
		case err == nil:
			entry.State, entry.EventID = journalSent, resp.EventID
			events = append(events, resp.EventID)
		case errors.Is(err, apple.ErrOutcomeUnknown):
			entry.State, entry.Error = journalSent, "outcome unknown: "+err.Error()
		default:
			entry.State, entry.Error = journalFailed, err.Error()
		}
		if uerr := e.tx(ctx, func(tx store.Tx) error {
			if err := tx.UpdateJournal(ctx, entry); err != nil {
				return err
			}
			if entry.EventID == "" {
				return nil
			}
			return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: tokenID, Operation: op, EventID: entry.EventID, Count: count})
		}); uerr != nil {
			return events, uerr
		}
		if err != nil {
			return events, e.appleError(tokenID, "sending "+strings.ReplaceAll(op, "_", " ")+" request", err)
		}
	}
	return events, nil
}

// settleEntries marks journal entries settled once their events are done (or never got one).
func (e *Engine) settleEntries(ctx context.Context, ids []int64, statuses map[string]*apple.EventStatus, eventOf []string, pending []string) error {
	stillPending := make(map[string]bool, len(pending))
	for _, p := range pending {
		stillPending[p] = true
	}
	now := e.now()
	return e.tx(ctx, func(tx store.Tx) error {
		for i, id := range ids {
			var ev string
			if i < len(eventOf) {
				ev = eventOf[i]
			}
			if ev == "" || stillPending[ev] {
				continue // never accepted (failed or unknown), or still running: left for settle
			}
			entry := store.JournalEntry{ID: id, State: journalSettled, EventID: ev, UpdatedAt: now}
			if st := statuses[ev]; st != nil && st.Failed() {
				entry.Error = summarizeFailures(st.Failures)
			}
			if err := tx.UpdateJournal(ctx, entry); err != nil {
				return err
			}
		}
		return nil
	})
}

// waitEvents polls Apple's event status, as Apple asks: a first look soon, then no more often than
// the poll interval, for at most the event timeout. Events still pending then are returned.
func (e *Engine) waitEvents(ctx context.Context, c *apple.Client, ids []string) (map[string]*apple.EventStatus, []string, error) {
	done := make(map[string]*apple.EventStatus, len(ids))
	pending := append([]string(nil), ids...)
	deadline := time.Now().Add(e.cfg.EventTimeout)
	wait := e.cfg.FirstPoll
	for len(pending) > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return done, pending, ctx.Err()
		case <-t.C:
		}
		var still []string
		for _, id := range pending {
			st, err := c.EventStatus(ctx, id)
			switch {
			case errors.Is(err, apple.CodeEventNotFound):
				done[id] = nil // Apple forgot it; the records read afterwards are the truth
			case err != nil:
				return done, pending, err
			case st.Done():
				done[id] = st
			default:
				still = append(still, id)
			}
		}
		pending = still
		if time.Now().After(deadline) {
			break
		}
		wait = e.cfg.PollInterval
	}
	return done, pending, nil
}

func summarizeFailures(fs []apple.EventFailure) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d %s (%d users)", int(f.Code), f.Message, len(f.ClientUserIDs)))
	}
	return strings.Join(parts, "; ")
}
