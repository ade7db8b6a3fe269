package engine

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// User statuses at Apple.
const (
	UserRegistered = "Registered"
	UserAssociated = "Associated"
	UserRetired    = "Retired"
)

type bookKey struct{ adamID, pricing string }

// pairKey is one license: an asset and who holds it, a user (clientUserID) or a device (serial,
// Apple's device-based licensing), the other one empty.
type pairKey struct {
	book         bookKey
	clientUserID string
	serial       string
}

// holder is who holds a license: a user by clientUserId, or a device by serial number.
type holder struct{ clientUserID, serial string }

func userHolder(clientUserID string) holder { return holder{clientUserID: clientUserID} }
func deviceHolder(serial string) holder     { return holder{serial: serial} }

// of is the license of asset bk that h holds.
func (h holder) of(bk bookKey) pairKey { return pairKey{bk, h.clientUserID, h.serial} }

// holder is who holds license pk.
func (pk pairKey) holder() holder { return holder{pk.clientUserID, pk.serial} }

// licenseHolder is who holds license l.
func licenseHolder(l store.License) holder { return holder{l.ClientUserID, l.SerialNumber} }

// devices reports whether group g's members are devices (serial numbers).
func (w *work) devices(g string) bool { return w.groups[g].Kind == store.GroupDevices }

// holderOf returns who holds group g's member m's licenses: the device, in a device group;
// otherwise the member's VPP user (no one, when the member has none).
func (w *work) holderOf(g, m string) holder {
	if w.devices(g) {
		return deviceHolder(m)
	}
	return userHolder(w.users[m].ClientUserID)
}

// work is everything delivery decides from, read from the store in one transaction.
type work struct {
	token       store.Token
	books       map[bookKey]store.Asset
	assignments []store.Assignment
	groups      map[string]store.Group
	members     map[string][]string // group id -> sorted emails
	users       map[string]store.VPPUser
	licensed    map[pairKey]bool
	previous    map[string]map[string]store.Delivery // assignment id -> email -> delivery
	// open marks a work that leaves out the members whose deliveries are settled (see
	// readOpenMembers): partial marks the groups whose members it holds only in part, and settled
	// counts, per assignment, the members it left out.
	open    bool
	partial map[string]bool
	settled map[string]int
	// added and removed are, per group, the members a change laid over the records adds and
	// removes (changeMembers).
	added   map[string]map[string]bool
	removed map[string][]string
}

func newWork() *work {
	return &work{
		books:    map[bookKey]store.Asset{},
		groups:   map[string]store.Group{},
		members:  map[string][]string{},
		users:    map[string]store.VPPUser{},
		licensed: map[pairKey]bool{},
		previous: map[string]map[string]store.Delivery{},
		partial:  map[string]bool{},
		settled:  map[string]int{},
		added:    map[string]map[string]bool{},
		removed:  map[string][]string{},
	}
}

// scope narrows delivery to the assignments of one book: they compete for its licenses with each
// other only. A nil scope is the whole token.
type scope struct {
	book bookKey
	// noStates leaves the recorded delivery states out (a forecast reads only its own assignment's).
	noStates bool
}

// workOptions say how readWork reads.
type workOptions struct {
	// open leaves out the members whose deliveries are settled, when the token's recorded delivery
	// states are current (or vouched for).
	open bool
	// vouched: the caller's transaction made the only writes since the recorded states were
	// current, and edit lays them over the work (a change of a group's members).
	vouched bool
	// edit changes the work's assignments and members before their users and licenses are read.
	edit func(tx store.Tx, w *work) error
}

// loadWork reads the token's work: for the whole token with a fixed number of queries, whatever
// the number of assignments and groups; for a scope, only the book's assignments with their
// groups, members and deliveries (users and licenses are read for the whole token).
func (e *Engine) loadWork(ctx context.Context, tokenID string, sc *scope) (*work, error) {
	return e.readWork(ctx, tokenID, sc, workOptions{})
}

// loadOpenWork is loadWork leaving out, while the recorded delivery states are current, the
// members whose deliveries are settled (readOpenMembers): its cost follows the members who still
// need something, not the size of their groups. When the states are not current it is loadWork.
func (e *Engine) loadOpenWork(ctx context.Context, tokenID string, sc *scope) (*work, error) {
	return e.readWork(ctx, tokenID, sc, workOptions{open: true})
}

// readWork reads the work in one transaction (see readWorkIn).
func (e *Engine) readWork(ctx context.Context, tokenID string, sc *scope, opts workOptions) (*work, error) {
	var w *work
	err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		w, err = readWorkIn(ctx, tx, tokenID, sc, opts)
		return err
	})
	return w, err
}

