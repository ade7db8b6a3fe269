package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

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
	SerialNumbers []string         `json:"serialNumbers,omitempty"`
}

// Deliver brings every assignment of the token to its intended licenses: it settles requests an
// earlier run left open, creates missing VPP users, associates books, and records each member's
// delivery state. It is safe to call again at any point: nothing is sent twice.
func (e *Engine) Deliver(ctx context.Context, tokenID string) error {
	_, err := e.deliverReporting(ctx, tokenID, nil)
	return err
}

// deliverReporting is Deliver for the scope (nil: the whole token), reporting the existing users it
// adopted.
func (e *Engine) deliverReporting(ctx context.Context, tokenID string, sc *scope) (Adoption, error) {
	var rep Adoption
	err := e.lockedPasses(ctx, tokenID, "delivery", func() error { return e.deliver(ctx, tokenID, sc, &rep) })
	return rep, err
}

// maxDeliveryPasses bounds the passes of one delivery (or reclaim) when Apple's answers are lost.
const maxDeliveryPasses = 3

// lockedPasses runs pass under the token's lock, again while it ends with an answer from Apple
// lost (at most maxDeliveryPasses times): the next pass's settle reconciles such a request, waiting
// for its work in Apple's records before anything of it is sent again. what names the work in the
// log.
func (e *Engine) lockedPasses(ctx context.Context, tokenID, what string, pass func() error) error {
	return e.withTokenLock(ctx, tokenID, func() error {
		for n := 1; ; n++ {
			err := pass()
			if n == maxDeliveryPasses || !errors.Is(err, apple.ErrOutcomeUnknown) || ctx.Err() != nil {
				return err
			}
			e.info(ctx, "An answer from Apple was lost; reconciling before the "+what+" goes on", "token_id", tokenID, "pass", n)
		}
	})
}

// deliverBook is Deliver for the assignments of one book: what creating or changing an assignment
// needs. Its cost follows the book's assignments, not the token's, so that an apply creating many
// assignments does not cost the square of their number. Requests an earlier run left open are
// settled whatever their book.
func (e *Engine) deliverBook(ctx context.Context, tokenID, adamID, pricing string) (Adoption, error) {
	return e.deliverReporting(ctx, tokenID, &scope{book: bookKey{adamID, pricing}})
}

func (e *Engine) deliver(ctx context.Context, tokenID string, sc *scope, rep *Adoption) error {
	rec, c, err := e.usableToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if err := e.settle(ctx, rec, c); err != nil {
		return err
	}
	// The members whose recorded deliveries are settled need nothing: they are left out of the work
	// while the recorded states are current (loadOpenWork), which they are no more once anything
	// was written since.
	w, err := e.loadOpenWork(ctx, tokenID, sc)
	if err != nil {
		return err
	}
	p := planDelivery(w)
	if len(p.newUsers) > 0 || len(p.grant) > 0 {
		// Something is to be sent: the records must first hold what Apple holds.
		read, err := e.readAppleFirst(ctx, rec, c, rep, p)
		if err != nil {
			return e.finish(ctx, tokenID, sc, nil, nil, nil, err)
		}
		if read {
			if w, err = e.loadOpenWork(ctx, tokenID, sc); err != nil {
				return err
			}
			p = planDelivery(w)
		}
	}
	userFailures := map[string]failure{}
	pairFailures := map[pairKey]failure{}

	if len(p.newUsers) > 0 {
		// Once createUsers journaled them, the records hold the new users as planned, then as
		// Apple reports them: the work in memory follows, rather than being read again.
		for _, u := range p.newUsers {
			if old, ok := w.users[u.Email]; !ok || !confirmed(old) {
				w.users[u.Email] = u
			}
		}
		var own []store.VPPUser // an open work holds its members' users only: createUsers reads the token's
		if !w.open {
			own = make([]store.VPPUser, 0, len(w.users))
			for _, u := range w.users {
				own = append(own, u)
			}
		}
		err := e.createUsers(ctx, rec, c, p.newUsers, own, func(u store.VPPUser) { w.users[u.Email] = u }, userFailures)
		if err != nil {
			return e.finish(ctx, tokenID, sc, nil, userFailures, pairFailures, err)
		}
		p = planDelivery(w)
	}
	current, err := e.associate(ctx, rec, c, w, p, pairFailures)
	if err == nil {
		err = p.shortageIn(sc) // other books went ahead; this one's members wait, and the apply says so
	}
	if !current {
		w = nil // the records moved on from the work in memory: it is read again
	}
	return e.finish(ctx, tokenID, sc, w, userFailures, pairFailures, err)
}

