package engine

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// The location's users (store.LocationUser) are every active VPP user Apple holds at a token's
// location, whoever created it. Every walk of Apple's users keeps them: a walk of all users
// rebuilds them, and one of the users changed since the last walk updates them when they were
// complete at that walk. Members without a user record are looked up in them (adoptUsers), so
// that finding the users another runner, an older database or another system created costs a walk
// of what changed at Apple, not of every user of the location.

// walkSeq numbers the walks of Apple's users (see store.Tx.ApplyLocationUsers).
var walkSeq atomic.Int64

func init() { walkSeq.Store(time.Now().UnixNano()) }

// usersWalk keeps the location's users during one walk of Apple's users.
type usersWalk struct {
	e       *Engine
	tokenID string
	id      int64
	// full: the walk reads every user. keep: it keeps the location's users (it is full, or reads
	// the changes since the version they are complete at); otherwise they are left as they are,
	// not current, until a full walk.
	full, keep bool
}

// startUsersWalk prepares the walk of Apple's users of rec's location that starts at the users
// versionId since ("": every user).
func (e *Engine) startUsersWalk(ctx context.Context, rec store.Token, since string) (*usersWalk, error) {
	w := &usersWalk{e: e, tokenID: rec.ID, id: walkSeq.Add(1), full: since == ""}
	w.keep = w.full
	if !w.keep {
		v, err := e.locationUsersVersion(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		w.keep = v == since
	}
	return w, nil
}

// restartFull makes the walk one of every user (Apple no longer knew the version it started at).
func (w *usersWalk) restartFull() {
	w.full, w.keep, w.id = true, true, walkSeq.Add(1)
}

// page records a page of the walk; restart says the walk started again at its first page.
func (w *usersWalk) page(ctx context.Context, restart bool, page []apple.User) error {
	if !w.keep {
		return nil
	}
	if restart {
		w.id = walkSeq.Add(1) // what the interrupted walk saw is seen again, or gone
	}
	var active []store.LocationUser
	var gone []string
	for _, u := range page {
		if u.Status == UserRegistered || u.Status == UserAssociated {
			active = append(active, store.LocationUser{ClientUserID: u.ClientUserID, EmailKey: EmailKey(u.Email),
				Status: u.Status, InviteCode: u.InviteCode, IDHash: u.IDHash})
		} else {
			gone = append(gone, u.ClientUserID)
		}
	}
	if len(active)+len(gone) == 0 {
		return nil
	}
	return w.e.tx(ctx, func(tx store.Tx) error { return tx.ApplyLocationUsers(ctx, w.tokenID, w.id, active, gone) })
}

// finish ends a walk that reached its last page at Apple's users versionId version, and returns
// the version the location's users are now complete at ("": not complete), for the caller to
// record beside the token's users versionId.
func (w *usersWalk) finish(ctx context.Context, version string) (string, error) {
	if !w.keep {
		return "", nil
	}
	if w.full {
		if err := w.e.tx(ctx, func(tx store.Tx) error { return tx.PruneLocationUsers(ctx, w.tokenID, w.id) }); err != nil {
			return "", err
		}
	}
	return version, nil
}

// locationUsersVersion returns the users versionId the token's location users are complete at.
func (e *Engine) locationUsersVersion(ctx context.Context, tokenID string) (string, error) {
	var v string
	err := e.view(ctx, func(tx store.Tx) error {
		var err error
		v, err = tx.LocationUsersVersion(ctx, tokenID)
		return err
	})
	return v, err
}

// locationUsersCurrent reports whether the token's location users are complete at its last users
// walk, so that a walk of the users changed since brings them up to Apple's.
func (e *Engine) locationUsersCurrent(ctx context.Context, rec store.Token) (bool, error) {
	v, err := e.locationUsersVersion(ctx, rec.ID)
	return err == nil && v != "" && v == rec.UsersVersion, err
}

// matchLocationUsers picks, among the location's users, the user to adopt for each of the
// members (emails) of rec: the one with the clientUserId this provider derives for the member,
// else an active user with the member's email (an Associated one first, then the lowest
// clientUserId), so that any engine picks the same. byDerived tells the members found by their
// derived id.
func (e *Engine) matchLocationUsers(ctx context.Context, rec store.Token, members []string) (found map[string]store.LocationUser, byDerived map[string]bool, err error) {
	derivedFor := make(map[string]string, len(members)) // derived clientUserId -> email
	ids := make([]string, len(members))
	wanted := make(map[string]bool, len(members))
	for i, m := range members {
		ids[i] = clientUserID(rec.LocationUID, m)
		derivedFor[ids[i]] = m
		wanted[m] = true
	}
	var list []store.LocationUser
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		list, err = tx.FindLocationUsers(ctx, rec.ID, ids, members)
		return err
	}); err != nil {
		return nil, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ClientUserID < list[j].ClientUserID })
	found, byDerived = map[string]store.LocationUser{}, map[string]bool{}
	for _, u := range list {
		if m, ok := derivedFor[u.ClientUserID]; ok {
			found[m], byDerived[m] = u, true
			continue
		}
		m := u.EmailKey
		if !wanted[m] || byDerived[m] {
			continue
		}
		if prev, ok := found[m]; ok && !betterMatch(u, prev) {
			continue
		}
		found[m] = u
	}
	return found, byDerived, nil
}

// betterMatch reports whether u is a better user to adopt for an email than prev: an Associated
// user before a Registered one, then the lowest clientUserId, so that any engine picks the same.
func betterMatch(u, prev store.LocationUser) bool {
	if (u.Status == UserAssociated) != (prev.Status == UserAssociated) {
		return u.Status == UserAssociated
	}
	return u.ClientUserID < prev.ClientUserID
}
