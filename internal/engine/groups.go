package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// GroupInput is what the user supplies for a user group.
type GroupInput struct {
	Name        string
	Description string
	Members     []string // Apple Account emails
	// Managed means the members are Managed Apple Accounts: associated at once, no invitation.
	Managed bool
	// MembersFrom is what Members were read from (a roster file's SHA-256); empty for a list given
	// directly. A record whose MembersFrom is not the one last applied does not hold the members
	// last applied (see RestoreGroup).
	MembersFrom string
	// NoInvitations leaves the returned group's Invitations empty: the caller does not read them
	// (a roster group's resource keeps none), and finding them reads every VPP user of the
	// group's tokens.
	NoInvitations bool
}

// Group is a user group as the engine knows it.
type Group struct {
	ID          string
	Name        string
	Description string
	Members     []string // normalised, sorted
	Managed     bool
	MembersFrom string
	// Invitations maps each member who still has to accept an invitation to its URL (one per
	// member: the first of its tokens, by token id, that has a pending invitation).
	Invitations map[string]string
}

// NormalizeMembers validates and normalises emails (NormalizeEmail), sorted, refusing duplicates
// that differ only in case or surrounding space (the set would silently shrink otherwise). One
// error covers every bad member, quoting the first few.
func NormalizeMembers(in []string) ([]string, error) {
	if out, ok := normalizedLists.find(in); ok {
		return out, nil
	}
	p := CheckMembers(in)
	if len(p.Invalid) > 0 {
		return nil, fmt.Errorf("%w: %s (expected name@example.com)", ErrInvalidInput, p.InvalidSummary())
	}
	if len(p.Duplicates) > 0 {
		return nil, fmt.Errorf("%w: %s (emails are case-insensitive); list each person once", ErrInvalidInput, lowerFirst(p.DuplicateSummary()))
	}
	out := make([]string, 0, len(in))
	for _, m := range in {
		out = append(out, EmailKey(m))
	}
	sort.Strings(out)
	normalizedLists.remember(in, out)
	return out, nil
}

// normalizedLists remembers the long member lists NormalizeMembers accepted last, and the rosters
// ReadRoster read: a plan, its forecasts and the apply give the engine the same list of 100,000
// members several times, and comparing it with a list remembered costs far less than checking
// every email again.
var normalizedLists memberLists

// memberLists remembers a few lists and their normalised form. It is safe for concurrent use.
type memberLists struct {
	mu    sync.Mutex
	lists [4]struct{ in, out []string }
	next  int
}

// rememberedMembers is the length from which a list is remembered: shorter ones cost little to
// check again.
const rememberedMembers = 1000

