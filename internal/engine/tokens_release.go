package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// RemoveTokenOptions says what removing a token does with the licenses its location gave the
// engine's users.
type RemoveTokenOptions struct {
	// ReleaseAppLicenses takes back at Apple, before the token is forgotten, every license of a
	// revocable app that the records show one of the engine's users, or a device of one of its
	// device groups, holding at the location. The
	// token is forgotten only once Apple confirmed them all. Without it every license stays with its
	// user and nothing is sent to Apple. Licenses Apple does not let be taken back (books, apps
	// that are not revocable) stay either way.
	ReleaseAppLicenses bool
}

// ReleaseError: removing a token that was to release its app licenses stopped with Remaining of
// them still held by the engine's users; the token's record is kept, so that removing it again
// resumes (what was released is not held any more and is not sent again). Cause is why: the token
// cannot be used (a TokenUnusableError or ExternalMDMError), Apple did not take licenses back (a
// ReclaimError), Apple has not finished (an IncompleteError), or another error.
type ReleaseError struct {
	TokenID      string
	LocationName string
	Remaining    int
	Cause        error
}

func (e *ReleaseError) Error() string {
	held := fmt.Sprintf("%d revocable app licenses that the engine's users and devices hold at location %q", e.Remaining, e.LocationName)
	if e.Refused() {
		return fmt.Sprintf("the %s cannot be released through token %s, which cannot be used: %v. The token is kept: "+
			"renew its token file first and remove it again to release them, or remove it keeping the licenses with their users",
			held, e.TokenID, e.Cause)
	}
	return fmt.Sprintf("%s were not released (%s); token %s is kept so that removing it again releases them", held,
		releaseCause(e.Cause), e.TokenID)
}

// Refused reports whether the token could not be used at all (expired, revoked, invalid, or its
// location claimed by another system), so that nothing could be released.
func (e *ReleaseError) Refused() bool {
	return errors.Is(e.Cause, ErrTokenUnusable) || errors.As(e.Cause, new(*ExternalMDMError))
}

func (e *ReleaseError) Unwrap() error { return e.Cause }

// releaseCause words why licenses were not released. A ReclaimError is worded from its facts: its
// own text speaks of an assignment kept.
func releaseCause(cause error) string {
	var reclaim *ReclaimError
	if !errors.As(cause, &reclaim) {
		return cause.Error()
	}
	why := ""
	if reclaim.ErrorNumber != 0 {
		why = fmt.Sprintf(" (Apple error %d: %s)", reclaim.ErrorNumber, reclaim.Detail)
	}
	return fmt.Sprintf("Apple did not take back %d licenses of app %s%s", reclaim.Remaining, reclaim.AdamID, why)
}

// tokenLicenses are the licenses the records show at a token's location: those of revocable apps
// held by the engine's users and by the devices of its device groups (by asset, holders sorted),
// which a removal can release, and how many others there are (books, apps that are not revocable,
// and licenses of users the engine did not create or of devices in none of its groups), which
// stay.
type tokenLicenses struct {
	locationName string
	releasable   map[bookKey][]holder
	count        int // of releasable
	others       int
	books        int // of others, the licenses of books
}

// report is what removing the token as opts says does to the licenses.
func (l tokenLicenses) report(opts RemoveTokenOptions) RemoveReport {
	if opts.ReleaseAppLicenses {
		return RemoveReport{LicensesKept: l.others, BookLicensesKept: l.books, LicensesReclaimed: l.count}
	}
	return RemoveReport{LicensesKept: l.others + l.count, AppLicensesKept: l.count, BookLicensesKept: l.books}
}

// readTokenLicenses reads the token's licenses in tx (a NotFoundError when there is no token).
func readTokenLicenses(ctx context.Context, tx store.Tx, id string) (tokenLicenses, error) {
	rec, err := tx.GetToken(ctx, id)
	if err != nil {
		return tokenLicenses{}, notFound("token", id, err)
	}
	out := tokenLicenses{locationName: rec.LocationName, releasable: map[bookKey][]holder{}}
	ours, err := engineHolders(ctx, tx, id)
	if err != nil {
		return out, err
	}
	revocable, err := appKeys(ctx, tx, id)
	if err != nil {
		return out, err
	}
	err = tx.EachLicense(ctx, id, func(l store.License) error {
		bk := bookKey{l.AdamID, l.PricingParam}
		if _, app := revocable[bk]; !app {
			out.books++
		}
		h := licenseHolder(l)
		if !revocable[bk] || !ours[h] {
			out.others++
			return nil
		}
		out.releasable[bk] = append(out.releasable[bk], h)
		out.count++
		return nil
	})
	for _, hs := range out.releasable {
		slices.SortFunc(hs, byHolder)
	}
	return out, err
}

// engineHolders are the holders of the token's location that are the engine's: its VPP users, and
// the devices of its device groups.
func engineHolders(ctx context.Context, tx store.Tx, tokenID string) (map[holder]bool, error) {
	users, err := tx.ListVPPUsers(ctx, tokenID)
	if err != nil {
		return nil, err
	}
	ours := make(map[holder]bool, len(users))
	for _, u := range users {
		ours[userHolder(u.ClientUserID)] = true
	}
	groups, err := tx.ListDeviceGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		serials, err := tx.ListSerials(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		for _, sn := range serials {
			ours[deviceHolder(sn)] = true
		}
	}
	return ours, nil
}

// tokenLicenses reads the token's licenses (see readTokenLicenses).
func (e *Engine) tokenLicenses(ctx context.Context, id string) (tokenLicenses, error) {
	var out tokenLicenses
	err := e.view(ctx, func(tx store.Tx) error {
		var err error
		out, err = readTokenLicenses(ctx, tx, id)
		return err
	})
	return out, err
}

