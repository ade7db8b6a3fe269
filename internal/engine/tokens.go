package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Token states, as SPEC §4.2 names them.
const (
	StateValid       = "valid"
	StateExpired     = "expired"
	StateInvalid     = "invalid"
	StateRevoked     = "revoked"
	StateExternalMDM = "assigned_to_external_mdm"
)

// Sync statuses.
const (
	SyncNone       = "none"
	SyncInProgress = "in_progress"
	SyncCompleted  = "completed"
	SyncFailed     = "failed"
)

// Account types and the Apple store platform each one maps to.
const (
	AccountBusiness  = "business"
	AccountEducation = "education"
)

var platformAccount = map[string]string{
	"enterprisestore": AccountBusiness,
	"volumestore":     AccountEducation,
}

// TokenInput is what the user supplies for a token.
type TokenInput struct {
	// Contents is the .vpptoken file contents.
	Contents    string
	AppleID     string
	AccountType string // business | education
	DisplayName string
	// TakeOver claims a location whose client config names another MDM.
	TakeOver bool
}

// Token is a location token as the engine knows it. It never carries the secret.
type Token struct {
	ID               string
	DisplayName      string
	AppleID          string
	AccountType      string
	OrganizationName string
	LocationName     string
	LocationID       string
	CountryCode      string
	ExpiresAt        time.Time
	State            string
	StateDetail      string
	LastSyncAt       time.Time
	LastSyncStatus   string
	LastSyncError    string
	BookCount        int
}

// DaysUntilExpiry counts whole days left (negative once expired).
func (t Token) DaysUntilExpiry(now time.Time) int {
	return int(t.ExpiresAt.Sub(now).Hours() / 24)
}

// TokenFile is what a token file says, read without contacting Apple.
type TokenFile struct {
	OrganizationName string
	ExpiresAt        time.Time
}