// readWorkIn reads the token's work (the scope's) in tx, as opts say.
func readWorkIn(ctx context.Context, tx store.Tx, tokenID string, sc *scope, opts workOptions) (*work, error) {
	w := newWork()
	var err error
	if w.token, err = tx.GetToken(ctx, tokenID); err != nil {
		return nil, notFound("token", tokenID, err)
	}
	filter := store.AssetFilter{TokenID: tokenID}
	if sc != nil {
		filter.AdamID = sc.book.adamID
	}
	books, err := tx.ListAssets(ctx, filter)
	if err != nil {
		return nil, err
	}
	for _, b := range books {
		w.books[bookKey{b.AdamID, b.PricingParam}] = b
	}
	var records assignmentRecords = tokenRecords{tx: tx, tokenID: tokenID}
	if sc != nil {
		records = bookRecords{tx: tx, tokenID: tokenID, book: sc.book}
	}
	w.open = opts.open && (opts.vouched || w.token.DeliveriesRecorded >= w.token.DeliveriesGen)
	if err := w.loadAssignments(ctx, records); err != nil {
		return nil, err
	}
	switch {
	case w.open:
		err = w.readOpenMembers(ctx, tx, sc)
	default:
		err = w.loadMembers(ctx, records, sc == nil || !sc.noStates)
	}
	if err != nil {
		return nil, err
	}
	if opts.edit != nil {
		if err := opts.edit(tx, w); err != nil {
			return nil, err
		}
	}
	if w.open {
		return w, w.loadMembersUsersAndLicenses(ctx, tx)
	}
	return w, loadUsersAndLicenses(ctx, tx, w)
}

// assignmentRecords reads, in a fixed number of queries whatever their number, a set of
// assignments with their groups, members and delivery records: a token's, or one book's (a
// forecast reads them for every assignment of a plan).
type assignmentRecords interface {
	assignments(ctx context.Context) ([]store.Assignment, error)
	groups(ctx context.Context) ([]store.Group, error) // the assignments' groups, perhaps others too
	members(ctx context.Context) ([]store.GroupMember, error)
	deliveries(ctx context.Context) ([]store.Delivery, error)
}

// tokenRecords are the records of every assignment of a token.
type tokenRecords struct {
	tx      store.Tx
	tokenID string
}

func (r tokenRecords) assignments(ctx context.Context) ([]store.Assignment, error) {
	return r.tx.ListAssignments(ctx, r.tokenID)
}
func (r tokenRecords) groups(ctx context.Context) ([]store.Group, error) { return r.tx.ListGroups(ctx) }
func (r tokenRecords) members(ctx context.Context) ([]store.GroupMember, error) {
	return r.tx.ListTokenMembers(ctx, r.tokenID)
}
func (r tokenRecords) deliveries(ctx context.Context) ([]store.Delivery, error) {
	return r.tx.ListTokenDeliveries(ctx, r.tokenID)
}

// bookRecords are the records of the assignments of one of a token's books.
type bookRecords struct {
	tx      store.Tx
	tokenID string
	book    bookKey
}

func (r bookRecords) assignments(ctx context.Context) ([]store.Assignment, error) {
	return r.tx.ListBookAssignments(ctx, r.tokenID, r.book.adamID, r.book.pricing)
}
func (r bookRecords) groups(ctx context.Context) ([]store.Group, error) {
	return r.tx.ListBookGroups(ctx, r.tokenID, r.book.adamID, r.book.pricing)
}
func (r bookRecords) members(ctx context.Context) ([]store.GroupMember, error) {
	return r.tx.ListBookMembers(ctx, r.tokenID, r.book.adamID, r.book.pricing)
}
func (r bookRecords) deliveries(ctx context.Context) ([]store.Delivery, error) {
	return r.tx.ListBookDeliveries(ctx, r.tokenID, r.book.adamID, r.book.pricing)
}

// loadAssignments reads the assignments records holds into w, with their groups (no others). A
// group an assignment names that records lacks is a NotFoundError.
func (w *work) loadAssignments(ctx context.Context, records assignmentRecords) error {
	var err error
	if w.assignments, err = records.assignments(ctx); err != nil || len(w.assignments) == 0 {
		return err
	}
	groups, err := records.groups(ctx)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, a := range w.assignments {
		used[a.GroupID] = true
		w.previous[a.ID] = map[string]store.Delivery{}
	}
	for _, g := range groups {
		if used[g.ID] {
			w.groups[g.ID] = g
		}
	}
	for _, a := range w.assignments {
		if _, ok := w.groups[a.GroupID]; !ok {
			return notFound("group", a.GroupID, store.ErrNotFound)
		}
	}
	return nil
}