// find returns the normalised form of in (a copy), when in is a list remembered.
func (l *memberLists) find(in []string) ([]string, bool) {
	if len(in) < rememberedMembers {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.lists {
		if len(r.in) == len(in) && slices.Equal(r.in, in) {
			return slices.Clone(r.out), true
		}
	}
	return nil, false
}

// remember keeps in and its normalised form out (copies), in place of the oldest list kept.
func (l *memberLists) remember(in, out []string) {
	if len(in) < rememberedMembers {
		return
	}
	kept := slices.Clone(out)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lists[l.next].out = kept
	l.lists[l.next].in = kept
	if !slices.Equal(in, out) {
		l.lists[l.next].in = slices.Clone(in)
	}
	l.next = (l.next + 1) % len(l.lists)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// CreateGroup stores a new group. Its members receive books once an assignment names the group.
func (e *Engine) CreateGroup(ctx context.Context, in GroupInput) (Group, error) {
	members, err := NormalizeMembers(in.Members)
	if err != nil {
		return Group{}, err
	}
	now := e.now()
	g := store.Group{ID: uuid.NewString(), Name: in.Name, Description: in.Description, Managed: in.Managed, MembersFrom: in.MembersFrom, CreatedAt: now, UpdatedAt: now}
	if err := e.tx(ctx, func(tx store.Tx) error {
		if err := tx.InsertGroup(ctx, g); err != nil {
			return err
		}
		return tx.SetMembers(ctx, g.ID, members)
	}); err != nil {
		return Group{}, err
	}
	return e.readGroup(ctx, g.ID, !in.NoInvitations)
}

// RestoreGroup makes the engine's record of a group that Terraform's state holds match that
// state: the group is a set of people the configuration defines, so the state is its truth and the
// record a cache of it. A database that lacks the group (a new runner, a lost or restored
// database) gets it back under the same id; one that holds an older version of it (another runner
// applied a change since) is brought up to date. It sends nothing to Apple: members' users and
// licenses are found at Apple when the group's assignments are read or delivered. restored reports
// whether the record was missing or differed.
func (e *Engine) RestoreGroup(ctx context.Context, id string, in GroupInput) (g Group, restored bool, err error) {
	members, err := NormalizeMembers(in.Members)
	if err != nil {
		return Group{}, false, err
	}
	// In the common case the record matches: one read, no write.
	same := false
	var cur store.Group
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		cur, err = groupOfKind(ctx, tx, id, KindGroup)
		if errors.Is(err, store.ErrNotFound) {
			return nil // rebuilt below
		} else if err != nil {
			return err
		}
		old, err := tx.ListMembers(ctx, id)
		same = err == nil && sameGroup(cur, old, in, members)
		return err
	}); err != nil {
		return Group{}, false, err
	}
	switch {
	case same && in.NoInvitations:
		// The record is the input: nothing more to read.
		return Group{ID: cur.ID, Name: cur.Name, Description: cur.Description, Managed: cur.Managed, MembersFrom: cur.MembersFrom,
			Members: members, Invitations: map[string]string{}}, false, nil
	case same:
		g, err = e.readGroup(ctx, id, true)
		return g, false, err
	}
	err = e.tx(ctx, func(tx store.Tx) error {
		cur, err := groupOfKind(ctx, tx, id, KindGroup)
		missing := errors.Is(err, store.ErrNotFound)
		if err != nil && !missing {
			return err
		}
		var old []string
		if !missing {
			if old, err = tx.ListMembers(ctx, id); err != nil {
				return err
			}
			if sameGroup(cur, old, in, members) {
				return nil
			}
		}
		restored = true
		now := e.now()
		rec := store.Group{ID: id, Name: in.Name, Description: in.Description, Managed: in.Managed, MembersFrom: in.MembersFrom, CreatedAt: now, UpdatedAt: now}
		if missing {
			if err := tx.InsertGroup(ctx, rec); err != nil {
				return err
			}
		} else {
			rec.CreatedAt = cur.CreatedAt
			if err := tx.UpdateGroup(ctx, rec); err != nil {
				return err
			}
			_, tokens, err := licensesHeldBy(ctx, tx, id, nil)
			if err != nil {
				return err
			}
			// A restore reads nothing at Apple: members the records did not hold may have users and
			// licenses there (another runner delivered them), so the delivery states stay outdated
			// and the refresh that follows looks them up (RefreshAssignment), as before the open work.
			if err := tx.TouchDeliveries(ctx, tokens...); err != nil {
				return err
			}
			added, removed := diffSorted(old, members)
			return tx.ChangeMembers(ctx, id, added, removed)
		}
		return tx.SetMembers(ctx, id, members)
	})
	if err != nil {
		return Group{}, false, err
	}
	g, err = e.readGroup(ctx, id, !in.NoInvitations)
	return g, restored, err
}

// sameGroup reports whether the record (cur with its members old) is the input (with its
// normalised members).
func sameGroup(cur store.Group, old []string, in GroupInput, members []string) bool {
	return cur.Name == in.Name && cur.Description == in.Description && cur.Managed == in.Managed &&
		cur.MembersFrom == in.MembersFrom && slices.Equal(old, members)
}

// changeMembersIn changes group id's members in tx by added and removed (each sorted), and marks
// the delivery states of tokens (those of the group's assignments) outdated. Where they were
// current and the change is small, it records at once what the change does to them, so that they
// stay current and the delivery that follows reads only the work the change leaves open.
func (e *Engine) changeMembersIn(ctx context.Context, tx store.Tx, id string, added, removed, tokens []string) error {
	var current []string
	if len(added)+len(removed) <= openLookups {
		for _, t := range tokens {
			rec, err := tx.GetToken(ctx, t)
			if err != nil {
				return err
			}
			if rec.DeliveriesRecorded >= rec.DeliveriesGen {
				current = append(current, t)
			}
		}
	}
	if err := tx.TouchDeliveries(ctx, tokens...); err != nil {
		return err
	}
	if err := tx.ChangeMembers(ctx, id, added, removed); err != nil {
		return err
	}
	for _, t := range current {
		w, err := readWorkIn(ctx, tx, t, nil, workOptions{open: true, vouched: true, edit: func(_ store.Tx, w *work) error {
			w.changeMembers(id, added, removed)
			return nil
		}})
		if err != nil {
			return err
		}
		if err := writeDeliveries(ctx, tx, deliveryChanges(w, nil, e.now())); err != nil {
			return err
		}
		if err := tx.SetDeliveriesRecorded(ctx, t, w.token.DeliveriesGen); err != nil {
			return err
		}
	}
	return nil
}

