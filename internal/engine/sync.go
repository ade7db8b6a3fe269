package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

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
	cc            *apple.ClientConfig
	books         []store.Book
	users         []store.VPPUser
	licenses      []store.License
	replaceLic    bool
	usersVersion  string
	assignVersion string
}

// sync reads the token's location from Apple and records it. The caller holds the token lock.
// Full: client config, every book with counts, metadata for new books, every own user and
// license. Incremental: users and licenses changed since the last versionIds.
func (e *Engine) sync(ctx context.Context, id string, full bool) error {
	var rec store.Token
	if err := e.tx(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.GetToken(ctx, id)
		return notFound("token", id, err)
	}); err != nil {
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
	tflog.Debug(ctx, "Syncing token", map[string]any{"token_id": id, "kind": kind})

	res, syncErr := e.fetch(ctx, rec, kind == "full")
	now := e.now()
	run.FinishedAt = now
	err := e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetToken(ctx, id)
		if err != nil {
			return notFound("token", id, err)
		}
		if syncErr != nil {
			cur.LastSyncStatus, cur.LastSyncError = SyncFailed, syncErr.Error()
			var unusable *TokenUnusableError
			var external *ExternalMDMError
			switch {
			case errors.As(syncErr, &unusable):
				cur.State, cur.StateDetail = unusable.State, unusable.Error()
			case errors.As(syncErr, &external):
				cur.State, cur.StateDetail = StateExternalMDM, external.Error()
			}
			run.Status, run.Error = SyncFailed, syncErr.Error()
			if err := tx.UpdateSyncRun(ctx, run); err != nil {
				return err
			}
			return tx.UpdateToken(ctx, cur)
		}
		applyClientConfig(&cur, res.cc, cur.ExpiresAt)
		cur.State, cur.StateDetail = StateValid, ""
		cur.LastSyncAt, cur.LastSyncStatus, cur.LastSyncError = now, SyncCompleted, ""
		cur.UsersVersion, cur.AssignVersion = res.usersVersion, res.assignVersion
		cur.UpdatedAt = now
		keep := make([]string, 0, len(res.books))
		for _, b := range res.books {
			keep = append(keep, b.AdamID+"/"+b.PricingParam)
		}
		if err := tx.UpsertBooks(ctx, res.books); err != nil {
			return err
		}
		if err := tx.DeleteBooksExcept(ctx, id, keep); err != nil {
			return err
		}
		if err := tx.UpsertVPPUsers(ctx, res.users); err != nil {
			return err
		}
		if res.replaceLic {
			err = tx.ReplaceLicenses(ctx, id, res.licenses)
		} else {
			err = tx.UpsertLicenses(ctx, res.licenses)
		}
		if err != nil {
			return err
		}
		run.Status, run.Books, run.Users, run.Licenses = SyncCompleted, len(res.books), len(res.users), len(res.licenses)
		if err := tx.UpdateSyncRun(ctx, run); err != nil {
			return err
		}
		return tx.UpdateToken(ctx, cur)
	})
	if err != nil {
		return err
	}
	return syncErr
}

// fetch reads what a sync needs from Apple. It writes nothing.
func (e *Engine) fetch(ctx context.Context, rec store.Token, full bool) (*syncResult, error) {
	c, err := e.client(rec)
	if err != nil {
		return nil, err
	}
	cc, foreign, err := e.readClientConfig(ctx, c, rec.ID)
	if err != nil {
		return nil, err
	}
	if foreign != nil {
		return nil, &ExternalMDMError{LocationName: cc.LocationName, MDMName: foreign.Name, MDMID: foreign.ID}
	}
	res := &syncResult{cc: cc}

	var known []store.Book
	var own []store.VPPUser
	if err := e.tx(ctx, func(tx store.Tx) error {
		if known, err = tx.ListBooks(ctx, store.BookFilter{TokenID: rec.ID}); err != nil {
			return err
		}
		own, err = tx.ListVPPUsers(ctx, rec.ID)
		return err
	}); err != nil {
		return nil, err
	}
	if res.books, err = e.fetchBooks(ctx, c, rec, cc, known); err != nil {
		return nil, err
	}
	if err := e.fetchUsersAndLicenses(ctx, c, rec, own, res.books, full, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) fetchBooks(ctx context.Context, c *apple.Client, rec store.Token, cc *apple.ClientConfig, known []store.Book) ([]store.Book, error) {
	list, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: "Book"})
	if err != nil {
		return nil, e.appleError(rec.ID, "reading books (GET /assets)", err)
	}
	byKey := make(map[string]store.Book, len(known))
	for _, b := range known {
		byKey[b.AdamID+"/"+b.PricingParam] = b
	}
	now := e.now()
	books := make([]store.Book, 0, len(list.Assets))
	var missing []string
	for _, a := range list.Assets {
		if a.ProductType != "" && a.ProductType != "Book" {
			continue
		}
		pricing := a.PricingParam
		if pricing == "" {
			pricing = PricingStandard
		}
		b := byKey[a.AdamID+"/"+pricing]
		b.TokenID, b.AdamID, b.PricingParam = rec.ID, a.AdamID, pricing
		b.Total, b.Assigned, b.Available, b.Retired = a.TotalCount, a.AssignedCount, a.AvailableCount, a.RetiredCount
		b.SyncedAt = now
		if b.MetadataAt.IsZero() {
			missing = append(missing, a.AdamID)
		}
		books = append(books, b)
	}
	if len(missing) > 0 {
		meta, err := e.lookupMetadata(ctx, c, dedupe(missing), cc)
		if err != nil {
			// Titles fill in on a later sync; counts and licensing do not depend on them.
			tflog.Warn(ctx, "Book metadata lookup failed", map[string]any{"token_id": rec.ID, "error": err.Error()})
		}
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
				books[i].MetadataAt = now
			}
		}
	}
	sort.Slice(books, func(i, j int) bool {
		if books[i].AdamID != books[j].AdamID {
			return books[i].AdamID < books[j].AdamID
		}
		return books[i].PricingParam < books[j].PricingParam
	})
	return books, nil
}