// readAppleFirst brings the records up to Apple's before a delivery sends anything, so that
// nothing is created or licensed twice. It looks up at Apple every member without a user record
// (their users may exist: adopted, and the licenses they hold are read). At this process's first
// delivery to the token it reads what Apple holds of the holders the plan p is about to license
// (users and devices), because the database may be another runner's, a restored backup, or one a
// second configuration shares. A few holders' licenses are read one by one, so that adding a
// member to a large group costs a few requests; more users, or many adopted users, are read with a
// sync (the changes since the records' last read, or everything when users were adopted); many
// devices with a read of each app's assignments (readDeviceLicenses). It reports whether the
// records changed, so that the delivery plans again.
func (e *Engine) readAppleFirst(ctx context.Context, rec store.Token, c *apple.Client, rep *Adoption, p *deliveryPlan) (bool, error) {
	adopted, changed, err := e.adoptUsers(ctx, c, rec, true)
	if err != nil {
		return false, err
	}
	first := !e.syncedHere(rec.ID)
	if len(adopted) == 0 && !first {
		return changed, nil
	}
	read := make([]holder, 0, len(adopted))
	for _, id := range adopted {
		read = append(read, userHolder(id))
	}
	if first {
		due := licensedNow(p)
		if devices := dueDevices(p); len(devices) > userByUserReads {
			if err := e.readDeviceLicenses(ctx, c, rec, p); err != nil {
				return true, err
			}
			due = slices.DeleteFunc(due, func(h holder) bool { return h.serial != "" })
			changed = true
		}
		read = append(read, due...)
	}
	switch {
	case len(read) == 0:
		return changed, nil
	case len(read) <= userByUserReads:
		err = e.readLicensesOf(ctx, c, rec, read)
	default:
		err = e.sync(ctx, rec.ID, len(adopted) > 0)
	}
	if err != nil || len(adopted) == 0 {
		return true, err
	}
	held, apps, err := e.adoptedLicenses(ctx, rec.ID, adopted)
	rep.add(Adoption{Users: len(adopted), Licenses: held, AppLicenses: apps})
	return true, err
}

// dueDevices returns, once each, the devices the plan licenses now.
func dueDevices(p *deliveryPlan) []string {
	var out []string
	for _, h := range licensedNow(p) {
		if h.serial != "" {
			out = append(out, h.serial)
		}
	}
	return out
}

// readDeviceLicenses reads at Apple, app by app, the assignments of each asset the plan p licenses
// devices to now (GET /assignments with its adamId and pricingParam: a page when no device holds it
// yet, where a sync would read the users and assets too) and records those of the due devices as
// their licenses of it.
func (e *Engine) readDeviceLicenses(ctx context.Context, c *apple.Client, rec store.Token, p *deliveryPlan) error {
	now := e.now()
	books := make([]bookKey, 0, len(p.grant))
	for bk := range p.grant {
		books = append(books, bk)
	}
	slices.SortFunc(books, compareBookKeys)
	for _, bk := range books {
		due := map[string]bool{}
		for _, m := range p.grant[bk] {
			if h := p.grantTo[m]; h.serial != "" {
				due[h.serial] = true
			}
		}
		if len(due) == 0 {
			continue
		}
		var held []store.License
		_, err := c.EachAssignment(ctx, apple.AssignmentQuery{AdamID: bk.adamID, PricingParam: bk.pricing}, func(restart bool, page []apple.Assignment) error {
			if restart {
				held = held[:0]
			}
			for _, a := range page {
				if due[a.SerialNumber] && a.AdamID == bk.adamID && pricingOr(a.PricingParam) == bk.pricing {
					held = append(held, store.License{TokenID: rec.ID, AdamID: bk.adamID, PricingParam: bk.pricing, SerialNumber: a.SerialNumber, AssignedAt: now})
				}
			}
			return nil
		})
		if err != nil {
			return e.appleError(rec.ID, "reading the devices' licenses of an app (GET /assignments)", err)
		}
		of := store.Holders{SerialNumbers: slices.Sorted(maps.Keys(due))}
		if err := e.tx(ctx, func(tx store.Tx) error {
			if err := tx.ReplaceAssetLicenses(ctx, rec.ID, bk.adamID, bk.pricing, &of, held); err != nil {
				return err
			}
			return tx.TouchDeliveries(ctx, rec.ID)
		}); err != nil {
			return err
		}
	}
	return nil
}