// loadMembers reads every member of the assignments' groups and, when states is true, their
// recorded delivery states.
func (w *work) loadMembers(ctx context.Context, records assignmentRecords, states bool) error {
	if len(w.assignments) == 0 {
		return nil
	}
	members, err := records.members(ctx)
	if err != nil {
		return err
	}
	for _, m := range members {
		w.members[m.GroupID] = append(w.members[m.GroupID], m.Email)
	}
	if !states {
		return nil
	}
	ds, err := records.deliveries(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if prev := w.previous[d.AssignmentID]; prev != nil {
			prev[d.Email] = d
		}
	}
	return nil
}

func loadUsersAndLicenses(ctx context.Context, tx store.Tx, w *work) error {
	users, err := tx.ListVPPUsers(ctx, w.token.ID)
	if err != nil {
		return err
	}
	for _, u := range users {
		w.users[u.Email] = u
	}
	lic, err := tx.ListLicenses(ctx, w.token.ID)
	if err != nil {
		return err
	}
	for _, l := range lic {
		w.licensed[licenseHolder(l).of(bookKey{l.AdamID, l.PricingParam})] = true
	}
	return nil
}

// deliveryPlan is what delivery would do now.
type deliveryPlan struct {
	// newUsers are VPP users to create at Apple (derived clientUserIds), sorted by email.
	newUsers []store.VPPUser
	// grant lists, per book, the members (by email or serial number, in that order) to license
	// now, and grantTo who holds each one's license, for those Apple has (a user not yet created,
	// or whose creation failed, has none).
	grant   map[bookKey][]string
	grantTo map[string]holder
	// cut marks members left unlicensed because an oversubscribed book ran out.
	cut map[bookKey]map[string]bool
	// want marks, per assignment, the members who should hold the book now.
	want map[string]map[string]bool
	// short holds books that lack licenses for an assignment that forbids oversubscription:
	// nothing is granted for them (their members stay queued) while other books go ahead.
	short map[bookKey]*ShortageError
}

// dueNow is the one rule of who needs a book's license now: with intent required, every member;
// with available, a member whose VPP user is associated (the invitation accepted), which a Managed
// Apple Account is as soon as it is created. u is the member's user (the zero value when none).
// A device accepts no invitation: a device group's members are due at once, whatever the intent.
// Delivery plans with it; forecasts and delivery states follow that plan.
func dueNow(intent string, g store.Group, u store.VPPUser) bool {
	return intent == IntentRequired || g.Kind == store.GroupDevices || g.Managed || u.Managed || u.Status == UserAssociated
}

// shortageIn returns the shortage of the scope's book, or of the first book short (nil scope).
func (p *deliveryPlan) shortageIn(sc *scope) error {
	if sc != nil {
		if se := p.short[sc.book]; se != nil {
			return se
		}
		return nil
	}
	keys := make([]bookKey, 0, len(p.short))
	for bk := range p.short {
		keys = append(keys, bk)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].adamID+"/"+keys[i].pricing < keys[j].adamID+"/"+keys[j].pricing })
	return p.short[keys[0]]
}

// confirmedStatuses are the statuses of a user Apple has (a create was seen to succeed).
var confirmedStatuses = []string{UserRegistered, UserAssociated}

// confirmed reports whether Apple has the user (a create was seen to succeed).
func confirmed(u store.VPPUser) bool { return slices.Contains(confirmedStatuses, u.Status) }