func (e *Engine) lookupMetadata(ctx context.Context, c *apple.Client, ids []string, cc *apple.ClientConfig) (map[string]apple.ContentMetadata, error) {
	out := make(map[string]apple.ContentMetadata, len(ids))
	for start := 0; start < len(ids); start += metadataBatch {
		end := min(start+metadataBatch, len(ids))
		m, err := c.LookupMetadata(ctx, ids[start:end], cc.DefaultPlatform, cc.CountryISO2ACode)
		if err != nil {
			return out, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// fetchUsersAndLicenses reads the engine's own users and their book licenses. Users other systems
// created at the same location are ignored (Intune's rule: sync only what you created).
func (e *Engine) fetchUsersAndLicenses(ctx context.Context, c *apple.Client, rec store.Token, own []store.VPPUser, books []store.Book, full bool, res *syncResult) error {
	ownByID := make(map[string]store.VPPUser, len(own))
	for _, u := range own {
		ownByID[u.ClientUserID] = u
	}
	uq := apple.UserQuery{}
	if !full {
		uq.SinceVersionID = rec.UsersVersion
	}
	users, err := c.GetUsers(ctx, uq)
	if err != nil && !full && errors.Is(err, apple.CodeInvalidVersionID) {
		full = true // Apple no longer knows our version: walk everything
		users, err = c.GetUsers(ctx, apple.UserQuery{})
	}
	if err != nil {
		return e.appleError(rec.ID, "reading users (GET /users)", err)
	}
	res.usersVersion = users.VersionID
	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		return e.appleError(rec.ID, "reading Apple's service config (GET /service/config)", err)
	}
	res.users = ownUsers(users.Users, ownByID, e.now())
	for i, u := range res.users {
		res.users[i].InvitationURL = ""
		if u.Status == UserRegistered && u.InviteCode != "" {
			// The template is Apple's (urls.invitationEmail); a missing one leaves no URL.
			res.users[i].InvitationURL, _ = sc.InvitationURL(u.InviteCode)
		}
	}

	aq := apple.AssignmentQuery{}
	if !full {
		aq.SinceVersionID = rec.AssignVersion
	}
	assigned, err := c.GetAssignments(ctx, aq)
	if err != nil && !full && errors.Is(err, apple.CodeInvalidVersionID) {
		full = true
		assigned, err = c.GetAssignments(ctx, apple.AssignmentQuery{})
	}
	if err != nil {
		return e.appleError(rec.ID, "reading assignments (GET /assignments)", err)
	}
	res.assignVersion = assigned.VersionID
	res.replaceLic = full
	isBook := make(map[string]bool, len(books))
	for _, b := range books {
		isBook[b.AdamID+"/"+b.PricingParam] = true
	}
	for _, a := range assigned.Assignments {
		if _, ours := ownByID[a.ClientUserID]; !ours || a.ClientUserID == "" {
			continue
		}
		pricing := a.PricingParam
		if pricing == "" {
			pricing = PricingStandard
		}
		if !isBook[a.AdamID+"/"+pricing] {
			continue
		}
		res.licenses = append(res.licenses, store.License{TokenID: rec.ID, AdamID: a.AdamID, PricingParam: pricing, ClientUserID: a.ClientUserID, AssignedAt: e.now()})
	}
	return nil
}

// ownUsers picks, per own clientUserId, the active Apple record if there is one (Apple keeps
// retired entries beside at most one active entry).
func ownUsers(apples []apple.User, own map[string]store.VPPUser, now time.Time) []store.VPPUser {
	picked := map[string]apple.User{}
	for _, u := range apples {
		if _, ok := own[u.ClientUserID]; !ok {
			continue
		}
		prev, seen := picked[u.ClientUserID]
		if !seen || (prev.Status == "Retired" || prev.Status == "Deleted") && (u.Status == "Registered" || u.Status == "Associated") {
			picked[u.ClientUserID] = u
		}
	}
	out := make([]store.VPPUser, 0, len(picked))
	for id, u := range picked {
		rec := own[id]
		rec.Status, rec.InviteCode, rec.IDHash, rec.UpdatedAt = u.Status, u.InviteCode, u.IDHash, now
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientUserID < out[j].ClientUserID })
	return out
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
