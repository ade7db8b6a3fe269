package engine

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// PlannedChanges is what a plan is about to change, laid over the engine's records by every
// forecast of that plan, so that license demand is counted for the whole plan rather than one
// resource at a time: the assignments it creates or changes, and the groups whose members it
// changes. One plan is served by one provider process; it keeps one PlannedChanges. It is safe for
// concurrent use. A nil *PlannedChanges lays nothing over the records.
type PlannedChanges struct {
	mu          sync.Mutex
	assignments map[string]AssignmentInput // by "<book_id>/<group_id>"
	members     map[string][]string        // group id -> normalised members
	recounted   map[string]*sync.Once      // books whose counts the plan reads again from Apple
}

// NewPlannedChanges returns an empty set of planned changes.
func NewPlannedChanges() *PlannedChanges {
	return &PlannedChanges{assignments: map[string]AssignmentInput{}, members: map[string][]string{}, recounted: map[string]*sync.Once{}}
}

// recountOnce runs recount for the book once per plan; a forecast that meets the same shortage
// meanwhile waits for it, then computes again from the counts it recorded. Without a plan (an
// apply), every shortage recounts.
func (p *PlannedChanges) recountOnce(bookID string, recount func()) {
	if p == nil {
		recount()
		return
	}
	p.mu.Lock()
	once := p.recounted[bookID]
	if once == nil {
		once = &sync.Once{}
		p.recounted[bookID] = once
	}
	p.mu.Unlock()
	once.Do(recount)
}

func (p *PlannedChanges) addAssignment(in AssignmentInput) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.assignments[in.BookID+"/"+in.GroupID] = in
}

func (p *PlannedChanges) setMembers(groupID string, members []string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.members[groupID] = members
}