// userByUserReads is how many users' licenses readAppleFirst reads user by user (a request each)
// rather than with a sync, whose walk of the changes since the records' last read may be longer.
const userByUserReads = 10

// licensedNow returns, once each, the holders (users Apple has, and devices) the plan licenses now.
func licensedNow(p *deliveryPlan) []holder {
	seen := map[holder]bool{}
	var hs []holder
	for _, members := range p.grant {
		for _, m := range members {
			if h, ok := p.grantTo[m]; ok && !seen[h] {
				seen[h] = true
				hs = append(hs, h)
			}
		}
	}
	sort.Slice(hs, func(i, j int) bool {
		return hs[i].serial < hs[j].serial || hs[i].serial == hs[j].serial && hs[i].clientUserID < hs[j].clientUserID
	})
	return hs
}

// readLicensesOf reads at Apple the licenses each holder holds (GET /assignments with its
// clientUserId, or a device's serialNumber) and records them as those holders' licenses of the
// token's assets.
func (e *Engine) readLicensesOf(ctx context.Context, c *apple.Client, rec store.Token, hs []holder) error {
	var books []store.Asset
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		books, err = tx.ListAssets(ctx, store.AssetFilter{TokenID: rec.ID})
		return err
	}); err != nil {
		return err
	}
	known := make(map[bookKey]bool, len(books))
	for _, b := range books {
		known[bookKey{b.AdamID, b.PricingParam}] = true
	}
	now := e.now()
	var held []store.License
	var of store.Holders
	for _, h := range hs {
		q := apple.AssignmentQuery{ClientUserID: h.clientUserID, SerialNumber: h.serial}
		if h.serial != "" {
			of.SerialNumbers = append(of.SerialNumbers, h.serial)
		} else {
			of.ClientUserIDs = append(of.ClientUserIDs, h.clientUserID)
		}
		var mine []store.License
		_, err := c.EachAssignment(ctx, q, func(restart bool, page []apple.Assignment) error {
			if restart {
				mine = mine[:0]
			}
			for _, a := range page {
				bk := bookKey{a.AdamID, pricingOr(a.PricingParam)}
				if (holder{a.ClientUserID, a.SerialNumber}) == h && known[bk] {
					mine = append(mine, store.License{TokenID: rec.ID, AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: h.clientUserID, SerialNumber: h.serial, AssignedAt: now})
				}
			}
			return nil
		})
		if err != nil {
			return e.appleError(rec.ID, "reading the licenses of a user or device (GET /assignments)", err)
		}
		held = append(held, mine...)
	}
	return e.tx(ctx, func(tx store.Tx) error {
		if err := tx.ReplaceHolderLicenses(ctx, rec.ID, of, held); err != nil {
			return err
		}
		return tx.TouchDeliveries(ctx, rec.ID)
	})
}

// finish records deliveries whatever happened, and returns cause. w, when not nil, is the work as
// the records now hold it.
func (e *Engine) finish(ctx context.Context, tokenID string, sc *scope, w *work, uf map[string]failure, pf map[pairKey]failure, cause error) error {
	if err := e.recordWork(ctx, tokenID, sc, w, &runFailures{users: uf, pairs: pf}); err != nil && cause == nil {
		return err
	}
	return cause
}

type runFailures struct {
	users map[string]failure
	pairs map[pairKey]failure
}

// recordDeliveries recomputes every assignment's per-member state of the token (or of the scope's
// book) and stores those that changed.
func (e *Engine) recordDeliveries(ctx context.Context, tokenID string, sc *scope, f *runFailures) error {
	return e.recordWork(ctx, tokenID, sc, nil, f)
}