// GroupChange reports what an update did beyond the group's own record.
type GroupChange struct {
	// LicensesKept counts licenses removed members keep: books and apps that are not revocable
	// cannot be reclaimed, and another group's assignment of an app may cover them.
	LicensesKept int
	// BookLicensesKept counts, of LicensesKept, the licenses of books.
	BookLicensesKept int
	// LicensesReclaimed counts the revocable app licenses taken back from removed members.
	LicensesReclaimed int
	// Adopted reports the existing users the delivery to new members recognised at Apple.
	Adopted Adoption
}

// UpdateGroup changes the group. New members receive every book assigned to the group: delivery
// runs for each token the group's assignments use. A group the engine's records lack (a lost
// database, and members the caller could not give back to RestoreGroup, as when a roster file
// changed since the records were lost) is recorded anew under the same id, with no member counted
// as removed.
func (e *Engine) UpdateGroup(ctx context.Context, id string, in GroupInput) (Group, GroupChange, error) {
	members, err := NormalizeMembers(in.Members)
	if err != nil {
		return Group{}, GroupChange{}, err
	}
	var change GroupChange
	// Licenses of revocable apps go back before the members leave the records: an update cut
	// short finds them there again, and the next one resumes.
	if change.LicensesReclaimed, err = e.reclaimRemoved(ctx, id, members); err != nil {
		return Group{}, change, err
	}
	var tokens []string
	err = e.tx(ctx, func(tx store.Tx) error {
		g, err := groupOfKind(ctx, tx, id, KindGroup)
		if errors.Is(err, store.ErrNotFound) {
			now := e.now()
			g = store.Group{ID: id, Name: in.Name, Description: in.Description, Managed: in.Managed, MembersFrom: in.MembersFrom, CreatedAt: now, UpdatedAt: now}
			err = tx.InsertGroup(ctx, g)
		}
		if err != nil {
			return err
		}
		old, err := tx.ListMembers(ctx, id)
		if err != nil {
			return err
		}
		if err := invitedBeforeManaged(ctx, tx, g, in.Managed, members); err != nil {
			return err
		}
		added, removed := diffSorted(old, members)
		var held heldLicenses
		if held, tokens, err = licensesHeldBy(ctx, tx, id, removed); err != nil {
			return err
		}
		change.LicensesKept, change.BookLicensesKept = held.keptAfter(change.LicensesReclaimed)
		g.Name, g.Description, g.Managed, g.MembersFrom, g.UpdatedAt = in.Name, in.Description, in.Managed, in.MembersFrom, e.now()
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		return e.changeMembersIn(ctx, tx, id, added, removed, tokens)
	})
	if err != nil {
		return Group{}, GroupChange{}, err
	}
	for _, t := range tokens {
		adopted, err := e.deliverReporting(ctx, t, nil)
		change.Adopted.add(adopted)
		if err != nil {
			g, _ := e.readGroup(ctx, id, !in.NoInvitations)
			return g, change, err
		}
	}
	g, err := e.readGroupOf(ctx, id, members, !in.NoInvitations)
	return g, change, err
}

// reclaimRemoved takes back the revocable app licenses of the members an update of group id to
// members removes (reclaimLeaving). A group with no assignment of such an app has none to read.
func (e *Engine) reclaimRemoved(ctx context.Context, id string, members []string) (int, error) {
	apps, err := e.reclaimingAssignments(ctx, id)
	if err != nil || len(apps) == 0 {
		return 0, err
	}
	var leaving []string
	if err := e.view(ctx, func(tx store.Tx) error {
		old, err := tx.ListMembers(ctx, id)
		_, leaving = diffSorted(old, members)
		return err
	}); err != nil {
		return 0, err
	}
	return e.reclaimLeaving(ctx, id, leaving)
}

// CheckGroupChange refuses, before anything is stored or sent, a change of the group that the
// engine cannot carry out (see invitedBeforeManaged). It reads only the engine's records.
func (e *Engine) CheckGroupChange(ctx context.Context, id string, in GroupInput) error {
	members, err := NormalizeMembers(in.Members)
	if err != nil {
		return err
	}
	return e.view(ctx, func(tx store.Tx) error {
		g, err := groupOfKind(ctx, tx, id, KindGroup)
		if err != nil {
			return notFound("group", id, err)
		}
		return invitedBeforeManaged(ctx, tx, g, in.Managed, members)
	})
}