// ParseTokenFile reads a .vpptoken offline. Errors never contain the token.
func ParseTokenFile(contents string) (TokenFile, error) {
	tok, err := apple.ParseToken(contents)
	if err != nil {
		return TokenFile{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return TokenFile{OrganizationName: tok.OrgName, ExpiresAt: tok.ExpiresAt}, nil
}

// parseUsable parses a token file and refuses an expired one.
func (e *Engine) parseUsable(contents string) (*apple.Token, error) {
	tok, err := apple.ParseToken(contents)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := tok.CheckUsable(e.now()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return tok, nil
}

func checkAccountType(in, platform string) error {
	actual, ok := platformAccount[platform]
	if !ok {
		return nil // an unknown platform is not ours to judge
	}
	if in != "" && in != actual {
		return &AccountTypeError{Configured: in, Actual: actual}
	}
	return nil
}

// readClientConfig reads Apple's client config for a new token file, mapping token errors.
func (e *Engine) readClientConfig(ctx context.Context, c *apple.Client, tokenID string) (*apple.ClientConfig, *apple.MDMInfo, error) {
	cc, err := c.GetClientConfig(ctx)
	var conflict *apple.MDMConflictError
	switch {
	case errors.As(err, &conflict):
		found := conflict.Found
		return cc, &found, nil
	case err != nil:
		if state := tokenStateOf(err); state != "" {
			return nil, nil, &TokenUnusableError{TokenID: tokenID, State: state, Cause: err}
		}
		return nil, nil, fmt.Errorf("reading the location's client config from Apple: %w", err)
	}
	return cc, nil, nil
}

// claim writes our mdmInfo to the location unless another system holds it and takeOver is off.
func (e *Engine) claim(ctx context.Context, c *apple.Client, cc *apple.ClientConfig, foreign *apple.MDMInfo, takeOver bool) (claimed bool, err error) {
	ours := e.mdmInfo()
	if foreign != nil && !takeOver {
		return false, &ExternalMDMError{LocationName: cc.LocationName, MDMName: foreign.Name, MDMID: foreign.ID}
	}
	if foreign == nil && cc.MDMInfo != nil && *cc.MDMInfo == ours {
		return false, nil
	}
	if _, err := c.SetClientConfig(ctx, apple.ClientConfigRequest{MDMInfo: &ours}); err != nil {
		return false, fmt.Errorf("claiming the location at Apple (POST /client/config): %w", err)
	}
	return true, nil
}

// AddToken uploads a token: it checks the file, reads the location from Apple, refuses a wrong
// account type, a location a vpp_token already holds in this engine, or one claimed by another
// system (unless TakeOver), claims the location, stores the token and runs a full sync. The
// record's id is derived from the location (TokenID), so an interrupted create, a re-created
// token and another engine all name the same location the same way. A record an interrupted
// create left behind (not held) is taken up again rather than refused.
func (e *Engine) AddToken(ctx context.Context, in TokenInput) (Token, error) {
	tok, err := e.parseUsable(in.Contents)
	if err != nil {
		return Token{}, err
	}
	c, err := e.newClient(tok, "")
	if err != nil {
		return Token{}, err
	}
	cc, foreign, err := e.readClientConfig(ctx, c, "")
	if err != nil {
		return Token{}, err
	}
	if err := checkAccountType(in.AccountType, cc.DefaultPlatform); err != nil {
		return Token{}, err
	}
	id := TokenID(cc.UID)
	err = e.withTokenLock(ctx, id, func() error {
		var existing store.Token
		err := e.view(ctx, func(tx store.Tx) error {
			var err error
			existing, err = tx.GetTokenByLocation(ctx, cc.UID)
			return err
		})
		adopt := false
		switch {
		case err == nil && existing.Held:
			return &DuplicateLocationError{LocationName: cc.LocationName, LocationUID: cc.UID, ExistingTokenID: existing.ID}
		case err == nil:
			// An earlier run stored it but did not live to report it to Terraform (killed or
			// crashed in between): take it up again rather than refuse it.
			adopt, id = true, existing.ID
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		claimed, err := e.claim(ctx, c, cc, foreign, in.TakeOver)
		if err != nil {
			return err
		}
		now := e.now()
		rec := e.newTokenRecord(id, tok, cc, in, now)
		err = e.tx(ctx, func(tx store.Tx) error {
			if adopt {
				rec.CreatedAt = existing.CreatedAt
				if err := tx.UpdateToken(ctx, rec); err != nil {
					return err
				}
			} else if err := tx.InsertToken(ctx, rec); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return &DuplicateLocationError{LocationName: cc.LocationName, LocationUID: cc.UID}
				}
				return err
			}
			if claimed {
				return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: id, Operation: claimOperation(foreign), Count: 1,
					Detail: fmt.Sprintf("mdmInfo.id %s written to location %q", e.ID(), cc.LocationName)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.clients[id] = tokenClient{secret: tok.Raw, client: c}
		e.mu.Unlock()
		_ = e.sync(ctx, id, true) // recorded in the token's sync status
		// Only now does a resource hold it: a run that dies before this leaves a record that the
		// next create takes up.
		_, err = e.hold(ctx, id)
		return err
	})
	if err != nil {
		return Token{}, err
	}
	return e.GetToken(ctx, id)
}

// LocationOf reads, without writing anything, which location a token file belongs to (one GET
// /client/config), and refuses one a vpp_token already holds in this engine: what a plan checks
// before it proposes to create a token.
func (e *Engine) LocationOf(ctx context.Context, contents string) (locationUID string, err error) {
	tok, err := apple.ParseToken(contents)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	c, err := e.newClient(tok, "")
	if err != nil {
		return "", err
	}
	cc, _, err := e.readClientConfig(ctx, c, "")
	if err != nil {
		return "", err
	}
	err = e.view(ctx, func(tx store.Tx) error {
		held, err := tx.GetTokenByLocation(ctx, cc.UID)
		switch {
		case err == nil && held.Held:
			return &DuplicateLocationError{LocationName: cc.LocationName, LocationUID: cc.UID, ExistingTokenID: held.ID}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	return cc.UID, err
}

// HasToken reports whether the engine's database holds a record of the token.
func (e *Engine) HasToken(ctx context.Context, id string) (bool, error) {
	_, err := e.tokenRecord(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// newTokenRecord is the record of a token file for a location, not yet held.
func (e *Engine) newTokenRecord(id string, tok *apple.Token, cc *apple.ClientConfig, in TokenInput, now time.Time) store.Token {
	accountType := in.AccountType
	if accountType == "" {
		accountType = platformAccount[cc.DefaultPlatform]
	}
	rec := store.Token{
		ID:               id,
		LocationUID:      cc.UID,
		DisplayName:      in.DisplayName,
		AppleID:          in.AppleID,
		AccountType:      accountType,
		OrganizationName: tok.OrgName,
		Secret:           tok.Raw,
		State:            StateValid,
		LastSyncStatus:   SyncNone,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	applyClientConfig(&rec, cc, tok.ExpiresAt)
	return rec
}

// hold records that a Terraform resource holds the token, and returns its record. A held token
// costs one read.
func (e *Engine) hold(ctx context.Context, id string) (store.Token, error) {
	rec, err := e.tokenRecord(ctx, id)
	if err != nil || rec.Held {
		return rec, err
	}
	err = e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetToken(ctx, id)
		if err != nil || cur.Held {
			rec = cur
			return notFound("token", id, err)
		}
		cur.Held = true
		rec = cur
		return tx.UpdateToken(ctx, cur)
	})
	return rec, err
}

// RestoreToken rebuilds the record of a token that Terraform's state holds (id, at locationUID)
// but the engine's database lacks — a new CI runner, a colleague's checkout, a database lost or
// restored from an older backup — from its token file, which the configuration supplies. It reads
// the location from Apple, records the token as held and runs a full sync, so that books, users
// and licenses are Apple's. It writes nothing to Apple (it runs at plan time): a claim by another
// system, or a token Apple no longer accepts, shows in the token's state instead. restored is
// false when the record exists; it is then returned as it is.
func (e *Engine) RestoreToken(ctx context.Context, id, locationUID string, in TokenInput) (t Token, restored bool, err error) {
	tok, err := apple.ParseToken(in.Contents)
	if err != nil {
		return Token{}, false, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	err = e.withTokenLock(ctx, id, func() error {
		if _, err := e.tokenRecord(ctx, id); err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		c, err := e.newClient(tok, locationUID)
		if err != nil {
			return err
		}
		now := e.now()
		cc, foreign, err := e.readClientConfig(ctx, c, id)
		var unusable *TokenUnusableError
		switch {
		case errors.As(err, &unusable) && locationUID != "":
			// Apple refuses the token: keep what the state knows, with Apple's verdict.
			cc = &apple.ClientConfig{Envelope: apple.Envelope{UID: locationUID}}
		case err != nil:
			return err
		case locationUID != "" && cc.UID != locationUID:
			return &LocationChangedError{CurrentUID: locationUID, NewName: cc.LocationName, NewUID: cc.UID}
		}
		rec := e.newTokenRecord(id, tok, cc, in, now)
		rec.Held = true
		if unusable != nil {
			rec.State, rec.StateDetail = verdictOf(unusable)
		} else if foreign != nil {
			rec.State, rec.StateDetail = verdictOf(&ExternalMDMError{LocationName: cc.LocationName, MDMName: foreign.Name, MDMID: foreign.ID})
		}
		if err := e.tx(ctx, func(tx store.Tx) error {
			if other, err := tx.GetTokenByLocation(ctx, rec.LocationUID); err == nil {
				return &DuplicateLocationError{LocationName: other.LocationName, LocationUID: other.LocationUID, ExistingTokenID: other.ID}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.InsertToken(ctx, rec); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, store.AuditEntry{At: now, TokenID: id, Operation: "restore_token", Count: 1,
				Detail: fmt.Sprintf("record of the token for location %q rebuilt from its token file and Apple's records", rec.LocationName)})
		}); err != nil {
			return err
		}
		restored = true
		e.mu.Lock()
		e.clients[id] = tokenClient{secret: tok.Raw, client: c}
		e.mu.Unlock()
		if rec.State == StateValid {
			_ = e.sync(ctx, id, true) // recorded in the token's sync status
		}
		return nil
	})
	if err != nil {
		return Token{}, false, err
	}
	t, err = e.GetToken(ctx, id)
	return t, restored, err
}

func claimOperation(foreign *apple.MDMInfo) string {
	if foreign != nil {
		return "take_over"
	}
	return "claim"
}

func applyClientConfig(rec *store.Token, cc *apple.ClientConfig, fileExpiry time.Time) {
	rec.LocationName = cc.LocationName
	rec.CountryCode = cc.CountryISO2ACode
	rec.Platform = cc.DefaultPlatform
	rec.WebsiteURL = cc.WebsiteURL
	rec.ExpiresAt = fileExpiry
	if cc.TokenExpiration != nil {
		rec.ExpiresAt = *cc.TokenExpiration
	}
}

// UpdateToken changes a token's settings and, when in.Contents is set, renews its file: the new
// file must belong to the same location. Renewal and take-over run a full sync.
func (e *Engine) UpdateToken(ctx context.Context, id string, in TokenInput) (Token, error) {
	err := e.withTokenLock(ctx, id, func() error {
		rec, err := e.tokenRecord(ctx, id)
		if err != nil {
			return err
		}
		if in.AccountType != "" && in.AccountType != rec.AccountType {
			if err := checkAccountType(in.AccountType, rec.Platform); err != nil {
				return err
			}
			rec.AccountType = in.AccountType
		}
		rec.DisplayName, rec.AppleID = in.DisplayName, in.AppleID

		renew := in.Contents != "" && strings.TrimSpace(in.Contents) != rec.Secret
		reclaim := in.TakeOver && rec.State == StateExternalMDM
		var audit []store.AuditEntry
		if renew || reclaim {
			contents := rec.Secret
			if renew {
				contents = in.Contents
			}
			tok, err := e.parseUsable(contents)
			if err != nil {
				return err
			}
			c, err := e.newClient(tok, "")
			if err != nil {
				return err
			}
			cc, foreign, err := e.readClientConfig(ctx, c, id)
			if err != nil {
				return err
			}
			if cc.UID != rec.LocationUID {
				return &LocationChangedError{CurrentName: rec.LocationName, CurrentUID: rec.LocationUID, NewName: cc.LocationName, NewUID: cc.UID}
			}
			claimed, err := e.claim(ctx, c, cc, foreign, in.TakeOver)
			if err != nil {
				return err
			}
			if claimed {
				audit = append(audit, store.AuditEntry{At: e.now(), TokenID: id, Operation: claimOperation(foreign), Count: 1,
					Detail: fmt.Sprintf("mdmInfo.id %s written to location %q", e.ID(), cc.LocationName)})
			}
			if renew {
				audit = append(audit, store.AuditEntry{At: e.now(), TokenID: id, Operation: "renew", Count: 1,
					Detail: fmt.Sprintf("token file replaced; expires %s", tok.ExpiresAt.UTC().Format(time.RFC3339))})
			}
			rec.Secret, rec.OrganizationName = tok.Raw, tok.OrgName
			applyClientConfig(&rec, cc, tok.ExpiresAt)
			rec.State, rec.StateDetail = StateValid, ""
		}
		rec.UpdatedAt = e.now()
		if err := e.tx(ctx, func(tx store.Tx) error {
			if err := tx.UpdateToken(ctx, rec); err != nil {
				return err
			}
			for _, a := range audit {
				if err := tx.InsertAudit(ctx, a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if renew || reclaim {
			e.forgetClient(id)
			_ = e.sync(ctx, id, true) // recorded in the token's sync status
		}
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	return e.GetToken(ctx, id)
}

// GetToken reads a token from the engine's records without contacting Apple.
func (e *Engine) GetToken(ctx context.Context, id string) (Token, error) {
	var out Token
	err := e.view(ctx, func(tx store.Tx) error {
		rec, err := tx.GetToken(ctx, id)
		if err != nil {
			return notFound("token", id, err)
		}
		books, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: id, ProductType: store.ProductBook})
		if err != nil {
			return err
		}
		out = tokenFromRecord(rec, len(books))
		return nil
	})
	return out, err
}

// ListTokens lists every token.
func (e *Engine) ListTokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := e.view(ctx, func(tx store.Tx) error {
		recs, err := tx.ListTokens(ctx)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			books, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: rec.ID, ProductType: store.ProductBook})
			if err != nil {
				return err
			}
			out = append(out, tokenFromRecord(rec, len(books)))
		}
		return nil
	})
	return out, err
}

// tokenFromRecord is the engine's view of a token record. Text that came from Apple or from a token
// file is cleaned (apple.CleanText), whatever an older engine stored.
func tokenFromRecord(rec store.Token, books int) Token {
	return Token{
		ID:               rec.ID,
		DisplayName:      rec.DisplayName,
		AppleID:          rec.AppleID,
		AccountType:      rec.AccountType,
		OrganizationName: apple.CleanText(rec.OrganizationName),
		LocationName:     apple.CleanText(rec.LocationName),
		LocationID:       rec.LocationUID,
		CountryCode:      rec.CountryCode,
		ExpiresAt:        rec.ExpiresAt,
		State:            rec.State,
		StateDetail:      apple.CleanText(rec.StateDetail),
		LastSyncAt:       rec.LastSyncAt,
		LastSyncStatus:   rec.LastSyncStatus,
		LastSyncError:    apple.CleanText(rec.LastSyncError),
		BookCount:        books,
	}
}

// RefreshToken records that a resource holds the token, syncs it when its last sync is older than the sync interval (or failed),
// then returns it. Apple's verdicts (expired, revoked, another MDM) show in its state rather
// than as an error.
func (e *Engine) RefreshToken(ctx context.Context, id string) (Token, error) {
	// The state that names the token proves a resource holds it.
	rec, err := e.hold(ctx, id)
	if err != nil {
		return Token{}, err
	}
	return e.refresh(ctx, rec)
}

// refresh syncs the token when its last sync is stale, or else checks its location at Apple, and
// returns it.
func (e *Engine) refresh(ctx context.Context, rec store.Token) (Token, error) {
	id := rec.ID
	var err error
	if e.stale(tokenFromRecord(rec, 0)) {
		err = e.syncIfStale(ctx, id)
	} else {
		err = e.checkLocation(ctx, rec)
	}
	if err != nil && errors.Is(err, ErrNotFound) {
		return Token{}, err
	}
	return e.GetToken(ctx, id)
}

// checkLocation asks Apple for the location's client config (one request) and records what it
// says of the token: another system's claim, or a token Apple no longer accepts (expired, revoked,
// invalid), shows in the token's state at once rather than at the next sync; a token found valid
// again is valid. A failure to reach Apple changes nothing.
func (e *Engine) checkLocation(ctx context.Context, rec store.Token) error {
	id := rec.ID
	c, err := e.client(rec)
	if err != nil {
		return err
	}
	cc, foreign, err := e.readClientConfig(ctx, c, id)
	state, detail := StateValid, ""
	switch {
	case errors.Is(err, ErrTokenUnusable):
		state, detail = verdictOf(err)
	case err != nil:
		// Apple could not be asked: the state stands until it can (the last sync's verdict holds).
		e.debug(ctx, "Could not check the token's location at Apple", "token_id", id, "error", err.Error())
		return nil //nolint:nilerr // a refresh goes on with the recorded state
	case foreign != nil:
		state, detail = verdictOf(&ExternalMDMError{LocationName: rec.LocationName, MDMName: foreign.Name, MDMID: foreign.ID})
	}
	if state == rec.State && detail == rec.StateDetail && (cc == nil || cc.TokenExpiration == nil || cc.TokenExpiration.Equal(rec.ExpiresAt)) {
		return nil
	}
	return e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetToken(ctx, id)
		if err != nil {
			return notFound("token", id, err)
		}
		cur.State, cur.StateDetail, cur.UpdatedAt = state, detail, e.now()
		if cc != nil && cc.TokenExpiration != nil {
			cur.ExpiresAt = *cc.TokenExpiration
		}
		return tx.UpdateToken(ctx, cur)
	})
}

// SyncToken syncs now ("Sync now"): full when full is true, otherwise incremental where Apple
// allows.
func (e *Engine) SyncToken(ctx context.Context, id string, full bool) (Token, error) {
	err := e.withTokenLock(ctx, id, func() error { return e.sync(ctx, id, full) })
	if errors.Is(err, ErrNotFound) {
		return Token{}, err
	}
	return e.GetToken(ctx, id)
}

// RemoveReport says what removing an object left behind at Apple.
type RemoveReport struct {
	// LicensesKept counts licenses that stay with their users: Apple does not let books (nor apps
	// that are not revocable) be reclaimed, a member another assignment of the same app covers
	// keeps it, and a token removed keeping its licenses keeps them all.
	LicensesKept int
	// AppLicensesKept counts, of LicensesKept, the licenses of revocable apps that stay because the
	// removal was asked to keep them (RemoveTokenOptions): they could have been released.
	AppLicensesKept int
	// BookLicensesKept counts, of LicensesKept, the licenses of books, where a removal spans books
	// and apps (a group, a token); an assignment's licenses are all of its one product.
	BookLicensesKept int
	// LicensesReclaimed counts app licenses taken back at Apple (disassociated) and returned to the
	// app's available licenses.
	LicensesReclaimed int
}

// RemoveToken forgets the token, its books, apps, users and assignments. With
// opts.ReleaseAppLicenses it first takes back at Apple the revocable app licenses the engine's
// users hold at the location (removeReleasing), and keeps the token while any remains; otherwise
// nothing is sent to Apple and every license already given stays with its user.
func (e *Engine) RemoveToken(ctx context.Context, id string, opts RemoveTokenOptions) (RemoveReport, error) {
	var rep RemoveReport
	var err error
	if opts.ReleaseAppLicenses {
		rep, err = e.removeReleasing(ctx, id)
	} else {
		err = e.withTokenLock(ctx, id, func() error {
			rep, err = e.forget(ctx, id, 0, false)
			return err
		})
	}
	if err == nil || errors.Is(err, ErrNotFound) {
		e.forgetClient(id)
	}
	return rep, err
}

// verdictOf is the token state, and its detail, that an error from Apple gives a token: Apple
// refuses the token, or another system claims its location ("" when err is neither).
func verdictOf(err error) (state, detail string) {
	var unusable *TokenUnusableError
	var external *ExternalMDMError
	switch {
	case errors.As(err, &unusable):
		return unusable.State, unusable.Error()
	case errors.As(err, &external):
		return StateExternalMDM, external.Error()
	}
	return "", ""
}

// tokenStateOf maps Apple's token errors to a token state ("" when err is not one).
func tokenStateOf(err error) string {
	switch {
	case errors.Is(err, apple.CodeTokenExpired):
		return StateExpired
	case errors.Is(err, apple.CodeTokenRevoked):
		return StateRevoked
	case errors.Is(err, apple.CodeInvalidToken), errors.Is(err, apple.CodeLoginRequired), errors.Is(err, apple.CodeInvalidAuthHeader):
		return StateInvalid
	case errors.Is(err, apple.ErrMDMConflict):
		return StateExternalMDM
	}
	return ""
}
