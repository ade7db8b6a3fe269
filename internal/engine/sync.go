package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// metadataBatch is how many ids one metadata lookup carries (public clients use about 20).
const metadataBatch = 20

// syncIfStale syncs a token whose last sync is older than the sync interval or did not complete.
func (e *Engine) syncIfStale(ctx context.Context, id string) error {
	t, err := e.GetToken(ctx, id)
	if err != nil {
		return err
	}
	if !e.stale(t) {
		return nil
	}
	return e.withTokenLock(ctx, id, func() error {
		t, err := e.GetToken(ctx, id) // another process may have synced while we waited
		if err != nil || !e.stale(t) {
			return err
		}
		return e.sync(ctx, id, t.LastSyncAt.IsZero())
	})
}

func (e *Engine) stale(t Token) bool {
	return t.LastSyncStatus != SyncCompleted || e.now().Sub(t.LastSyncAt) >= e.cfg.SyncInterval
}

// syncResult is what one sync read from Apple, applied to the store in one transaction.
type syncResult struct {
	cc *apple.ClientConfig // read by a full sync only
	// expires is the token's expiry from the envelope of an incremental sync (nil: not sent).
	expires    *time.Time
	assets     []store.Asset
	assetsKept bool // the assets did not change since assetsVersion: the stored books stand
	users      []store.VPPUser
	licenses   []store.License // full: Apple's whole set when it differs from the records (replaceLic); incremental: the changed ones
	// devices are Apple's licenses held by devices (serial numbers), of every device: the whole set
	// (full) or the changed ones (incremental), written with licenses.
	devices       []store.License
	replaceLic    bool
	licenseCount  int // licenses Apple holds for the engine's users (full) or changed (incremental)
	assetsVersion string
	usersVersion  string
	usersIndex    string // the version the location's users are complete at ("": not complete)
	assignVersion string
}

// sync reads the token's location from Apple and records it. The caller holds the token lock.
// Full: client config, every book with counts, metadata for new books, every own user and
// license. Incremental: page 0 of the assets (the rest only when their versionId changed; Get
// Assets takes no sinceVersionId), then the users and licenses changed since the last versionIds:
// three requests when nothing changed. It skips the client config: every response carries the
// location's mdmInfo, which the client checks, and the token's expiry.
func (e *Engine) sync(ctx context.Context, id string, full bool) error {
	rec, err := e.tokenRecord(ctx, id)
	if err != nil {
		return err
	}
	kind := "full"
	if !full && rec.UsersVersion != "" && rec.AssignVersion != "" {
		kind = "incremental"
	}
	run := store.SyncRun{TokenID: id, Kind: kind, Status: SyncInProgress, StartedAt: e.now()}
	if err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		if run.ID, err = tx.InsertSyncRun(ctx, run); err != nil {
			return err
		}
		rec.LastSyncStatus = SyncInProgress
		return tx.UpdateToken(ctx, rec)
	}); err != nil {
		return err
	}
	e.debug(ctx, "Syncing token", "token_id", id, "kind", kind)

	res, syncErr := e.fetch(ctx, rec, kind == "full")
	now := e.now()
	run.FinishedAt = now
	err = e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetToken(ctx, id)
		if err != nil {
			return notFound("token", id, err)
		}
		if syncErr != nil {
			var external *ExternalMDMError
			if errors.As(syncErr, &external) && external.LocationName == "" {
				external.LocationName = cur.LocationName // Apple's answer named only the other system
			}
			cur.LastSyncStatus, cur.LastSyncError = SyncFailed, syncErr.Error()
			if state, detail := verdictOf(syncErr); state != "" {
				cur.State, cur.StateDetail = state, detail
			}
			run.Status, run.Error = SyncFailed, syncErr.Error()
			if err := tx.UpdateSyncRun(ctx, run); err != nil {
				return err
			}
			return tx.UpdateToken(ctx, cur)
		}
		if res.cc != nil {
			applyClientConfig(&cur, res.cc, cur.ExpiresAt)
		} else if res.expires != nil {
			cur.ExpiresAt = *res.expires
		}
		cur.State, cur.StateDetail = StateValid, ""
		cur.LastSyncAt, cur.LastSyncStatus, cur.LastSyncError = now, SyncCompleted, ""
		cur.UsersVersion, cur.AssignVersion, cur.AssetsVersion = res.usersVersion, res.assignVersion, res.assetsVersion
		cur.UpdatedAt = now
		if err := tx.UpsertAssets(ctx, res.assets); err != nil {
			return err
		}
		if !res.assetsKept {
			keep := make([]string, 0, len(res.assets))
			for _, b := range res.assets {
				keep = append(keep, b.AdamID+"/"+b.PricingParam)
			}
			if err := tx.DeleteAssetsExcept(ctx, id, keep); err != nil {
				return err
			}
		}
		if err := tx.UpsertVPPUsers(ctx, res.users); err != nil {
			return err
		}
		all := append(res.licenses, res.devices...)
		if res.replaceLic {
			err = tx.ReplaceLicenses(ctx, id, all)
		} else if len(all) > 0 {
			err = tx.UpsertLicenses(ctx, all)
		}
		if err != nil {
			return err
		}
		if err := tx.TouchDeliveries(ctx, id); err != nil {
			return err
		}
		run.Status, run.Books, run.Users, run.Licenses = SyncCompleted, len(res.assets), len(res.users), res.licenseCount
		if err := tx.UpdateSyncRun(ctx, run); err != nil {
			return err
		}
		if err := tx.UpdateToken(ctx, cur); err != nil {
			return err
		}
		return tx.SetLocationUsersVersion(ctx, id, res.usersIndex)
	})
	if err != nil {
		return err
	}
	if syncErr == nil {
		e.mu.Lock()
		e.synced[id] = true
		e.mu.Unlock()
	}
	return syncErr
}