// recordWork is recordDeliveries from the work w when given (nil: read from the store, leaving out
// the members whose recorded states are settled while those are current). Only the states that
// changed are written (deliveryChanges): a refresh, or a delivery to a few members of a large
// group, writes those few. The states are marked current only when they were computed from work
// read from the store for the whole token; a delivery's work in memory leaves that to the next
// refresh.
func (e *Engine) recordWork(ctx context.Context, tokenID string, sc *scope, w *work, f *runFailures) error {
	fromStore := w == nil
	if fromStore {
		var err error
		if w, err = e.loadOpenWork(ctx, tokenID, sc); err != nil {
			return err
		}
	}
	changes := deliveryChanges(w, f, e.now())
	return e.tx(ctx, func(tx store.Tx) error {
		if err := writeDeliveries(ctx, tx, changes); err != nil {
			return err
		}
		if sc != nil || !fromStore {
			return nil // other books' states, or the records since w was read, may be newer
		}
		return tx.SetDeliveriesRecorded(ctx, tokenID, w.token.DeliveriesGen)
	})
}

// sameDeliveries reports whether computed states equal the recorded ones (times aside).
func sameDeliveries(list []store.Delivery, prev map[string]store.Delivery) bool {
	if len(list) != len(prev) {
		return false
	}
	for _, d := range list {
		p, ok := prev[d.Email]
		if !ok || p.State != d.State || p.ErrorNumber != d.ErrorNumber || p.Detail != d.Detail {
			return false
		}
	}
	return true
}

// recordIfStale records the token's delivery states when a write since the last recording may
// have changed them (an interrupted delivery, a sync), and reports whether it did.
func (e *Engine) recordIfStale(ctx context.Context, tokenID string) (bool, error) {
	rec, err := e.tokenRecord(ctx, tokenID)
	if err != nil {
		return false, err
	}
	if rec.DeliveriesRecorded >= rec.DeliveriesGen {
		return false, nil
	}
	return true, e.recordDeliveries(ctx, tokenID, nil, nil)
}

// usableToken returns the token and its client, refusing a token Apple or the owner has ruled out.
func (e *Engine) usableToken(ctx context.Context, tokenID string) (store.Token, *apple.Client, error) {
	rec, err := e.tokenRecord(ctx, tokenID)
	if err != nil {
		return rec, nil, err
	}
	switch {
	case rec.State == StateExternalMDM:
		return rec, nil, &ExternalMDMError{TokenID: tokenID, LocationName: rec.LocationName, Recorded: rec.StateDetail}
	case rec.State == StateExpired || rec.State == StateRevoked || rec.State == StateInvalid:
		return rec, nil, &TokenUnusableError{TokenID: tokenID, State: rec.State, Recorded: rec.StateDetail}
	case !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(e.now()):
		return rec, nil, &TokenUnusableError{TokenID: tokenID, State: StateExpired, ExpiredAt: rec.ExpiresAt}
	}
	c, err := e.client(rec)
	return rec, c, err
}

// settle reconciles requests an earlier run journaled but did not settle (it crashed, was killed,
// or lost the response): it waits for known events, then reads Apple's records so the plan that
// follows sends only what is still missing. A request whose answer was lost has no event id to
// follow, and Apple may have queued it: its work is awaited in Apple's records (inDoubt) before
// anything of it is sent again.
func (e *Engine) settle(ctx context.Context, rec store.Token, c *apple.Client) error {
	var open []store.JournalEntry
	if err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		open, err = tx.ListOpenJournal(ctx, rec.ID)
		return err
	}); err != nil || len(open) == 0 {
		return err
	}
	e.info(ctx, "Reconciling requests an earlier run left open", "token_id", rec.ID, "open", len(open))
	var events []string
	var doubt []store.JournalEntry
	for _, j := range open {
		if j.EventID != "" {
			events = append(events, j.EventID)
		} else {
			doubt = append(doubt, j) // sent with its answer lost, or cut off while it was sent
		}
	}
	statuses, pending, err := e.waitEvents(ctx, c, rec.ID, "Waiting for Apple to finish earlier requests", events)
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
	// A sync does not show licenses taken back: the assets of followed disassociates are read
	// (those in doubt are, by awaitInDoubt).
	var followed []store.JournalEntry
	for _, j := range open {
		if j.EventID != "" {
			followed = append(followed, j)
		}
	}
	if err := e.readDisassociated(ctx, rec.ID, followed); err != nil {
		return err
	}
	unseen, err := e.awaitInDoubt(ctx, rec.ID, doubt)
	if err != nil {
		return err
	}
	now := e.now()
	return e.tx(ctx, func(tx store.Tx) error {
		for _, j := range open {
			j.State, j.UpdatedAt = journalSettled, now
			if st, followed := statuses[j.EventID]; followed {
				// Apple's verdict replaces an earlier error (an answer that failed a check): a
				// settled entry's error means its event failed.
				j.Error = ""
				if st != nil && st.Failed() {
					j.Error = summarizeFailures(st.Failures)
				}
			}
			if unseen[j.ID] {
				j.Error = fmt.Sprintf("answer lost; its work was not in Apple's records %s after it was sent, so it may be sent again", e.cfg.EventTimeout)
			}
			if err := tx.UpdateJournal(ctx, j); err != nil {
				return err
			}
		}
		return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: rec.ID, Operation: "reconcile", Count: len(open),
			Detail: "requests left open by an earlier run settled from Apple's records"})
	})
}