// invitedBeforeManaged refuses to switch a group to Managed Apple Accounts while members already
// have VPP users created with an invitation at a location of the group's assignments: those users
// would stay invited (Registered) and an available license would be spent on someone who cannot
// associate through this group.
func invitedBeforeManaged(ctx context.Context, tx store.Tx, g store.Group, managed bool, members []string) error {
	if g.Managed || !managed {
		return nil
	}
	assignments, err := tx.ListAssignmentsByGroup(ctx, g.ID)
	if err != nil {
		return err
	}
	isMember := make(map[string]bool, len(members))
	for _, m := range members {
		isMember[m] = true
	}
	var invited []string
	seen := map[string]bool{}
	for _, a := range assignments {
		if seen[a.TokenID] {
			continue
		}
		seen[a.TokenID] = true
		users, err := tx.ListVPPUsers(ctx, a.TokenID)
		if err != nil {
			return err
		}
		for _, u := range users {
			if isMember[u.Email] && !u.Managed && u.Status != UserAssociated {
				invited = append(invited, u.Email)
			}
		}
	}
	if len(invited) == 0 {
		return nil
	}
	invited = dedupe(invited)
	sort.Strings(invited)
	return &ManagedAccountsSwitchError{GroupName: g.Name, Count: len(invited), Invited: firstN(invited, 3)}
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), "…")
}

// heldLicenses counts licenses members hold through a group's assignments: all of them, and how
// many are of books.
type heldLicenses struct{ all, books int }

// keptAfter counts the licenses that stay with the members once reclaimed ones (all of apps) are
// taken back, and how many of them are of books. (The deliveries of reclaimed ones still read
// licensed when this is counted.)
func (h heldLicenses) keptAfter(reclaimed int) (kept, books int) {
	return max(h.all-reclaimed, 0), h.books
}

// licensesHeldBy counts the licenses, among the group's assignments, that the given members
// hold, and lists the tokens the group's assignments use.
func licensesHeldBy(ctx context.Context, tx store.Tx, groupID string, emails []string) (heldLicenses, []string, error) {
	var held heldLicenses
	assignments, err := tx.ListAssignmentsByGroup(ctx, groupID)
	if err != nil {
		return held, nil, err
	}
	var tokens []string
	seenToken := map[string]bool{}
	who := make(map[string]bool, len(emails))
	for _, m := range emails {
		who[m] = true
	}
	for _, a := range assignments {
		if !seenToken[a.TokenID] {
			seenToken[a.TokenID] = true
			tokens = append(tokens, a.TokenID)
		}
		if len(who) == 0 {
			continue
		}
		n, err := licensedAmong(ctx, tx, a.ID, who)
		if err != nil {
			return held, nil, err
		}
		var view Assignment
		if err := view.describe(ctx, tx, a); err != nil {
			return held, nil, err
		}
		held.all += n
		if view.Kind == KindBook {
			held.books += n
		}
	}
	sort.Strings(tokens)
	return held, tokens, nil
}

// licensedAmong counts the members in who that assignment id licensed.
func licensedAmong(ctx context.Context, tx store.Tx, id string, who map[string]bool) (int, error) {
	ds, err := tx.ListDeliveries(ctx, id)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if who[d.Email] && d.State == DeliveryLicensed {
			n++
		}
	}
	return n, nil
}

// GroupRemovalImpact says what members leaving the group (all but remaining; every member when
// remaining is nil) would do to their licenses, for a plan-time warning: how many revocable app
// licenses would be reclaimed, and how many licenses they would keep (books, apps that are not
// revocable, apps another group's assignment covers). It reads only the engine's records.
func (e *Engine) GroupRemovalImpact(ctx context.Context, id string, remaining []string) (RemoveReport, error) {
	members, err := NormalizeMembers(remaining)
	if err != nil {
		return RemoveReport{}, err
	}
	return e.removalImpact(ctx, id, members)
}

// removalImpact is GroupRemovalImpact for a group of either kind, with its remaining members
// normalised.
func (e *Engine) removalImpact(ctx context.Context, id string, members []string) (RemoveReport, error) {
	var rep RemoveReport
	var leaving []string
	var held heldLicenses
	err := e.view(ctx, func(tx store.Tx) error {
		old, err := tx.ListMembers(ctx, id)
		if err != nil {
			return err
		}
		_, leaving = diffSorted(old, members)
		held, _, err = licensesHeldBy(ctx, tx, id, leaving)
		return err
	})
	if err != nil {
		return RemoveReport{}, err
	}
	if rep.LicensesReclaimed, err = e.reclaimableLeaving(ctx, id, leaving); err != nil {
		return RemoveReport{}, err
	}
	rep.LicensesKept, rep.BookLicensesKept = held.keptAfter(rep.LicensesReclaimed)
	return rep, nil
}

