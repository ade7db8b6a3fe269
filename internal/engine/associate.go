package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// associate sends the planned licenses: users needing the same set of books share requests,
// split by maxAssets x maxClientUserIds, journaled, then confirmed from the events' status.
func (e *Engine) associate(ctx context.Context, rec store.Token, c *apple.Client, w *work, p *deliveryPlan, failures map[pairKey]failure) (current bool, err error) {
	sets := dueBookSets(p)
	if len(sets) == 0 {
		return true, nil
	}
	lim, err := c.Limits(ctx)
	if err != nil {
		return false, e.appleError(rec.ID, "reading Apple's limits (GET /service/config)", err)
	}
	requests := associateRequests(sets, lim)
	run, err := e.sendAssociations(ctx, rec.ID, c, requests)
	if err != nil {
		return false, err
	}
	granted, countByBook, failed, needRead := grantsFromStatuses(rec.ID, requests, run.eventOf, run.statuses, e.now())
	maps.Copy(failures, failed)
	if err := e.recordGrants(ctx, rec.ID, w, granted, countByBook); err != nil {
		return false, err
	}
	current = true
	if needRead || run.sendErr != nil {
		current = false
		if err := e.sync(ctx, rec.ID, false); err != nil {
			return false, err
		}
	}
	if err := e.settleEntries(ctx, run.ids, run.statuses, run.eventOf, run.pending); err != nil {
		return current, err
	}
	if run.sendErr != nil {
		return current, run.sendErr
	}
	if len(run.pending) > 0 {
		return current, &IncompleteError{Pending: len(run.pending), Reason: fmt.Sprintf("Apple has not finished delivering licenses (event %s)", run.pending[0])}
	}
	return current, nil
}

// bookSet is one set of books due now and the holders due exactly that set: users (clientUserIds)
// and devices (serial numbers), each sorted.
type bookSet struct {
	books   []apple.AssetRef
	name    string // the books, for a stable order of requests
	users   []string
	serials []string
}

// dueBookSets groups the holders the plan grants books to (p.grantTo: members Apple has a holder
// for) by the identical set of books due to them, so that several books for the same holders
// share a request. Books within a set are in adamID/pricing order, sets are sorted by name, and
// each set's holders are sorted.
func dueBookSets(p *deliveryPlan) []bookSet {
	// Per holder, the books due now: a row of bits over the plan's books, in their order.
	books := make([]bookKey, 0, len(p.grant))
	for bk := range p.grant {
		books = append(books, bk)
	}
	sort.Slice(books, func(i, j int) bool {
		return books[i].adamID+"/"+books[i].pricing < books[j].adamID+"/"+books[j].pricing
	})
	words := (len(books) + 63) / 64
	row := map[holder]int{} // holder -> its row
	var holders []holder
	var bits []uint64
	for b, bk := range books {
		for _, m := range p.grant[bk] {
			h, ok := p.grantTo[m]
			if !ok {
				continue
			}
			r, seen := row[h]
			if !seen {
				r = len(holders)
				row[h] = r
				holders = append(holders, h)
				bits = append(bits, make([]uint64, words)...)
			}
			bits[r*words+b/64] |= 1 << (b % 64)
		}
	}
	if len(holders) == 0 {
		return nil
	}
	setOf := map[string]int{} // a row's bits, as bytes -> its set
	var sets []bookSet
	key := make([]byte, 8*words)
	for r, h := range holders {
		for i := range words {
			binary.LittleEndian.PutUint64(key[8*i:], bits[r*words+i])
		}
		k, ok := setOf[string(key)]
		if !ok {
			k = len(sets)
			setOf[string(key)] = k
			var st bookSet
			var names []string
			for b, bk := range books {
				if bits[r*words+b/64]&(1<<(b%64)) != 0 {
					st.books = append(st.books, apple.AssetRef{AdamID: bk.adamID, PricingParam: bk.pricing})
					names = append(names, bk.adamID+"/"+bk.pricing)
				}
			}
			st.name = strings.Join(names, ",")
			sets = append(sets, st)
		}
		if h.serial != "" {
			sets[k].serials = append(sets[k].serials, h.serial)
		} else {
			sets[k].users = append(sets[k].users, h.clientUserID)
		}
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].name < sets[j].name })
	for _, st := range sets {
		sort.Strings(st.users)
		sort.Strings(st.serials)
	}
	return sets
}