// ForecastTokenRemoval says, from the records alone, what removing token id as opts say would do
// to the licenses of its location: how many would be released (revocable app licenses of the
// engine's users) and how many kept. When opts release licenses and the recorded state of the
// token says it cannot be used, the removal would be refused: the forecast returns that refusal
// (a ReleaseError) with its counts.
func (e *Engine) ForecastTokenRemoval(ctx context.Context, id string, opts RemoveTokenOptions) (RemoveReport, error) {
	held, err := e.tokenLicenses(ctx, id)
	if err != nil {
		return RemoveReport{}, err
	}
	rep := held.report(opts)
	if !opts.ReleaseAppLicenses || held.count == 0 {
		return rep, nil
	}
	if _, _, err := e.usableToken(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return rep, &ReleaseError{TokenID: id, LocationName: held.locationName, Remaining: held.count, Cause: err}
	}
	return rep, nil
}

// removeReleasing is RemoveToken releasing app licenses: under the token's lock, in passes
// (lockedPasses), each settling first what an earlier run left open, then taking back at Apple,
// asset by asset, every revocable app license the records show the engine's users holding
// (disassociate: journaled, split by Apple's limits, confirmed from its events, exactly once), and
// forgetting the token only once none is left. When it stops early the token's record stays, and
// a ReleaseError says how many licenses remain.
//
// Apple's POST /assets/revoke would release them too, a request per 100 users, but it takes back
// every revocable assignment of those users at the location, including ones another system gave
// them; disassociating exactly what the records hold is narrower, and reuses the journaled
// exactly-once path of reclaiming.
func (e *Engine) removeReleasing(ctx context.Context, id string) (RemoveReport, error) {
	var rep RemoveReport
	freed := map[pairKey]bool{} // every license a pass set out to release
	err := e.lockedPasses(ctx, id, "release of app licenses", func() error {
		var err error
		rep, err = e.releasePass(ctx, id, freed)
		return err
	})
	if err == nil || errors.Is(err, ErrNotFound) {
		return rep, err
	}
	return e.releaseStopped(ctx, id, freed, err)
}

// releasePass is one pass of removeReleasing. A token that cannot be used releases nothing: it is
// forgotten only when the records show nothing to release.
func (e *Engine) releasePass(ctx context.Context, id string, freed map[pairKey]bool) (RemoveReport, error) {
	rec, c, err := e.usableToken(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return RemoveReport{}, err
	case err != nil:
		held, herr := e.tokenLicenses(ctx, id)
		if herr != nil {
			return RemoveReport{}, herr
		}
		if held.count > 0 {
			return RemoveReport{}, err
		}
		return e.forget(ctx, id, len(freed), true)
	}
	if err := e.settle(ctx, rec, c); err != nil {
		return RemoveReport{}, err
	}
	held, err := e.tokenLicenses(ctx, id)
	if err != nil {
		return RemoveReport{}, err
	}
	for _, bk := range slices.SortedFunc(maps.Keys(held.releasable), compareBookKeys) {
		for _, h := range held.releasable[bk] {
			freed[h.of(bk)] = true
		}
		if _, err := e.disassociate(ctx, rec, c, bk, held.releasable[bk]); err != nil {
			return RemoveReport{}, err
		}
	}
	return e.forget(ctx, id, len(freed), true)
}

// releaseStopped is the outcome of a removal that released some licenses and stopped, for cause:
// the counts the records now show, and a ReleaseError.
func (e *Engine) releaseStopped(ctx context.Context, id string, freed map[pairKey]bool, cause error) (RemoveReport, error) {
	held, err := e.tokenLicenses(ctx, id)
	if err != nil {
		return RemoveReport{}, errors.Join(cause, err)
	}
	rep := held.report(RemoveTokenOptions{ReleaseAppLicenses: true})
	rep.LicensesReclaimed = len(freed)
	for bk, hs := range held.releasable {
		for _, h := range hs {
			if freed[h.of(bk)] {
				rep.LicensesReclaimed--
			}
		}
	}
	return rep, &ReleaseError{TokenID: id, LocationName: held.locationName, Remaining: held.count, Cause: cause}
}

// forget removes the token's record and everything under it, in one transaction, recording in the
// audit log how many licenses stay with their users and how many were released first. With
// releasing, it refuses while the records show a revocable app license of the engine's users still
// held.
func (e *Engine) forget(ctx context.Context, id string, released int, releasing bool) (RemoveReport, error) {
	var rep RemoveReport
	err := e.tx(ctx, func(tx store.Tx) error {
		held, err := readTokenLicenses(ctx, tx, id)
		if err != nil {
			return err
		}
		if releasing && held.count > 0 {
			return fmt.Errorf("%d revocable app licenses are still held", held.count)
		}
		rep = held.report(RemoveTokenOptions{})
		rep.LicensesReclaimed = released
		if err := tx.DeleteToken(ctx, id); err != nil {
			return err
		}
		detail := fmt.Sprintf("token for location %q removed from the engine; %d licenses stay with their users", held.locationName, rep.LicensesKept)
		if released > 0 {
			detail += fmt.Sprintf(", %d app licenses were released at Apple first", released)
		}
		return tx.InsertAudit(ctx, store.AuditEntry{At: e.now(), TokenID: id, Operation: "forget_token", Count: rep.LicensesKept, Detail: detail})
	})
	return rep, err
}

func compareBookKeys(a, b bookKey) int {
	return strings.Compare(a.adamID+"/"+a.pricing, b.adamID+"/"+b.pricing)
}