// GetGroup reads a group, with pending invitations, from the engine's records.
func (e *Engine) GetGroup(ctx context.Context, id string) (Group, error) {
	return e.readGroup(ctx, id, true)
}

// readGroup is GetGroup, leaving Invitations empty unless invitations.
func (e *Engine) readGroup(ctx context.Context, id string, invitations bool) (Group, error) {
	return e.readGroupOf(ctx, id, nil, invitations)
}

// readGroupOf is readGroup of a group whose members (normalised, sorted) the caller just recorded,
// when there are some: they are not read again.
func (e *Engine) readGroupOf(ctx context.Context, id string, members []string, invitations bool) (Group, error) {
	var out Group
	err := e.view(ctx, func(tx store.Tx) error {
		g, err := groupOfKind(ctx, tx, id, KindGroup)
		if err != nil {
			return notFound("group", id, err)
		}
		if len(members) == 0 {
			if members, err = tx.ListMembers(ctx, id); err != nil {
				return err
			}
		}
		out = Group{ID: g.ID, Name: g.Name, Description: g.Description, Managed: g.Managed, MembersFrom: g.MembersFrom, Members: members, Invitations: map[string]string{}}
		if g.Managed || !invitations {
			return nil
		}
		// By token id, then email: a member's invitation is the first of its tokens'.
		invited, err := tx.ListInvitedMembers(ctx, id, UserRegistered)
		for _, u := range invited {
			if _, done := out.Invitations[u.Email]; !done {
				out.Invitations[u.Email] = u.InvitationURL
			}
		}
		return err
	})
	return out, err
}

// DeleteGroup forgets the group and its assignments. Revocable app licenses its assignments alone
// gave are taken back first (as when its members leave); book licenses its members hold stay.
func (e *Engine) DeleteGroup(ctx context.Context, id string) (RemoveReport, error) {
	return e.deleteGroup(ctx, id, KindGroup)
}

// deleteGroup is DeleteGroup for a user group (kind KindGroup) or a device group (KindDeviceGroup).
func (e *Engine) deleteGroup(ctx context.Context, id, kind string) (RemoveReport, error) {
	var rep RemoveReport
	var members []string
	if err := e.view(ctx, func(tx store.Tx) error {
		if _, err := groupOfKind(ctx, tx, id, kind); err != nil {
			return notFound(kind, id, err)
		}
		var err error
		members, err = tx.ListMembers(ctx, id)
		return err
	}); err != nil {
		return rep, err
	}
	var err error
	if rep.LicensesReclaimed, err = e.reclaimLeaving(ctx, id, members); err != nil {
		return rep, err
	}
	err = e.tx(ctx, func(tx store.Tx) error {
		if _, err := groupOfKind(ctx, tx, id, kind); err != nil {
			return notFound(kind, id, err)
		}
		members, err := tx.ListMembers(ctx, id)
		if err != nil {
			return err
		}
		held, tokens, err := licensesHeldBy(ctx, tx, id, members)
		if err != nil {
			return err
		}
		rep.LicensesKept, rep.BookLicensesKept = held.keptAfter(rep.LicensesReclaimed)
		if err := tx.TouchDeliveries(ctx, tokens...); err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, id)
	})
	return rep, err
}

// groupOfKind reads group id, which must be of the kind named (KindGroup: a user group;
// KindDeviceGroup: a device group): a group of the other kind is not found (store.ErrNotFound).
func groupOfKind(ctx context.Context, tx store.Tx, id, kind string) (store.Group, error) {
	g, err := tx.GetGroup(ctx, id)
	if err == nil && (g.Kind == store.GroupDevices) != (kind == KindDeviceGroup) {
		err = fmt.Errorf("store: %s is not a %s: %w", id, kind, store.ErrNotFound)
	}
	return g, err
}

// GroupMembers reads a group's members (normalised, sorted) from the engine's records, with what
// they were read from (GroupInput.MembersFrom), without the invitations GetGroup gathers.
func (e *Engine) GroupMembers(ctx context.Context, id string) (members []string, from string, err error) {
	err = e.view(ctx, func(tx store.Tx) error {
		g, err := groupOfKind(ctx, tx, id, KindGroup)
		if err != nil {
			return notFound("group", id, err)
		}
		from = g.MembersFrom
		members, err = tx.ListMembers(ctx, id)
		return err
	})
	return members, from, err
}