// associateRequests splits each set's books x holders into associate requests within Apple's
// limits, set after set, in the sets' order: its users', then its devices'.
func associateRequests(sets []bookSet, lim apple.Limits) []apple.ManageAssetsRequest {
	var requests []apple.ManageAssetsRequest
	for _, st := range sets {
		requests = append(requests, manageRequests(st.books, store.Holders{ClientUserIDs: st.users, SerialNumbers: st.serials}, lim)...)
	}
	return requests
}

// manageRequests covers assets x holders with the fewest associate (or disassociate) requests
// within Apple's limits: the users', then the devices' (a request names either).
func manageRequests(assets []apple.AssetRef, h store.Holders, lim apple.Limits) []apple.ManageAssetsRequest {
	return append(apple.SplitAssociations(assets, h.ClientUserIDs, lim), apple.SplitDeviceAssociations(assets, h.SerialNumbers, lim)...)
}

// payloadOf is a manage request as the journal records it.
func payloadOf(r apple.ManageAssetsRequest) []byte {
	b, _ := json.Marshal(associatePayload{Assets: r.Assets, ClientUserIDs: r.ClientUserIDs, SerialNumbers: r.SerialNumbers})
	return b
}

// associationRun is what sending associate requests left: their journal entries, the event of
// each request ("" when not accepted), the finished events' statuses (nil for an event Apple
// forgot), the events still pending, and the error that stopped the sending, if any.
type associationRun struct {
	ids      []int64
	eventOf  []string
	statuses map[string]*apple.EventStatus
	pending  []string
	sendErr  error
}

// sendAssociations journals the requests, sends them in order (closing the entries of those never
// sent when one fails) and waits for their events. A send error is returned in the run, not as
// err: what was accepted before it is still to be confirmed.
func (e *Engine) sendAssociations(ctx context.Context, tokenID string, c *apple.Client, requests []apple.ManageAssetsRequest) (associationRun, error) {
	payloads := make([][]byte, len(requests))
	licenses := 0
	for i, r := range requests {
		payloads[i] = payloadOf(r)
		licenses += licensesOf(r)
	}
	ids, err := e.journal(ctx, tokenID, opAssociate, payloads, nil)
	if err != nil {
		return associationRun{}, err
	}
	eventOf := make([]string, len(requests))
	journaled := func(i int) (int64, error) { return ids[i], nil }
	sending := e.startProgress(ctx, tokenID, "Associating licenses", licenses, "licenses")
	sent, events, sendErr := e.sendAll(ctx, tokenID, opAssociate, len(requests), sending, journaled, func(i int) (*apple.EventResponse, int, error) {
		resp, err := c.AssociateAssets(ctx, requests[i])
		if err == nil {
			eventOf[i] = resp.EventID
		}
		return resp, licensesOf(requests[i]), err
	})
	sending.finish()
	if err := e.dropUnsent(ctx, ids[len(sent):]); err != nil && sendErr == nil {
		return associationRun{}, err
	}
	statuses, pending, err := e.waitEvents(ctx, c, tokenID, "Waiting for Apple to deliver licenses", events)
	if err != nil {
		return associationRun{}, e.appleError(tokenID, "following license delivery (GET /status)", err)
	}
	return associationRun{ids: ids, eventOf: eventOf, statuses: statuses, pending: pending, sendErr: sendErr}, nil
}

// licensesOf counts the licenses an associate request asks for: its books times its holders.
func licensesOf(r apple.ManageAssetsRequest) int {
	return len(r.Assets) * (len(r.ClientUserIDs) + len(r.SerialNumbers))
}

// holdersOf are the holders a manage request names: its users, then its devices.
func holdersOf(r apple.ManageAssetsRequest) []holder {
	hs := make([]holder, 0, len(r.ClientUserIDs)+len(r.SerialNumbers))
	for _, id := range r.ClientUserIDs {
		hs = append(hs, userHolder(id))
	}
	for _, sn := range r.SerialNumbers {
		hs = append(hs, deviceHolder(sn))
	}
	return hs
}

