package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Token states, as SPEC §4.2 names them.
const (
	StateValid             = "valid"
	StateExpired           = "expired"
	StateInvalid           = "invalid"
	StateRevoked           = "revoked"
	StateExternalMDM       = "assigned_to_external_mdm"
	StateDuplicateLocation = "duplicate_location"
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
// account type, a location already managed here, or one claimed by another system (unless
// TakeOver), claims the location, stores the token and runs a full sync. The very token file
// already stored for the location is taken up again (with the new settings) rather than refused.
func (e *Engine) AddToken(ctx context.Context, in TokenInput) (Token, error) {
	tok, err := e.parseUsable(in.Contents)
	if err != nil {
		return Token{}, err
	}
	id := uuid.NewString()
	c, err := e.newClient(tok, "")
	if err != nil {
		return Token{}, err
	}
	cc, foreign, err := e.readClientConfig(ctx, c, id)
	if err != nil {
		return Token{}, err
	}
	if err := checkAccountType(in.AccountType, cc.DefaultPlatform); err != nil {
		return Token{}, err
	}
	var existing store.Token
	err = e.tx(ctx, func(tx store.Tx) error {
		var err error
		existing, err = tx.GetTokenByLocation(ctx, cc.UID)
		return err
	})
	adopt := false
	switch {
	case err == nil && existing.Secret == tok.Raw:
		// The same token file again: an earlier run stored it but did not live to report it to
		// Terraform (killed or crashed in between). Take it up again rather than refuse it.
		adopt, id = true, existing.ID
	case err == nil:
		return Token{}, &DuplicateLocationError{LocationName: cc.LocationName, LocationUID: cc.UID, ExistingTokenID: existing.ID}
	case !errors.Is(err, store.ErrNotFound):
		return Token{}, err
	}
	claimed, err := e.claim(ctx, c, cc, foreign, in.TakeOver)
	if err != nil {
		return Token{}, err
	}

	now := e.now()
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
		return Token{}, err
	}
	e.mu.Lock()
	e.clients[id] = tokenClient{secret: tok.Raw, client: c}
	e.mu.Unlock()

	if err := e.withTokenLock(ctx, id, func() error { return e.sync(ctx, id, true) }); err != nil {
		return e.GetToken(ctx, id) //nolint:nilerr // the token is stored; its sync status says what failed
	}
	return e.GetToken(ctx, id)
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
				return &LocationChangedError{Current: rec.LocationName, New: cc.LocationName}
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
		books, err := tx.ListBooks(ctx, store.BookFilter{TokenID: id})
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
			books, err := tx.ListBooks(ctx, store.BookFilter{TokenID: rec.ID})
			if err != nil {
				return err
			}
			out = append(out, tokenFromRecord(rec, len(books)))
		}
		return nil
	})
	return out, err
}

func tokenFromRecord(rec store.Token, books int) Token {
	return Token{
		ID:               rec.ID,
		DisplayName:      rec.DisplayName,
		AppleID:          rec.AppleID,
		AccountType:      rec.AccountType,
		OrganizationName: rec.OrganizationName,
		LocationName:     rec.LocationName,
		LocationID:       rec.LocationUID,
		CountryCode:      rec.CountryCode,
		ExpiresAt:        rec.ExpiresAt,
		State:            rec.State,
		StateDetail:      rec.StateDetail,
		LastSyncAt:       rec.LastSyncAt,
		LastSyncStatus:   rec.LastSyncStatus,
		LastSyncError:    rec.LastSyncError,
		BookCount:        books,
	}
}

// RefreshToken syncs the token when its last sync is older than the sync interval (or failed),
// then returns it. Apple's verdicts (expired, revoked, another MDM) show in its state rather
// than as an error.
func (e *Engine) RefreshToken(ctx context.Context, id string) (Token, error) {
	if err := e.syncIfStale(ctx, id); err != nil && errors.Is(err, ErrNotFound) {
		return Token{}, err
	}
	return e.GetToken(ctx, id)
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
	// LicensesKept counts book licenses that stay with their users: Apple does not let books be
	// reclaimed.
	LicensesKept int
}

// RemoveToken forgets the token, its books, users and assignments. Book licenses already given
// stay with their users.
func (e *Engine) RemoveToken(ctx context.Context, id string) (RemoveReport, error) {
	var rep RemoveReport
	err := e.withTokenLock(ctx, id, func() error {
		return e.tx(ctx, func(tx store.Tx) error {
			rec, err := tx.GetToken(ctx, id)
			if err != nil {
				return notFound("token", id, err)
			}
			lic, err := tx.ListLicenses(ctx, id)
			if err != nil {
				return err
			}
			rep.LicensesKept = len(lic)
			if err := tx.DeleteToken(ctx, id); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, store.AuditEntry{At: e.now(), TokenID: id, Operation: "forget_token", Count: len(lic),
				Detail: fmt.Sprintf("token for location %q removed from the engine; %d book licenses stay with their users", rec.LocationName, len(lic))})
		})
	})
	e.forgetClient(id)
	return rep, err
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