// awaitInDoubt waits until Apple's records show the work of each journaled request whose answer
// was lost (a dropped connection, a server error after sending), reading them again every poll
// interval, or until EventTimeout has passed since it was sent: Apple may have queued its event,
// and asks that a pending event be resubmitted only after that long. Sending any of it again
// sooner could spend a license twice. It returns the entries whose work never showed.
func (e *Engine) awaitInDoubt(ctx context.Context, tokenID string, doubt []store.JournalEntry) (map[int64]bool, error) {
	unseen := map[int64]bool{}
	for len(doubt) > 0 {
		if err := e.readDisassociated(ctx, tokenID, doubt); err != nil {
			return nil, err
		}
		seen, err := e.seenAtApple(ctx, tokenID, doubt)
		if err != nil {
			return nil, err
		}
		var still []store.JournalEntry
		var wait time.Duration
		for i, j := range doubt {
			if seen[i] {
				continue
			}
			left := j.UpdatedAt.Add(e.cfg.EventTimeout).Sub(e.now())
			if left <= 0 {
				unseen[j.ID] = true
				continue
			}
			still = append(still, j)
			if wait == 0 || left < wait {
				wait = left
			}
		}
		if doubt = still; len(doubt) == 0 {
			break
		}
		e.info(ctx, "Waiting for Apple's records to show requests whose answer was lost",
			"token_id", tokenID, "requests", len(doubt), "resend_after", wait.Round(time.Second).String())
		t := time.NewTimer(min(wait, e.cfg.PollInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &IncompleteError{Pending: len(doubt), Reason: fmt.Sprintf(
				"Apple may still be processing %d requests whose answer was lost; they are sent again only once Apple's records show they were not applied, or %s after they were sent",
				len(doubt), e.cfg.EventTimeout)}
		case <-t.C:
		}
		if err := e.sync(ctx, tokenID, false); err != nil {
			return nil, err
		}
	}
	return unseen, nil
}

// seenAtApple reports, for each journaled request, whether Apple's records (as last synced) hold
// all of its work: every license of an associate, none of a disassociate, every user of a
// users/create.
func (e *Engine) seenAtApple(ctx context.Context, tokenID string, entries []store.JournalEntry) ([]bool, error) {
	seen := make([]bool, len(entries))
	var licensed map[pairKey]bool
	var users map[string]bool
	err := e.view(ctx, func(tx store.Tx) error {
		for i, j := range entries {
			switch j.Operation {
			case opAssociate, opDisassociate:
				// An associate's work is every pair licensed; a disassociate's, none (readDisassociated
				// read its asset's licenses at Apple just before).
				var p associatePayload
				if err := json.Unmarshal(j.Payload, &p); err != nil {
					return fmt.Errorf("journal entry %d: %w", j.ID, err)
				}
				if licensed == nil {
					var err error
					if licensed, err = licensedPairs(ctx, tx, tokenID); err != nil {
						return err
					}
				}
				want := j.Operation == opAssociate
				seen[i] = true
				for _, a := range p.Assets {
					for _, h := range holdersOf(apple.ManageAssetsRequest{ClientUserIDs: p.ClientUserIDs, SerialNumbers: p.SerialNumbers}) {
						if licensed[h.of(bookKey{a.AdamID, pricingOr(a.PricingParam)})] != want {
							seen[i] = false
						}
					}
				}
			case opCreateUsers:
				var p createUsersPayload
				if err := json.Unmarshal(j.Payload, &p); err != nil {
					return fmt.Errorf("journal entry %d: %w", j.ID, err)
				}
				if users == nil {
					list, err := tx.ListVPPUsers(ctx, tokenID)
					if err != nil {
						return err
					}
					users = make(map[string]bool, len(list))
					for _, u := range list {
						users[u.ClientUserID] = confirmed(u)
					}
				}
				seen[i] = true
				for _, u := range p.Users {
					if !users[u.ClientUserID] {
						seen[i] = false
					}
				}
			default:
				seen[i] = true // nothing of it can be spent twice
			}
		}
		return nil
	})
	return seen, err
}

// licensedPairs reads the token's licenses as the records hold them.
func licensedPairs(ctx context.Context, tx store.Tx, tokenID string) (map[pairKey]bool, error) {
	list, err := tx.ListLicenses(ctx, tokenID)
	if err != nil {
		return nil, err
	}
	licensed := make(map[pairKey]bool, len(list))
	for _, l := range list {
		licensed[licenseHolder(l).of(bookKey{l.AdamID, pricingOr(l.PricingParam)})] = true
	}
	return licensed, nil
}

// createUsers creates VPP users in batches of maxUsers, journaled, then reads them back from Apple
// (statuses and invitation codes) with one walk of the users changed since the last read. Only a
// batch with users missing from that walk costs a status request for its event. It returns the
// users it read back, as now recorded, to patch. own are the token's users as the records hold
// them once users are journaled.
func (e *Engine) createUsers(ctx context.Context, rec store.Token, c *apple.Client, users, own []store.VPPUser, patch func(store.VPPUser), failures map[string]failure) error {
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
	// Each batch's users are recorded (unconfirmed) with its journal entry before it is sent, so
	// whatever happens next, the sync that follows recognises them as ours. Batch by batch, that
	// work is spread between requests that wait for the rate limit anyway.
	first := 0
	prepare := func(i int) (int64, error) {
		payload, _ := json.Marshal(createUsersPayload{Users: batches[i]})
		batch := users[first : first+len(batches[i])]
		first += len(batches[i])
		ids, err := e.journal(ctx, rec.ID, opCreateUsers, [][]byte{payload}, func(tx store.Tx) error {
			return tx.UpsertVPPUsers(ctx, batch)
		})
		if err != nil {
			return 0, err
		}
		return ids[0], nil
	}
	sending := e.startProgress(ctx, rec.ID, "Creating VPP users", len(users), "users")
	ids, events, sendErr := e.sendAll(ctx, rec.ID, opCreateUsers, len(batches), sending, prepare, func(i int) (*apple.EventResponse, int, error) {
		resp, err := c.CreateUsers(ctx, batches[i])
		return resp, len(batches[i]), err
	})
	sending.finish()
	var statuses map[string]*apple.EventStatus
	var pending []string
	if len(events) > 0 {
		// Read the users back: status (Managed Apple Accounts are associated at once) and invite
		// codes. A batch whose users all came back active is confirmed.
		active, err := e.readBack(ctx, c, rec.ID, own, len(users), patch)
		if err != nil {
			return err
		}
		var unconfirmed []string
		for i, ev := range events {
			for _, u := range batches[i] {
				if !active[u.ClientUserID] {
					unconfirmed = append(unconfirmed, ev)
					break
				}
			}
		}
		// The rest are still running at Apple, or failed for some users: ask their status.
		statuses, pending, err = e.waitEvents(ctx, c, rec.ID, "Waiting for Apple to create users", unconfirmed)
		if err != nil {
			return e.appleError(rec.ID, "following user creation (GET /status)", err)
		}
		existed := false
		for _, st := range statuses {
			if st == nil {
				existed = true // Apple forgot the event (9708): read every user below
				continue
			}
			for _, f := range st.Failures {
				if f.Code == apple.CodeUserExists {
					existed = true // created earlier (a lost response); read below
					continue
				}
				for _, id := range f.ClientUserIDs {
					failures[id] = failure{code: int(f.Code), message: f.Message}
				}
			}
		}
		if len(statuses) > 0 {
			// Users of events that finished after the walk, or that existed already (an unchanged
			// user is not in an incremental walk: read them all).
			if _, err := e.readUsers(ctx, c, rec.ID, nil, existed, patch); err != nil {
				return err
			}
		}
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

// readBack reads the users just created back from Apple (readUsers' incremental walk, with own and
// patch), reporting how many of the n new users it has read.
func (e *Engine) readBack(ctx context.Context, c *apple.Client, tokenID string, own []store.VPPUser, n int, patch func(store.VPPUser)) (map[string]bool, error) {
	p := e.startProgress(ctx, tokenID, "Reading the new users back from Apple (statuses and invitation codes)", n, "users")
	defer p.finish()
	return e.readUsers(ctx, c, tokenID, own, false, func(u store.VPPUser) {
		p.add(1)
		patch(u)
	})
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
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
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

// sendAll sends n requests in order, each journaled by prepare (which may write the entry then,
// or return one written before) before it is sent, and records each accepted event with an audit
// entry. It stops at the first failure: an outcome-unknown request stays "sent" for the next run
// to reconcile; a refused one is marked failed. Each accepted request adds its count (what send
// reports: users, licenses) to p. It returns the journal ids of the requests it prepared and the
// accepted event ids, both in order.
func (e *Engine) sendAll(ctx context.Context, tokenID, op string, n int, p *progress, prepare func(i int) (int64, error), send func(i int) (*apple.EventResponse, int, error)) ([]int64, []string, error) {
	var events []string
	var ids []int64
	for i := 0; i < n; i++ {
		id, err := prepare(i)
		if err != nil {
			return ids, events, err
		}
		ids = append(ids, id)
		resp, count, err := send(i)
		now := e.now()
		entry := store.JournalEntry{ID: id, TokenID: tokenID, Operation: op, UpdatedAt: now}
		switch {
		case err == nil:
			entry.State, entry.EventID = journalSent, resp.EventID
			events = append(events, resp.EventID)
		case resp != nil && resp.EventID != "":
			// Apple accepted it, but the answer failed a check (another location's uId, another
			// system's mdmInfo): the event is kept, to be followed once the token is usable.
			entry.State, entry.EventID, entry.Error = journalSent, resp.EventID, err.Error()
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
			return ids, events, uerr
		}
		if err != nil {
			return ids, events, e.appleError(tokenID, "sending "+strings.ReplaceAll(op, "_", " ")+" request", err)
		}
		p.add(count)
	}
	return ids, events, nil
}

// dropUnsent closes journal entries that were prepared together but never sent, because the
// sending stopped at an earlier one: nothing of them can be at Apple, so no later run need wait
// for their work (a prepared entry left open is one a killed run may have sent).
func (e *Engine) dropUnsent(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := e.now()
	return e.tx(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.UpdateJournal(ctx, store.JournalEntry{ID: id, State: journalFailed, Error: "not sent: an earlier request of the delivery failed", UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
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

// waitEvents polls Apple's event status, as Apple asks: a first look at once (the events were sent
// one after another at the rate limit, so all but the last few have had time to finish), a second
// soon, then no more often than the poll interval, for at most the event timeout. Events still
// pending then are returned. Its progress is logged as phase, in requests finished.
func (e *Engine) waitEvents(ctx context.Context, c *apple.Client, tokenID, phase string, ids []string) (map[string]*apple.EventStatus, []string, error) {
	p := e.startProgress(ctx, tokenID, phase, len(ids), "requests")
	defer p.finish()
	done := make(map[string]*apple.EventStatus, len(ids))
	pending := append([]string(nil), ids...)
	deadline := time.Now().Add(e.cfg.EventTimeout)
	wait := time.Duration(0)
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
			finished := len(done)
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
			p.add(len(done) - finished) // adding none still shows the wait goes on
		}
		pending = still
		if time.Now().After(deadline) {
			break
		}
		if wait == 0 {
			wait = e.cfg.FirstPoll
		} else {
			wait = e.cfg.PollInterval
		}
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