// grantsFromStatuses reads the licenses the requests granted from their events' statuses
// (eventOf[i] is request i's event): a COMPLETE event licensed every pair it carried; a FAILED one
// names what failed, and those pairs are returned in failures. needRead reports that the statuses
// do not tell the whole truth and Apple's records must be read: an event Apple forgot (known, nil
// status), a failure naming no clientUserIds, or a FAILED event naming no failed pair. Once
// needRead is set, FAILED events grant nothing but their named failures. Requests not sent or still
// pending grant nothing. countByBook counts the granted licenses per book.
func grantsFromStatuses(tokenID string, requests []apple.ManageAssetsRequest, eventOf []string, statuses map[string]*apple.EventStatus, now time.Time) (granted []store.License, countByBook map[bookKey]int, failures map[pairKey]failure, needRead bool) {
	countByBook = map[bookKey]int{}
	failures = map[pairKey]failure{}
	for i, r := range requests {
		st, known := statuses[eventOf[i]]
		if st == nil {
			if known {
				needRead = true // Apple forgot the event (9708): its records say what it did
			}
			continue // not sent, or still pending: the next run settles it
		}
		failed := map[pairKey]failure{}
		for _, f := range st.Failures {
			assets := f.Assets
			if len(assets) == 0 {
				assets = r.Assets
			}
			named := holdersOf(apple.ManageAssetsRequest{ClientUserIDs: f.ClientUserIDs, SerialNumbers: f.SerialNumbers})
			if len(named) == 0 {
				needRead = true // Apple did not say whom; read the truth below
				continue
			}
			for _, h := range named {
				for _, a := range assets {
					failed[h.of(bookKey{a.AdamID, pricingOr(a.PricingParam)})] = failure{code: int(f.Code), message: f.Message}
				}
			}
		}
		if st.Failed() && len(failed) == 0 {
			needRead = true
		}
		for _, a := range r.Assets {
			bk := bookKey{a.AdamID, pricingOr(a.PricingParam)}
			for _, h := range holdersOf(r) {
				pk := h.of(bk)
				if f, bad := failed[pk]; bad {
					failures[pk] = f
					continue
				}
				if st.Failed() && needRead {
					continue
				}
				granted = append(granted, store.License{TokenID: tokenID, AdamID: bk.adamID, PricingParam: bk.pricing, ClientUserID: h.clientUserID, SerialNumber: h.serial, AssignedAt: now})
				countByBook[bk]++
			}
		}
	}
	return granted, countByBook, failures, needRead
}

// recordGrants records granted licenses in one transaction (touching the token's deliveries,
// upserting the licenses in the table's key order, and counting countByBook's licenses as
// assigned, no longer available, in the books' records), then in the work.
func (e *Engine) recordGrants(ctx context.Context, tokenID string, w *work, granted []store.License, countByBook map[bookKey]int) error {
	// In the table's key order, the rows append to the index instead of landing all over it.
	sort.Slice(granted, func(i, j int) bool {
		a, b := granted[i], granted[j]
		if a.AdamID != b.AdamID {
			return a.AdamID < b.AdamID
		}
		if a.PricingParam != b.PricingParam {
			return a.PricingParam < b.PricingParam
		}
		if a.ClientUserID != b.ClientUserID {
			return a.ClientUserID < b.ClientUserID
		}
		return a.SerialNumber < b.SerialNumber
	})
	if err := e.tx(ctx, func(tx store.Tx) error {
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
		if err := tx.UpsertLicenses(ctx, granted); err != nil {
			return err
		}
		// Keep counts true until the next sync reads Apple's.
		for bk, n := range countByBook {
			b, err := tx.GetAsset(ctx, tokenID, bk.adamID, bk.pricing)
			if err != nil {
				return err
			}
			b.Assigned += n
			b.Available = max(b.Available-n, 0)
			if err := tx.UpsertAssets(ctx, []store.Asset{b}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	w.addGrants(granted, countByBook)
	return nil
}

// addGrants notes granted licenses in the work: the pairs are licensed, and each book of
// countByBook has that many more assigned and fewer available (never below zero).
func (w *work) addGrants(granted []store.License, countByBook map[bookKey]int) {
	for _, l := range granted {
		w.licensed[licenseHolder(l).of(bookKey{l.AdamID, l.PricingParam})] = true
	}
	for bk, n := range countByBook {
		b := w.books[bk]
		b.Assigned += n
		b.Available = max(b.Available-n, 0)
		w.books[bk] = b
	}
}