// snapshot returns the planned assignments of a book and the planned members of every group.
func (p *PlannedChanges) snapshot(bookID string) ([]AssignmentInput, map[string][]string) {
	if p == nil {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var as []AssignmentInput
	for _, a := range p.assignments {
		if a.BookID == bookID {
			as = append(as, a)
		}
	}
	sort.Slice(as, func(i, j int) bool { return as[i].GroupID < as[j].GroupID })
	members := make(map[string][]string, len(p.members))
	for g, m := range p.members {
		members[g] = m
	}
	return as, members
}

// Forecast is what an assignment needs now, computed from the engine's records (and, for a
// shortage, the book's counts read again from Apple) with the plan's other changes laid over them.
type Forecast struct {
	BookTitle string
	// Needed counts the group's members who should get a license now and have none.
	Needed int
	// Available is the book's available licenses.
	Available int
	// Shortfall is how many licenses the book lacks for everything its assignments need now
	// (this plan included), when positive.
	Shortfall int
	// Deliverable counts licenses an apply would deliver to this group now (none while the book is
	// short for an assignment that forbids oversubscription; capped by Available when it is allowed).
	Deliverable int
	// Refused counts needed members Apple refused for a lasting reason (an Apple Account that
	// cannot be associated, say); they are not in Deliverable.
	Refused int
	// LicensesKept counts licenses that stay with members if the assignment is removed.
	LicensesKept int
	// MembersChange reports that the plan adds members to the assignment's group or removes some:
	// the group's update delivers to (or reclaims from) them, and the assignment's counts change
	// with it.
	MembersChange bool
}

// Forecast computes what the assignment needs now, counting every assignment of its book: those in
// the engine's records and those plan creates or changes, with the members plan gives their
// groups (plan may be nil). It records in into plan. When the book lacks licenses for an assignment
// that forbids oversubscription, it reads the book's counts from Apple once (licenses bought since
// the last sync count) and, if still short, returns a *ShortageError naming the book, each group
// that needs it, the shortfall and the fixes. It writes nothing to Apple.
func (e *Engine) Forecast(ctx context.Context, in AssignmentInput, plan *PlannedChanges) (Forecast, error) {
	tokenID, adamID, pricing, err := validateAssignment(in)
	if err != nil {
		return Forecast{}, err
	}
	plan.addAssignment(in)
	bk := bookKey{adamID, pricing}
	f, err := e.forecast(ctx, tokenID, bk, in, plan)
	var short *ShortageError
	if errors.As(err, &short) {
		plan.recountOnce(in.BookID, func() { e.recount(ctx, tokenID, bk) })
		f, err = e.forecast(ctx, tokenID, bk, in, plan)
	}
	return f, err
}

// ForecastGroup forecasts, with members as the group's planned members (recorded in plan), every
// assignment of the group in the engine's records, and returns the first shortage.
func (e *Engine) ForecastGroup(ctx context.Context, groupID string, members []string, plan *PlannedChanges) error {
	normalized, err := NormalizeMembers(members)
	if err != nil {
		return err
	}
	return e.forecastGroup(ctx, groupID, normalized, plan)
}

// forecastGroup is ForecastGroup for a group of either kind, with its members normalised.
func (e *Engine) forecastGroup(ctx context.Context, groupID string, normalized []string, plan *PlannedChanges) error {
	if plan == nil {
		plan = NewPlannedChanges()
	}
	plan.setMembers(groupID, normalized)
	var assignments []Assignment
	if err := e.view(ctx, func(tx store.Tx) error {
		list, err := tx.ListAssignmentsByGroup(ctx, groupID)
		for _, sa := range list {
			a := assignmentView(sa, nil, nil)
			if err := a.describe(ctx, tx, sa); err != nil {
				return err
			}
			assignments = append(assignments, a)
		}
		return err
	}); err != nil {
		return err
	}
	for _, a := range assignments {
		in := AssignmentInput{Kind: a.Kind, BookID: a.BookID, GroupID: groupID, Devices: a.Devices, Intent: a.Intent, AllowOversubscription: a.AllowOversubscription}
		if planned, _ := plan.snapshot(in.BookID); len(planned) > 0 {
			for _, p := range planned {
				if p.GroupID == groupID {
					in = p
				}
			}
		}
		if _, err := e.Forecast(ctx, in, plan); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// forecast is one computation of Forecast from the records, with the plan laid over them. While
// the recorded delivery states are current, it reads the work the plan leaves open (loadOpenWork):
// the members whose deliveries are not settled, and those the plan adds.
func (e *Engine) forecast(ctx context.Context, tokenID string, bk bookKey, in AssignmentInput, plan *PlannedChanges) (Forecast, error) {
	planned, members := plan.snapshot(in.BookID)
	planned = append(planned, in) // in wins over an earlier record of the same book and group
	var book store.Asset
	var aID string
	var refused map[string]bool
	w, err := e.readWork(ctx, tokenID, &scope{book: bk, noStates: true}, workOptions{open: true, edit: func(tx store.Tx, w *work) error {
		var ok bool
		if book, ok = w.books[bk]; !ok {
			return &NotFoundError{Kind: productKind(in.product()), ID: in.BookID, In: tokenID}
		}
		if err := checkProduct(book, in.BookID, in.product()); err != nil {
			return err
		}
		var err error
		if aID, err = overlayPlan(ctx, tx, w, tokenID, bk, planned, members, in.GroupID); err != nil {
			return err
		}
		if err := checkTarget(in, w.groups[in.GroupID], book); err != nil {
			return err
		}
		refused, err = refusedMembers(ctx, tx, aID)
		return err
	}})
	var missing *NotFoundError
	if errors.As(err, &missing) && missing.Kind == "token" {
		err = &NotFoundError{Kind: productKind(in.product()), ID: in.BookID, In: tokenID} // no such token: no such book either
	}
	if err != nil {
		return Forecast{}, err
	}

	p := planDelivery(w)
	f := Forecast{BookTitle: book.Title, Available: max(book.Available, 0), LicensesKept: w.settled[aID],
		MembersChange: len(w.added[in.GroupID]) > 0 || len(w.removed[in.GroupID]) > 0}
	granted := make(map[string]bool, len(p.grant[bk]))
	for _, m := range p.grant[bk] {
		granted[m] = true
	}
	for _, m := range w.members[in.GroupID] {
		if h := w.holderOf(in.GroupID, m); w.licensed[h.of(bk)] {
			f.LicensesKept++
			continue
		}
		if !p.want[aID][m] {
			continue
		}
		f.Needed++
		switch {
		case refused[m]:
			f.Refused++
		case granted[m] && !w.added[in.GroupID][m]:
			// The group's update delivers to the members the plan adds: they are not this
			// assignment's deliverables, though they count in the book's demand.
			f.Deliverable++
		}
	}
	if short := p.short[bk]; short != nil {
		f.Shortfall = short.Needed - short.Available
		return f, short
	}
	if cut := len(p.cut[bk]); cut > 0 {
		f.Shortfall = cut
	}
	return f, nil
}

// overlayPlan lays the plan over the work of book bk: the assignments it creates or changes
// (overlayAssignment), then the members it gives their groups. It returns the id of the
// assignment of group groupID.
func overlayPlan(ctx context.Context, tx store.Tx, w *work, tokenID string, bk bookKey, planned []AssignmentInput, members map[string][]string, groupID string) (string, error) {
	aID := ""
	for _, p := range planned {
		id, err := overlayAssignment(ctx, tx, w, tokenID, bk, p)
		if err != nil {
			return "", err
		}
		if p.GroupID == groupID {
			aID = id
		}
	}
	for g, m := range members {
		if _, ok := w.groups[g]; !ok {
			continue
		}
		recorded, err := w.recordedMembers(ctx, tx, g)
		if err != nil {
			return "", err
		}
		added, removed := diffSorted(recorded, m)
		w.changeMembers(g, added, removed)
	}
	return aID, nil
}

// refusedMembers returns the members Apple refused the assignment for a lasting reason (not
// planned: a plan's new assignment has none): they are not proposed again at every plan.
func refusedMembers(ctx context.Context, tx store.Tx, aID string) (map[string]bool, error) {
	refused := map[string]bool{}
	if strings.HasPrefix(aID, plannedID) {
		return refused, nil
	}
	failed, err := tx.ListDeliveriesInState(ctx, aID, DeliveryFailed)
	for _, d := range failed {
		if d.ErrorNumber != 9709 {
			refused[d.Email] = true
		}
	}
	return refused, err
}

// plannedID prefixes the id of an assignment a plan creates, laid over the records.
const plannedID = "planned/"

// overlayAssignment lays a planned assignment over the work: it changes the record of the same
// book and group, or adds one (with its group, which must exist, and every member of it), and
// returns its id.
func overlayAssignment(ctx context.Context, tx store.Tx, w *work, tokenID string, bk bookKey, in AssignmentInput) (string, error) {
	for i, a := range w.assignments {
		if a.GroupID == in.GroupID {
			w.assignments[i].Intent, w.assignments[i].AllowOversubscription = in.Intent, in.AllowOversubscription
			return a.ID, nil
		}
	}
	if _, ok := w.groups[in.GroupID]; !ok {
		g, err := tx.GetGroup(ctx, in.GroupID)
		if err != nil {
			return "", notFound(in.groupKind(), in.GroupID, err)
		}
		w.groups[g.ID] = g
		if w.members[g.ID], err = tx.ListMembers(ctx, g.ID); err != nil {
			return "", err
		}
	}
	id := plannedID + in.GroupID
	w.assignments = append(w.assignments, store.Assignment{ID: id, TokenID: tokenID, AdamID: bk.adamID, PricingParam: bk.pricing,
		GroupID: in.GroupID, Intent: in.Intent, AllowOversubscription: in.AllowOversubscription})
	w.previous[id] = map[string]store.Delivery{}
	return id, nil
}

// recount reads the book's counts from Apple (one request) and records them. The counts that decide a shortage may be as old as the last sync: licenses bought
// since then count before a plan or an apply refuses. A plan reads each book at most once.
func (e *Engine) recount(ctx context.Context, tokenID string, bk bookKey) {
	rec, err := e.tokenRecord(ctx, tokenID)
	if err != nil {
		return
	}
	c, err := e.client(rec)
	if err != nil {
		return
	}
	list, err := c.GetAssets(ctx, apple.AssetQuery{AdamID: bk.adamID, PricingParam: bk.pricing})
	if err != nil || len(list.Assets) == 0 {
		return // the shortage stands on the last sync's counts
	}
	a := list.Assets[0]
	_ = e.tx(ctx, func(tx store.Tx) error {
		b, err := tx.GetAsset(ctx, tokenID, bk.adamID, bk.pricing)
		if err != nil {
			return err
		}
		if b.Total == a.TotalCount && b.Assigned == a.AssignedCount && b.Available == a.AvailableCount && b.Retired == a.RetiredCount {
			return nil
		}
		b.Total, b.Assigned, b.Available, b.Retired, b.SyncedAt = a.TotalCount, a.AssignedCount, a.AvailableCount, a.RetiredCount, e.now()
		if err := tx.UpsertAssets(ctx, []store.Asset{b}); err != nil {
			return err
		}
		return tx.TouchDeliveries(ctx, tokenID)
	})
}

// shortageOf describes a book (or app) short of licenses for what its assignments need now: every group
// with members waiting, and how many.
func shortageOf(w *work, p *deliveryPlan, bk bookKey, needed, available int) *ShortageError {
	se := &ShortageError{Kind: productKind(productOf(w.books[bk])), BookTitle: w.books[bk].Title, Needed: needed, Available: available}
	for _, a := range w.assignments {
		if a.AdamID != bk.adamID || a.PricingParam != bk.pricing {
			continue
		}
		n := 0
		for _, m := range w.members[a.GroupID] {
			if h := w.holderOf(a.GroupID, m); p.want[a.ID][m] && !w.licensed[h.of(bk)] {
				n++
			}
		}
		if n == 0 {
			continue
		}
		g := w.groups[a.GroupID]
		se.BookID = BookID(a.TokenID, a.AdamID, a.PricingParam)
		se.Demand = append(se.Demand, GroupDemand{GroupID: g.ID, GroupName: g.Name, Devices: w.devices(g.ID), Needed: n, AllowOversubscription: a.AllowOversubscription})
	}
	sort.Slice(se.Demand, func(i, j int) bool {
		if se.Demand[i].GroupName != se.Demand[j].GroupName {
			return se.Demand[i].GroupName < se.Demand[j].GroupName
		}
		return se.Demand[i].GroupID < se.Demand[j].GroupID
	})
	if len(se.Demand) > 0 {
		se.GroupID, se.GroupName = se.Demand[0].GroupID, se.Demand[0].GroupName
	}
	return se
}