// fetch reads what a sync needs from Apple. It writes nothing.
func (e *Engine) fetch(ctx context.Context, rec store.Token, full bool) (*syncResult, error) {
	c, err := e.client(rec)
	if err != nil {
		return nil, err
	}
	res := &syncResult{}
	// Members without a user record may have one at Apple: recognise them before reading users and
	// licenses, and then read every license (an incremental walk would miss those they held).
	adopted, _, err := e.adoptUsers(ctx, c, rec, false)
	if err != nil {
		return nil, err
	}
	full = full || len(adopted) > 0
	if rec, err = e.tokenRecord(ctx, rec.ID); err != nil { // the lookup's walk moved the users versionId on
		return nil, err
	}
	platform, country := rec.Platform, rec.CountryCode
	if full {
		cc, foreign, err := e.readClientConfig(ctx, c, rec.ID)
		if err != nil {
			return nil, err
		}
		if foreign != nil {
			return nil, &ExternalMDMError{LocationName: cc.LocationName, MDMName: foreign.Name, MDMID: foreign.ID}
		}
		res.cc, platform, country = cc, cc.DefaultPlatform, cc.CountryISO2ACode
	}

	var known []store.Asset
	if err := e.tx(ctx, func(tx store.Tx) error {
		known, err = tx.ListAssets(ctx, store.AssetFilter{TokenID: rec.ID})
		return err
	}); err != nil {
		return nil, err
	}
	if err := e.fetchAssets(ctx, c, rec, platform, country, known, full, res); err != nil {
		return nil, err
	}
	books := res.assets
	if res.assetsKept {
		books = known
	}
	if err := e.fetchUsersAndLicenses(ctx, c, rec, e.ownUsersOf(rec.ID), books, full, res); err != nil {
		return nil, err
	}
	return res, nil
}

// ownUsersOf returns a loader of the token's VPP users from the store, run at most once: a sync
// reads them only when Apple reports users or assignments (an incremental sync with nothing
// changed does not).
func (e *Engine) ownUsersOf(tokenID string) func(context.Context) ([]store.VPPUser, error) {
	var (
		once sync.Once
		own  []store.VPPUser
		err  error
	)
	return func(ctx context.Context) ([]store.VPPUser, error) {
		once.Do(func() {
			err = e.tx(ctx, func(tx store.Tx) error {
				var lerr error
				own, lerr = tx.ListVPPUsers(ctx, tokenID)
				return lerr
			})
		})
		return own, err
	}
}

