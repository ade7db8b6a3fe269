package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// adoptUsers finds at Apple the VPP users of the members the engine has no user record of (the
// members of the groups assigned a book of the token), before anything is created for them:
//
//   - the user this provider derives for the person (clientUserID of the location and the email),
//     which any engine of the provider created: one on another runner, one whose database was
//     lost or restored from an older backup, or a token re-created for the location;
//   - otherwise an active user Apple holds with the person's email, whoever created it (an
//     earlier release of this provider, or the system a take-over replaced). Among several, an
//     Associated one comes first, then the lowest clientUserId.
//
// It first brings the location's users up to Apple's with one walk of Apple's users: those changed
// since the last walk, or all of them when the records of the location's users are not complete
// at the last walk (a new database, or one written before they were kept). Each user found is
// recorded as the person's user, so that a person has one VPP user per location and nothing is
// created twice; the caller then reads the licenses they hold, so that no (book, person) pair is
// licensed twice. It returns the clientUserIds it adopted, and whether the walk changed the
// records of the engine's users. The members it looked up are remembered for this process (see
// lookupDue); all looks them up again, as a delivery does before it creates anyone.
func (e *Engine) adoptUsers(ctx context.Context, c *apple.Client, rec store.Token, all bool) (adopted []string, changed bool, err error) {
	var missing []string
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		missing, err = tx.ListMembersWithoutUser(ctx, rec.ID)
		return err
	}); err != nil {
		return nil, false, err
	}
	if !all {
		missing = e.notLooked(rec.ID, missing)
	}
	if len(missing) == 0 {
		return nil, false, nil
	}
	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		return nil, false, e.appleError(rec.ID, "reading Apple's service config (GET /service/config)", err)
	}
	if rec, err = e.tokenRecord(ctx, rec.ID); err != nil {
		return nil, false, err
	}
	current, err := e.locationUsersCurrent(ctx, rec)
	if err != nil {
		return nil, false, err
	}
	if _, err := e.readUsers(ctx, c, rec.ID, nil, !current, func(store.VPPUser) { changed = true }); err != nil {
		return nil, false, err
	}
	e.markLooked(rec.ID, missing)
	found, byDerived, err := e.matchLocationUsers(ctx, rec, missing)
	if err != nil || len(found) == 0 {
		return nil, changed, err
	}
	now := e.now()
	users := make([]store.VPPUser, 0, len(found))
	for m, u := range found {
		au := apple.User{ClientUserID: u.ClientUserID, Status: u.Status, InviteCode: u.InviteCode, IDHash: u.IDHash}
		users = append(users, store.VPPUser{TokenID: rec.ID, ClientUserID: u.ClientUserID, Email: m, Status: u.Status,
			InviteCode: u.InviteCode, IDHash: u.IDHash, InvitationURL: invitationURL(sc, au), UpdatedAt: now})
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ClientUserID < users[j].ClientUserID })
	err = e.tx(ctx, func(tx store.Tx) error {
		if err := tx.UpsertVPPUsers(ctx, users); err != nil {
			return err
		}
		if err := tx.TouchDeliveries(ctx, rec.ID); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: rec.ID, Operation: "adopt_users", Count: len(users),
			Detail: fmt.Sprintf("%d existing VPP users at location %q recognised as members' users (%d by this provider's id, %d by email); nothing created",
				len(users), rec.LocationName, len(byDerived), len(users)-len(byDerived))})
	})
	if err != nil {
		return nil, changed, err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ClientUserID
	}
	return ids, true, nil
}

// Adoption reports the existing VPP users a delivery recognised at Apple (see adoptUsers).
type Adoption struct {
	// Users counts members' existing users recognised instead of created.
	Users int
	// Licenses counts the licenses (of books and apps) those users already held at the location:
	// none of them is spent again.
	Licenses int
	// AppLicenses counts, of Licenses, those of apps.
	AppLicenses int
}

// add adds the adoption b to a.
func (a *Adoption) add(b Adoption) {
	a.Users, a.Licenses, a.AppLicenses = a.Users+b.Users, a.Licenses+b.Licenses, a.AppLicenses+b.AppLicenses
}

// adoptedLicenses counts the licenses the token's records hold for the given users, and how many
// of them are of apps.
func (e *Engine) adoptedLicenses(ctx context.Context, tokenID string, ids []string) (all, apps int, err error) {
	who := make(map[string]bool, len(ids))
	for _, id := range ids {
		who[id] = true
	}
	err = e.view(ctx, func(tx store.Tx) error {
		revocable, err := appKeys(ctx, tx, tokenID)
		if err != nil {
			return err
		}
		return tx.EachLicense(ctx, tokenID, func(l store.License) error {
			if who[l.ClientUserID] {
				all++
				if _, app := revocable[bookKey{l.AdamID, l.PricingParam}]; app {
					apps++
				}
			}
			return nil
		})
	})
	return all, apps, err
}

// appKeys lists the token's apps (the rest of its assets are books), with whether each is revocable.
func appKeys(ctx context.Context, tx store.Tx, tokenID string) (map[bookKey]bool, error) {
	apps, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: tokenID, ProductType: store.ProductApp})
	if err != nil {
		return nil, err
	}
	out := make(map[bookKey]bool, len(apps))
	for _, a := range apps {
		out[bookKey{a.AdamID, a.PricingParam}] = reclaims(a)
	}
	return out, nil
}

// markLooked remembers, for this process, that the members were looked up at Apple.
func (e *Engine) markLooked(tokenID string, emails []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := e.looked[tokenID]
	if seen == nil {
		seen = map[string]bool{}
		e.looked[tokenID] = seen
	}
	for _, m := range emails {
		seen[m] = true
	}
}

// notLooked returns the members this process has not looked up at Apple yet.
func (e *Engine) notLooked(tokenID string, emails []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := emails[:0:0]
	for _, m := range emails {
		if !e.looked[tokenID][m] {
			out = append(out, m)
		}
	}
	return out
}

// lookupDue reports whether some member of the token's assigned groups has no user record and was
// not looked up at Apple by this process yet: a refresh then syncs, so that users another engine
// created are found (a new or restored database, a group that grew elsewhere). A member looked up
// and not found is not looked up again by the same process, so that a plan over many assignments
// costs one lookup, not one per assignment.
func (e *Engine) lookupDue(ctx context.Context, tokenID string) (bool, error) {
	var missing []string
	if err := e.view(ctx, func(tx store.Tx) error {
		var err error
		missing, err = tx.ListMembersWithoutUser(ctx, tokenID)
		return err
	}); err != nil {
		return false, err
	}
	return len(e.notLooked(tokenID, missing)) > 0, nil
}

// syncedHere reports whether this process completed a sync of the token.
func (e *Engine) syncedHere(tokenID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.synced[tokenID]
}