// planDelivery decides, from the records alone, which users to create and which members get
// which book now. A book short of licenses for an assignment that forbids oversubscription gets
// no grants (recorded in short); with oversubscription, members are licensed in email order until
// licenses run out.
func planDelivery(w *work) *deliveryPlan {
	p := &deliveryPlan{grant: map[bookKey][]string{}, grantTo: map[string]holder{}, cut: map[bookKey]map[string]bool{}, want: map[string]map[string]bool{}, short: map[bookKey]*ShortageError{}}
	newUsers := map[string]store.VPPUser{}
	candidates := map[bookKey]map[string]bool{}
	strict := map[bookKey]store.Assignment{} // an assignment of the book that forbids oversubscription

	assignments := append([]store.Assignment(nil), w.assignments...)
	sort.Slice(assignments, func(i, j int) bool { return assignments[i].ID < assignments[j].ID })
	for _, a := range assignments {
		g := w.groups[a.GroupID]
		bk := bookKey{a.AdamID, a.PricingParam}
		p.want[a.ID] = map[string]bool{}
		devices := w.devices(a.GroupID)
		for _, m := range w.members[a.GroupID] {
			u, known := w.users[m]
			h := userHolder(u.ClientUserID)
			ready := devices || known && confirmed(u) // Apple has the holder: it can be licensed now
			if devices {
				h = deviceHolder(m)
			} else if !known || !confirmed(u) {
				nu, seen := newUsers[m]
				if !seen {
					nu = u
					if !known {
						nu = store.VPPUser{TokenID: w.token.ID, ClientUserID: clientUserID(w.token.LocationUID, m), Email: m}
					}
				}
				nu.Managed = nu.Managed || g.Managed
				newUsers[m] = nu
				u = nu
				h = userHolder(u.ClientUserID)
			}
			if !dueNow(a.Intent, g, u) {
				continue
			}
			p.want[a.ID][m] = true
			if w.licensed[h.of(bk)] {
				continue
			}
			if ready {
				p.grantTo[m] = h
			}
			if candidates[bk] == nil {
				candidates[bk] = map[string]bool{}
			}
			candidates[bk][m] = true
			if !a.AllowOversubscription {
				if _, ok := strict[bk]; !ok {
					strict[bk] = a
				}
			}
		}
	}
	for _, u := range newUsers {
		p.newUsers = append(p.newUsers, u)
	}
	sort.Slice(p.newUsers, func(i, j int) bool { return p.newUsers[i].Email < p.newUsers[j].Email })

	keys := make([]bookKey, 0, len(candidates))
	for bk := range candidates {
		keys = append(keys, bk)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].adamID+"/"+keys[i].pricing < keys[j].adamID+"/"+keys[j].pricing
	})
	for _, bk := range keys {
		emails := make([]string, 0, len(candidates[bk]))
		for m := range candidates[bk] {
			emails = append(emails, m)
		}
		sort.Strings(emails)
		available := max(w.books[bk].Available, 0)
		if len(emails) > available {
			if _, ok := strict[bk]; ok {
				p.short[bk] = shortageOf(w, p, bk, len(emails), available)
				continue
			}
			p.cut[bk] = map[string]bool{}
			for _, m := range emails[available:] {
				p.cut[bk][m] = true
			}
			emails = emails[:available]
		}
		p.grant[bk] = emails
	}
	return p
}

// deliveriesOf computes an assignment's per-member states from the records, the plan, and the
// failures Apple reported in this run (keyed by clientUserId, and by pair for licenses).
func deliveriesOf(w *work, p *deliveryPlan, a store.Assignment, userFailures map[string]failure, pairFailures map[pairKey]failure, now time.Time) []store.Delivery {
	bk := bookKey{a.AdamID, a.PricingParam}
	g := w.groups[a.GroupID]
	devices := w.devices(a.GroupID)
	list := make([]store.Delivery, 0, len(w.members[a.GroupID]))
	for _, m := range w.members[a.GroupID] {
		d := store.Delivery{AssignmentID: a.ID, Email: m, UpdatedAt: now}
		u, known := w.users[m]
		h := userHolder(u.ClientUserID)
		if devices {
			known, h = true, deviceHolder(m)
		}
		prev, hadPrev := w.previous[a.ID][m]
		switch {
		case known && w.licensed[h.of(bk)]:
			d.State = DeliveryLicensed
		case known && !devices && userFailures[u.ClientUserID].code != 0:
			f := userFailures[u.ClientUserID]
			d.State, d.ErrorNumber, d.Detail = DeliveryFailed, f.code, f.message
		case known && pairFailures[h.of(bk)].code != 0:
			f := pairFailures[h.of(bk)]
			d.State, d.ErrorNumber, d.Detail = DeliveryFailed, f.code, f.message
		case p.cut[bk][m]:
			d.State, d.Detail = DeliveryUnlicensed, reasonUnlicensed
		case !p.want[a.ID][m] && a.Intent == IntentAvailable && !g.Managed:
			d.State, d.Detail = DeliveryPending, "waiting for the member to accept the invitation"
		case hadPrev && prev.State == DeliveryFailed:
			d.State, d.ErrorNumber, d.Detail = prev.State, prev.ErrorNumber, prev.Detail
		case p.short[bk] != nil:
			d.State, d.Detail = DeliveryQueued, "waiting for licenses: "+p.short[bk].Error()
		default:
			d.State, d.Detail = DeliveryQueued, reasonQueued
		}
		list = append(list, d)
	}
	return list
}

// failure is one error Apple reported for a user or a license.
type failure struct {
	code    int
	message string
}