// fetchAssets reads the location's assets (books and apps) with their counts, and the metadata of
// those that have none yet. An incremental sync reads page 0 only when the assets' versionId is the one of the
// last complete walk: the stored books then stand (res.booksKept).
func (e *Engine) fetchAssets(ctx context.Context, c *apple.Client, rec store.Token, platform, country string, known []store.Asset, full bool, res *syncResult) error {
	knownVersion := ""
	if !full {
		knownVersion = rec.AssetsVersion
	}
	list, unchanged, err := c.GetAssetsUnlessAt(ctx, apple.AssetQuery{}, knownVersion)
	if err != nil {
		return e.appleError(rec.ID, "reading assets (GET /assets)", err)
	}
	res.assetsVersion, res.expires = list.VersionID, list.TokenExpiration
	if unchanged {
		res.assetsKept = true
		// Titles a failed lookup left out are still looked up; nothing else is written.
		var missing []store.Asset
		for _, b := range known {
			if b.MetadataAt.IsZero() {
				missing = append(missing, b)
			}
		}
		res.assets = e.withMetadata(ctx, c, rec.ID, platform, country, missing)
		return nil
	}
	byKey := make(map[string]store.Asset, len(known))
	for _, b := range known {
		byKey[b.AdamID+"/"+b.PricingParam] = b
	}
	now := e.now()
	books := make([]store.Asset, 0, len(list.Assets))
	for _, a := range list.Assets {
		product := a.ProductType
		switch product {
		case "":
			product = store.ProductBook
		case store.ProductBook, store.ProductApp:
		default:
			continue // a product this engine does not manage
		}
		pricing := pricingOr(a.PricingParam)
		b := byKey[a.AdamID+"/"+pricing]
		b.TokenID, b.AdamID, b.PricingParam, b.ProductType = rec.ID, a.AdamID, pricing, product
		b.Revocable, b.DeviceAssignable, b.Platforms = a.Revocable, a.DeviceAssignable, a.SupportedPlatforms
		b.Total, b.Assigned, b.Available, b.Retired = a.TotalCount, a.AssignedCount, a.AvailableCount, a.RetiredCount
		b.SyncedAt = now
		books = append(books, b)
	}
	books = e.withMetadata(ctx, c, rec.ID, platform, country, books)
	sort.Slice(books, func(i, j int) bool {
		if books[i].AdamID != books[j].AdamID {
			return books[i].AdamID < books[j].AdamID
		}
		return books[i].PricingParam < books[j].PricingParam
	})
	res.assets = books
	return nil
}

// withMetadata fills in title, author, genres, language and cover (and an app's bundle id, version
// and price) of the assets that have no metadata yet, and returns books. A failed lookup is only logged: titles fill in on a later
// sync, and counts and licensing do not depend on them.
func (e *Engine) withMetadata(ctx context.Context, c *apple.Client, tokenID, platform, country string, books []store.Asset) []store.Asset {
	var missing []string
	for _, b := range books {
		if b.MetadataAt.IsZero() {
			missing = append(missing, b.AdamID)
		}
	}
	if len(missing) == 0 {
		return books
	}
	meta, err := e.lookupMetadata(ctx, c, dedupe(missing), platform, country)
	if err != nil {
		e.warn(ctx, "Metadata lookup failed", "token_id", tokenID, "error", err.Error())
	}
	now := e.now()
	for i := range books {
		if m, ok := meta[books[i].AdamID]; ok {
			books[i].Title = m.Name
			if books[i].Title == "" {
				books[i].Title = m.NameRaw
			}
			books[i].Author, books[i].Genres, books[i].Language = m.ArtistName, m.GenreNames, m.Language
			if m.Artwork != nil {
				books[i].CoverURL = m.Artwork.URL
			}
			books[i].BundleID = m.BundleID
			if o, ok := m.CurrentOffer(); ok {
				books[i].Version, books[i].Price = o.Version.Display, o.PriceFormatted
			}
			books[i].MetadataAt = now
		}
	}
	return books
}

func (e *Engine) lookupMetadata(ctx context.Context, c *apple.Client, ids []string, platform, country string) (map[string]apple.ContentMetadata, error) {
	out := make(map[string]apple.ContentMetadata, len(ids))
	for start := 0; start < len(ids); start += metadataBatch {
		end := min(start+metadataBatch, len(ids))
		m, err := c.LookupMetadata(ctx, ids[start:end], platform, country)
		if err != nil {
			return out, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// fetchUsersAndLicenses reads the engine's own users and their licenses of books (the location's
// books). Users at the same location that are not members' users are ignored (Intune's rule: sync
// only what you manage); adoptUsers has recorded the members' existing users before. Pages are processed as they arrive and only what differs from the records is
// kept, so that a full sync of a large location holds no more than the records it compares with.
func (e *Engine) fetchUsersAndLicenses(ctx context.Context, c *apple.Client, rec store.Token, loadOwn func(context.Context) ([]store.VPPUser, error), books []store.Asset, full bool, res *syncResult) error {
	ur, err := e.fetchUsers(ctx, c, rec, loadOwn, full, nil)
	if err != nil {
		return err
	}
	res.users, res.usersVersion, res.usersIndex = ur.changed, ur.version, ur.indexVersion

	bookIdx := make(map[bookKey]int32, len(books))
	for i, b := range books {
		bookIdx[bookKey{b.AdamID, b.PricingParam}] = int32(i)
	}
	var keys []uint64 // book index << 32 | own user index, one per license Apple holds
	now := e.now()
	collect := func(restart bool, page []apple.Assignment) error {
		if restart {
			keys, res.devices = keys[:0], res.devices[:0]
		}
		if len(page) > 0 {
			if err := ur.load(ctx); err != nil {
				return err
			}
		}
		for _, a := range page {
			if a.ClientUserID == "" {
				if b, known := bookIdx[bookKey{a.AdamID, pricingOr(a.PricingParam)}]; known && a.SerialNumber != "" {
					res.devices = append(res.devices, store.License{TokenID: rec.ID, AdamID: books[b].AdamID, PricingParam: books[b].PricingParam, SerialNumber: a.SerialNumber, AssignedAt: now})
				}
				continue
			}
			u, ours := ur.index[a.ClientUserID]
			if !ours {
				continue
			}
			b, isBook := bookIdx[bookKey{a.AdamID, pricingOr(a.PricingParam)}]
			if !isBook {
				continue
			}
			keys = append(keys, uint64(b)<<32|uint64(u))
		}
		return nil
	}
	aq := apple.AssignmentQuery{}
	if !full {
		aq.SinceVersionID = rec.AssignVersion
	}
	type storedKeys struct {
		keys []uint64
		ok   bool
		err  error
	}
	var stored chan storedKeys
	if full {
		// The stored licenses are read while Apple's are walked.
		if err := ur.load(ctx); err != nil {
			return err
		}
		stored = make(chan storedKeys, 1)
		go func() {
			keys, ok, err := e.storedLicenseKeys(ctx, rec.ID, bookIdx, ur)
			stored <- storedKeys{keys, ok, err}
		}()
	}
	res.assignVersion, err = c.EachAssignment(ctx, aq, collect)
	if err != nil && !full && errors.Is(err, apple.CodeInvalidVersionID) {
		full = true // Apple no longer knows our version: walk everything
		res.assignVersion, err = c.EachAssignment(ctx, apple.AssignmentQuery{}, collect)
	}
	var have storedKeys
	if stored != nil {
		have = <-stored
	}
	if err != nil {
		return e.appleError(rec.ID, "reading assignments (GET /assignments)", err)
	}
	keys = sortedUnique(keys)
	res.licenseCount = len(keys)
	if full {
		// The records stand when they hold exactly Apple's set; otherwise the set replaces them.
		if have.err != nil {
			return have.err
		}
		// A device's license is not among the keys: with any (at Apple, or recorded: have.ok is
		// false then), the set is replaced.
		if have.ok && slices.Equal(have.keys, keys) && len(res.devices) == 0 {
			return nil
		}
		res.replaceLic = true
	}
	res.licenses = make([]store.License, len(keys))
	for i, k := range keys {
		b, u := books[k>>32], ur.own[uint32(k)]
		res.licenses[i] = store.License{TokenID: rec.ID, AdamID: b.AdamID, PricingParam: b.PricingParam, ClientUserID: u.ClientUserID, AssignedAt: now}
	}
	return nil
}

// storedLicenseKeys reads the token's stored licenses one by one into keys like fetchUsersAndLicenses'
// (sorted, unique); ok is false when one names a book or user not in the indexes (a device's
// license names no user), so that the
// records cannot be Apple's set. The caller has loaded ur.
func (e *Engine) storedLicenseKeys(ctx context.Context, tokenID string, bookIdx map[bookKey]int32, ur *userRead) ([]uint64, bool, error) {
	var have []uint64
	errUnknown := errors.New("unknown book or user")
	err := e.tx(ctx, func(tx store.Tx) error {
		have = have[:0]
		return tx.EachLicense(ctx, tokenID, func(l store.License) error {
			b, okB := bookIdx[bookKey{l.AdamID, l.PricingParam}]
			u, okU := ur.index[l.ClientUserID]
			if !okB || !okU {
				return errUnknown
			}
			have = append(have, uint64(b)<<32|uint64(u))
			return nil
		})
	})
	if errors.Is(err, errUnknown) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return sortedUnique(have), true, nil
}

func sortedUnique(v []uint64) []uint64 {
	slices.Sort(v)
	return slices.Compact(v)
}

// userRead is what a walk of Apple's users told about the engine's own users.
type userRead struct {
	version string
	// indexVersion is the version the location's users are complete at after the walk ("": not
	// complete), recorded with version.
	indexVersion string
	own          []store.VPPUser // the records, loaded at the first user or assignment Apple reports
	index        map[string]int  // own user by clientUserId -> position in own
	active       []bool          // by position: Apple holds an active (Registered or Associated) record
	changed      []store.VPPUser // own users whose record differs from Apple's, updated
	loadOwn      func(context.Context) ([]store.VPPUser, error)
	loaded       bool
}

func (r *userRead) load(ctx context.Context) error {
	if r.loaded {
		return nil
	}
	own, err := r.loadOwn(ctx)
	if err != nil {
		return err
	}
	r.own, r.index, r.active, r.loaded = own, make(map[string]int, len(own)), make([]bool, len(own)), true
	for i, u := range own {
		r.index[u.ClientUserID] = i
	}
	return nil
}

// fetchUsers reads the engine's own users: all of them (full), or those Apple changed since the
// token's last users walk. Per own clientUserId it takes the active Apple record if there is one
// (Apple keeps retired entries beside at most one active entry), and keeps only the users whose
// status, invitation or Apple Account differ from the records. write, when not nil, is handed
// each page's changes as the walk goes on (a user whose pick a later page changes is handed
// again), so that recording them overlaps the requests for the next pages; they are then not
// kept (changed stays empty), so that a large walk holds no more than a page of them.
func (e *Engine) fetchUsers(ctx context.Context, c *apple.Client, rec store.Token, loadOwn func(context.Context) ([]store.VPPUser, error), full bool, write func([]store.VPPUser) error) (*userRead, error) {
	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		return nil, e.appleError(rec.ID, "reading Apple's service config (GET /service/config)", err)
	}
	r := &userRead{loadOwn: loadOwn}
	// state per own user: 0 unseen, 1 seen retired (or deleted), 2 seen active. updated holds the
	// records that differ from Apple's, updated; at[i] is own user i's place in it, plus one (0:
	// none), and a record that turns out the same again keeps its place, emptied. With write,
	// at[i] only marks a user handed over (1) or undone (-1).
	var state []uint8
	var at []int32
	var updated []store.VPPUser
	uq := apple.UserQuery{}
	if !full && rec.UsersVersion != "" {
		uq.SinceVersionID = rec.UsersVersion
	}
	walk, err := e.startUsersWalk(ctx, rec, uq.SinceVersionID)
	if err != nil {
		return nil, err
	}
	collect := func(restart bool, page []apple.User) error {
		if err := walk.page(ctx, restart, page); err != nil {
			return err
		}
		if restart {
			clear(state)
			clear(at)
			updated = updated[:0]
		}
		if len(page) > 0 && !r.loaded {
			if err := r.load(ctx); err != nil {
				return err
			}
			state, at = make([]uint8, len(r.own)), make([]int32, len(r.own))
		}
		own := r.own
		var writes []store.VPPUser
		for _, u := range page {
			i, ours := r.index[u.ClientUserID]
			if !ours {
				continue
			}
			active := u.Status == UserRegistered || u.Status == UserAssociated
			switch {
			case state[i] == 0, state[i] == 1 && active:
			default:
				continue // an active record is already taken
			}
			state[i] = 1
			if active {
				state[i] = 2
			}
			rec := updatedUser(own[i], u, sc, e.now())
			o := own[i]
			same := o.Status == rec.Status && o.InviteCode == rec.InviteCode && o.IDHash == rec.IDHash && o.InvitationURL == rec.InvitationURL
			if write != nil {
				if !same || at[i] == 1 { // a change, or undoing one handed over earlier
					writes = append(writes, rec)
					at[i] = 1
				}
				if same {
					at[i] = -1
				}
				continue
			}
			switch {
			case same:
				if at[i] > 0 {
					updated[at[i]-1] = store.VPPUser{} // the same as the records after all
				}
			case at[i] > 0:
				updated[at[i]-1] = rec
			default:
				updated = append(updated, rec)
				at[i] = int32(len(updated))
			}
		}
		if len(writes) > 0 {
			return write(writes)
		}
		return nil
	}
	r.version, err = c.EachUser(ctx, uq, collect)
	if err != nil && uq.SinceVersionID != "" && errors.Is(err, apple.CodeInvalidVersionID) {
		walk.restartFull()
		r.version, err = c.EachUser(ctx, apple.UserQuery{}, collect) // Apple no longer knows our version: walk everything
	}
	if err != nil {
		return nil, e.appleError(rec.ID, "reading users (GET /users)", err)
	}
	if r.indexVersion, err = walk.finish(ctx, r.version); err != nil {
		return nil, err
	}
	now := e.now()
	for i, s := range state {
		r.active[i] = s == 2
	}
	r.changed = updated[:0]
	for _, u := range updated {
		if u.ClientUserID != "" {
			u.UpdatedAt = now
			r.changed = append(r.changed, u)
		}
	}
	sort.Slice(r.changed, func(i, j int) bool { return r.changed[i].ClientUserID < r.changed[j].ClientUserID })
	return r, nil
}

// updatedUser is the record o with what Apple's record u says.
func updatedUser(o store.VPPUser, u apple.User, sc *apple.ServiceConfig, now time.Time) store.VPPUser {
	o.Status, o.InviteCode, o.IDHash, o.InvitationURL, o.UpdatedAt = u.Status, u.InviteCode, u.IDHash, invitationURL(sc, u), now
	return o
}

// invitationURL is the invitation link of a Registered user with an invite code, from Apple's
// template (urls.invitationEmail); a missing template leaves none.
func invitationURL(sc *apple.ServiceConfig, u apple.User) string {
	if u.Status != UserRegistered || u.InviteCode == "" {
		return ""
	}
	url, _ := sc.InvitationURL(u.InviteCode)
	return url
}

// readUsers records what fetchUsers reads (the users part of a sync) and advances the token's
// users versionId. Delivery confirms user creation with it: one walk of the users changed since
// the last read shows every batch Apple has processed, with the invitation codes, where a status
// request per batch would cost ten times as many requests. own, when not nil, are the token's
// users as the records hold them (nil: read from the store). patch, when not nil, sees each user
// record it updates once written. It returns the clientUserIds Apple holds active. The caller
// holds the token lock.
func (e *Engine) readUsers(ctx context.Context, c *apple.Client, tokenID string, own []store.VPPUser, full bool, patch func(store.VPPUser)) (map[string]bool, error) {
	rec, err := e.tokenRecord(ctx, tokenID)
	if err != nil {
		return nil, err
	}
	// Each page's users are recorded while the next pages are fetched.
	write := func(users []store.VPPUser) error {
		if err := e.tx(ctx, func(tx store.Tx) error {
			if err := tx.UpsertVPPUsers(ctx, users); err != nil {
				return err
			}
			return tx.TouchDeliveries(ctx, tokenID)
		}); err != nil {
			return err
		}
		if patch != nil {
			for _, u := range users {
				patch(u)
			}
		}
		return nil
	}
	loadOwn := e.ownUsersOf(tokenID)
	if own != nil {
		loadOwn = func(context.Context) ([]store.VPPUser, error) { return own, nil }
	}
	ur, err := e.fetchUsers(ctx, c, rec, loadOwn, full, write)
	if err != nil {
		return nil, err
	}
	active := make(map[string]bool, len(ur.own))
	for id, i := range ur.index {
		if ur.active[i] {
			active[id] = true
		}
	}
	return active, e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetToken(ctx, tokenID)
		if err != nil {
			return notFound("token", tokenID, err)
		}
		cur.UsersVersion, cur.UpdatedAt = ur.version, e.now()
		if err := tx.UpdateToken(ctx, cur); err != nil {
			return err
		}
		return tx.SetLocationUsersVersion(ctx, tokenID, ur.indexVersion)
	})
}

// appleError turns an Apple failure into the engine's error: a token Apple refuses becomes a
// TokenUnusableError; anything else says what was being done.
func (e *Engine) appleError(tokenID, doing string, err error) error {
	if state := tokenStateOf(err); state != "" && state != StateExternalMDM {
		return &TokenUnusableError{TokenID: tokenID, State: state, Cause: err}
	}
	var conflict *apple.MDMConflictError
	if errors.As(err, &conflict) {
		return &ExternalMDMError{MDMName: conflict.Found.Name, MDMID: conflict.Found.ID}
	}
	return fmt.Errorf("%s for token %s: %w", doing, tokenID, err)
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
