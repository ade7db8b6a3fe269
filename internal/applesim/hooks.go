package applesim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Account types of a location.
const (
	AccountBusiness  = "business"  // Apple Business Manager: enterprisestore
	AccountEducation = "education" // Apple School Manager: volumestore
)

// Errors returned by the test hooks.
var (
	ErrUnknownLocation = errors.New("applesim: unknown location")
	ErrUnknownToken    = errors.New("applesim: unknown token")
	ErrUnknownAsset    = errors.New("applesim: unknown asset")
	ErrUnknownUser     = errors.New("applesim: no active user with that clientUserId")
	ErrExists          = errors.New("applesim: already exists")
	ErrInvalid         = errors.New("applesim: invalid argument")
)

// LocationSpec describes a location to create.
type LocationSpec struct {
	Name        string // locationName; default "Location <uId>"
	OrgName     string // orgName in minted tokens; default Name
	CountryCode string // countryISO2ACode; default "US"
	// AccountType is AccountBusiness (default) or AccountEducation.
	AccountType string
	// ManagedAppleDomains are the domains of the organisation's Managed Apple Accounts; a
	// managedAppleId in another domain fails with 9635. Empty accepts every domain.
	ManagedAppleDomains []string
	// UID is the library id (digits); generated with 16 to 18 digits if empty.
	UID string
}

// Location describes an existing location.
type Location struct {
	UID                 string
	Name                string
	OrgName             string
	CountryCode         string
	AccountType         string
	DefaultPlatform     string // enterprisestore or volumestore
	WebsiteURL          string // https://business.apple.com or https://school.apple.com
	ManagedAppleDomains []string
}

func (l *location) public() Location {
	return Location{
		UID:                 l.UID,
		Name:                l.Name,
		OrgName:             l.OrgName,
		CountryCode:         l.CountryCode,
		AccountType:         l.AccountType,
		DefaultPlatform:     l.platform(),
		WebsiteURL:          l.websiteURL(),
		ManagedAppleDomains: slices.Clone(l.ManagedAppleDomains),
	}
}

// CreateLocation adds an empty location.
func (s *Server) CreateLocation(spec LocationSpec) (Location, error) {
	switch spec.AccountType {
	case "":
		spec.AccountType = AccountBusiness
	case AccountBusiness, AccountEducation:
	default:
		return Location{}, fmt.Errorf("%w: account type %q", ErrInvalid, spec.AccountType)
	}
	if spec.UID != "" && !isDigits(spec.UID) {
		return Location{}, fmt.Errorf("%w: uId %q is not digits", ErrInvalid, spec.UID)
	}
	if spec.CountryCode == "" {
		spec.CountryCode = "US"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.UID == "" {
		for spec.UID = newUID(); s.w.Locations[spec.UID] != nil; spec.UID = newUID() {
		}
	} else if s.w.Locations[spec.UID] != nil {
		return Location{}, fmt.Errorf("%w: location %s", ErrExists, spec.UID)
	}
	if spec.Name == "" {
		spec.Name = "Location " + spec.UID
	}
	if spec.OrgName == "" {
		spec.OrgName = spec.Name
	}
	loc := &location{
		UID:                 spec.UID,
		Name:                spec.Name,
		OrgName:             spec.OrgName,
		CountryCode:         spec.CountryCode,
		AccountType:         spec.AccountType,
		ManagedAppleDomains: slices.Clone(spec.ManagedAppleDomains),
	}
	loc.reindex()
	for _, ds := range []dataset{dsAssets, dsAssignments, dsUsers} {
		s.bumpLocked(loc, ds)
	}
	s.w.Locations[loc.UID] = loc
	return loc.public(), nil
}

// Locations lists every location, in no particular order.
func (s *Server) Locations() []Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Location, 0, len(s.w.Locations))
	for _, l := range s.w.Locations {
		out = append(out, l.public())
	}
	return out
}

// MintToken issues a new content token for a location and returns the .vpptoken file contents:
// standard base64 of {"token","expDate","orgName"}. A location may have several tokens.
func (s *Server) MintToken(uid string, expiresAt time.Time) (string, error) {
	var contents string
	err := s.atLocation(uid, func(loc *location) error {
		tok := &token{Secret: newSecret(), UID: uid, OrgName: loc.OrgName, ExpiresAt: expiresAt.UTC().Truncate(time.Second)}
		s.w.Tokens[tok.Secret] = tok
		raw, err := json.Marshal(tokenFile{Token: tok.Secret, ExpDate: formatDate(tok.ExpiresAt), OrgName: tok.OrgName})
		if err != nil {
			return err
		}
		contents = base64.StdEncoding.EncodeToString(raw)
		return nil
	})
	return contents, err
}

// atLocation runs do on location uid under s.mu, or returns ErrUnknownLocation when there is
// none.
func (s *Server) atLocation(uid string, do func(loc *location) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	loc := s.w.Locations[uid]
	if loc == nil {
		return ErrUnknownLocation
	}
	return do(loc)
}

// AdoptToken accepts an existing .vpptoken file for a location, as if Apple had issued it there
// (sandbox mode ships token files the simulator has never minted). It reads every form the
// provider's plan-time parser accepts: base64 with or without padding, an expDate with offset
// "+0000", "+00:00", "+00" or "Z", without offset (UTC), or space-padded. The file's expDate and
// orgName are kept; adopting a file the simulator already knows changes nothing.
func (s *Server) AdoptToken(uid, contents string) error {
	f, exp, err := parseTokenFile(contents)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s.atLocation(uid, func(*location) error {
		if existing := s.w.Tokens[f.Token]; existing != nil {
			if existing.UID != uid {
				return fmt.Errorf("%w: the token already belongs to location %s", ErrExists, existing.UID)
			}
			return nil
		}
		s.w.Tokens[f.Token] = &token{Secret: f.Token, UID: uid, OrgName: f.OrgName, ExpiresAt: exp.UTC()}
		return nil
	})
}

// changeToken runs change on the token of a .vpptoken file under s.mu, or returns
// ErrUnknownToken when the simulator does not know it.
func (s *Server) changeToken(contents string, change func(tok *token)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, ok := decodeToken(contents)
	if !ok || s.w.Tokens[secret] == nil {
		return ErrUnknownToken
	}
	change(s.w.Tokens[secret])
	return nil
}

// ExpireToken makes a token expired (9621) whatever its expiry date.
func (s *Server) ExpireToken(contents string) error {
	return s.changeToken(contents, func(tok *token) { tok.Expired = true })
}

// RevokeToken makes Apple revoke a token (9625).
func (s *Server) RevokeToken(contents string) error {
	return s.changeToken(contents, func(tok *token) { tok.Revoked = true })
}

// BookSpec describes a book to add to a location.
type BookSpec struct {
	AdamID       string // numeric store id
	PricingParam string // STDQ (default) or PLUS
	Title        string
	Author       string
	Genres       []string
	Language     string // e.g. "en-US"
	Licenses     int    // licences purchased
	Unlimited    bool   // a free book with unlimited licences
	ArtworkURL   string // cover URL for the lookup; default a placeholder served by the simulator
}

// AppSpec describes an app to add to a location. Apps are revocable and device-assignable unless
// NotRevocable or NotDeviceAssignable says otherwise.
type AppSpec struct {
	AdamID       string
	PricingParam string // STDQ (default) or PLUS
	Name         string
	Developer    string
	Genres       []string
	Licenses     int
	Unlimited    bool
	// Platforms are the asset's supportedPlatforms: default those of DeviceFamilies, else ["iOS"].
	Platforms  []string
	ArtworkURL string
	// NotRevocable makes the asset's licences impossible to revoke or disassociate (9706).
	NotRevocable bool
	// NotDeviceAssignable makes the app user-only: serial numbers are refused (9707).
	NotDeviceAssignable bool

	// The lookup's fields for apps (apple-api.md §13).
	BundleID string // default "com.example.app" + AdamID
	// DeviceFamilies, e.g. "iphone", "ipad", "mac": default those of Platforms.
	DeviceFamilies []string
	Version        string  // the current offer's version.display; default "1.0"
	Price          float64 // the current offer's price in US dollars; default 0, free
	PriceFormatted string  // default "Free", or "$" and Price with two decimals
}

// AddBook adds a book asset (not revocable, not device-assignable, iOS and macOS) to a location
// and registers its metadata in the catalog the lookup serves.
func (s *Server) AddBook(uid string, b BookSpec) error {
	return s.addAsset(uid, &asset{
		AdamID:       b.AdamID,
		PricingParam: b.PricingParam,
		ProductType:  ProductBook,
		Purchased:    b.Licenses,
		Unlimited:    b.Unlimited,
		Platforms:    []string{"iOS", "macOS"},
	}, &catalogEntry{
		AdamID: b.AdamID, Kind: "ebook", Name: b.Title, Artist: b.Author,
		Genres: slices.Clone(b.Genres), Language: b.Language, ArtworkURL: b.ArtworkURL,
	})
}

// AddApp adds an app asset to a location and registers its metadata.
func (s *Server) AddApp(uid string, a AppSpec) error {
	platforms := appPlatforms(a)
	meta, err := appCatalogEntry(a, platforms)
	if err != nil {
		return err
	}
	return s.addAsset(uid, &asset{
		AdamID:           a.AdamID,
		PricingParam:     a.PricingParam,
		ProductType:      ProductApp,
		Purchased:        a.Licenses,
		Unlimited:        a.Unlimited,
		Revocable:        !a.NotRevocable,
		DeviceAssignable: !a.NotDeviceAssignable,
		Platforms:        platforms,
	}, meta)
}

func (s *Server) addAsset(uid string, a *asset, meta *catalogEntry) error {
	a.PricingParam = pricingOrDefault(a.PricingParam)
	if !isDigits(a.AdamID) || a.Purchased < 0 || (a.PricingParam != PricingSTDQ && a.PricingParam != PricingPLUS) {
		return fmt.Errorf("%w: asset %q %q with %d licences", ErrInvalid, a.AdamID, a.PricingParam, a.Purchased)
	}
	return s.atLocation(uid, func(loc *location) error {
		if loc.assetIdx[a.ref()] != nil {
			return fmt.Errorf("%w: asset %s %s", ErrExists, a.AdamID, a.PricingParam)
		}
		loc.Assets = append(loc.Assets, a)
		loc.assetIdx[a.ref()] = a
		s.w.Catalog[a.AdamID] = meta
		s.bumpLocked(loc, dsAssets)
		return nil
	})
}

// pricingOrDefault is the pricingParam of a request, STDQ (v1's documented default) when empty.
func pricingOrDefault(pricingParam string) string {
	if pricingParam == "" {
		return PricingSTDQ
	}
	return pricingParam
}

// Purchase adds n licences to an asset of a location.
func (s *Server) Purchase(uid, adamID, pricingParam string, n int) error {
	return s.changeCount(uid, adamID, pricingParam, func(a *asset) error {
		if n < 0 {
			return ErrInvalid
		}
		a.Purchased += n
		return nil
	})
}

// Refund gives back n unassigned licences of an asset: totalCount drops and retiredCount grows.
func (s *Server) Refund(uid, adamID, pricingParam string, n int) error {
	return s.changeCount(uid, adamID, pricingParam, func(a *asset) error {
		if n < 0 || a.Unlimited || n > a.available() {
			return fmt.Errorf("%w: cannot refund %d of %d available licences", ErrInvalid, n, a.available())
		}
		a.Purchased -= n
		a.Retired += n
		return nil
	})
}

func (s *Server) changeCount(uid, adamID, pricingParam string, change func(*asset) error) error {
	return s.atLocation(uid, func(loc *location) error {
		a := loc.assetIdx[assetRef{adamID, pricingOrDefault(pricingParam)}]
		if a == nil {
			return ErrUnknownAsset
		}
		if err := change(a); err != nil {
			return err
		}
		s.bumpLocked(loc, dsAssets)
		return nil
	})
}

// AcceptInvitation makes a Registered user accept the invitation: the user becomes Associated
// and gets an idHash (derived from the email, or random without one).
func (s *Server) AcceptInvitation(uid, clientUserID string) error {
	return s.atLocation(uid, func(loc *location) error {
		u := loc.active[clientUserID]
		if u == nil {
			return ErrUnknownUser
		}
		if u.Status != StatusRegistered {
			return fmt.Errorf("%w: user %s is %s", ErrInvalid, clientUserID, u.Status)
		}
		s.acceptInvitationLocked(loc, s.changesLocked(loc), u)
		return nil
	})
}

// acceptInvitationLocked associates a Registered user with the Apple Account of its email, or
// with a random one without an email.
func (s *Server) acceptInvitationLocked(loc *location, ch *changes, u *user) {
	account := u.Email
	if account == "" {
		account = randomAccount()
	}
	s.associateUserLocked(loc, ch, u, account)
	u.ModSeq = ch.seq(dsUsers)
}

// UserSpec describes a user for AddUser.
type UserSpec struct {
	ClientUserID   string
	Email          string // optional
	ManagedAppleID string // optional; makes the user Associated at once, as users/create does
	// Associated makes a user without a Managed Apple Account accept its invitation at once:
	// Associated, with the idHash of its email's Apple Account (a random one without an email).
	Associated bool
}

// AddUser creates an active user at a location directly, as another MDM would have through
// users/create (and the person's acceptance of the invitation if Associated): Registered with a
// fresh inviteCode, or Associated with an idHash. The users versionId changes as for a real
// create. It fails with ErrExists if the clientUserId has an active user or the Managed Apple
// Account belongs to another active user, and with ErrInvalid for an empty clientUserId, a
// malformed email or a managedAppleId outside the location's domains. Strict mode records
// nothing for it. Test hook, not part of Apple's API.
func (s *Server) AddUser(uid string, spec UserSpec) error {
	if spec.ClientUserID == "" {
		return fmt.Errorf("%w: empty clientUserId", ErrInvalid)
	}
	if spec.Email != "" && !validEmail(spec.Email) {
		return fmt.Errorf("%w: email %q", ErrInvalid, spec.Email)
	}
	return s.atLocation(uid, func(loc *location) error {
		if loc.active[spec.ClientUserID] != nil {
			return fmt.Errorf("%w: active user %s", ErrExists, spec.ClientUserID)
		}
		if spec.ManagedAppleID != "" {
			switch checkAccountLocked(loc, spec.ManagedAppleID, nil) {
			case 9635:
				return fmt.Errorf("%w: managedAppleId %q is outside the organisation", ErrInvalid, spec.ManagedAppleID)
			case 9641:
				return fmt.Errorf("%w: managedAppleId %q belongs to another active user", ErrExists, spec.ManagedAppleID)
			}
		}
		ch := s.changesLocked(loc)
		u := &user{ClientUserID: spec.ClientUserID, Email: spec.Email, ManagedAppleID: spec.ManagedAppleID}
		s.addUserLocked(loc, ch, u)
		if spec.Associated && u.Status == StatusRegistered {
			s.acceptInvitationLocked(loc, ch, u)
		}
		return nil
	})
}

// Assign gives the active user clientUserID a licence of an asset directly, as another MDM would
// have through assets/associate: a licence is spent and the assets and assignments versionIds
// change. It fails with ErrUnknownUser, ErrUnknownAsset, ErrExists if the user already holds the
// asset, or ErrInvalid if no licence is available. Strict mode records nothing for it.
// Test hook, not part of Apple's API.
func (s *Server) Assign(uid, adamID, pricingParam, clientUserID string) error {
	ref := assetRef{adamID, pricingOrDefault(pricingParam)}
	return s.atLocation(uid, func(loc *location) error {
		if loc.active[clientUserID] == nil {
			return ErrUnknownUser
		}
		a := loc.assetIdx[ref]
		switch {
		case a == nil:
			return ErrUnknownAsset
		case loc.assignIdx[assignKey{ref, clientUserID, ""}] != nil:
			return fmt.Errorf("%w: user %s already holds %s %s", ErrExists, clientUserID, adamID, ref.PricingParam)
		case a.available() <= 0:
			return fmt.Errorf("%w: no licence of %s %s available", ErrInvalid, adamID, ref.PricingParam)
		}
		s.assignLocked(loc, s.changesLocked(loc), a, target{user: clientUserID})
		return nil
	})
}

// AssignDevice licenses the asset to a device's serial number at the location, as another system
// would (Apple's device-based licensing). The asset must be device-assignable, with a license
// available, and the device must not hold it yet.
func (s *Server) AssignDevice(uid, adamID, pricingParam, serialNumber string) error {
	ref := assetRef{adamID, pricingOrDefault(pricingParam)}
	return s.atLocation(uid, func(loc *location) error {
		a := loc.assetIdx[ref]
		switch {
		case a == nil:
			return ErrUnknownAsset
		case !a.DeviceAssignable:
			return fmt.Errorf("%w: %s %s is not device-assignable", ErrInvalid, adamID, ref.PricingParam)
		case loc.assignIdx[assignKey{ref, "", serialNumber}] != nil:
			return fmt.Errorf("%w: device %s already holds %s %s", ErrExists, serialNumber, adamID, ref.PricingParam)
		case a.available() <= 0:
			return fmt.Errorf("%w: no licence of %s %s available", ErrInvalid, adamID, ref.PricingParam)
		}
		s.assignLocked(loc, s.changesLocked(loc), a, target{serial: serialNumber})
		return nil
	})
}

// OverwriteMDMInfo simulates another MDM claiming the location (every token's config in
// per-token mode).
func (s *Server) OverwriteMDMInfo(uid string, info MDMInfo) error {
	return s.atLocation(uid, func(loc *location) error {
		loc.Config.MDMInfo = &info
		if s.opts.Quirks.ClientConfigPerToken {
			for _, tok := range s.w.Tokens {
				if tok.UID == uid {
					m := info
					s.configLocked(tok, loc).MDMInfo = &m
				}
			}
		}
		return nil
	})
}

// Asset is an asset of a location with its counts.
type Asset struct {
	AdamID             string
	PricingParam       string
	ProductType        string
	AssignedCount      int
	AvailableCount     int
	TotalCount         int
	RetiredCount       int
	Revocable          bool
	DeviceAssignable   bool
	Unlimited          bool
	SupportedPlatforms []string
}

// Assignment is one assigned licence: exactly one of ClientUserID and SerialNumber is set.
type Assignment struct {
	AdamID       string
	PricingParam string
	ClientUserID string
	SerialNumber string
}

// User is one user record; a clientUserId may have several Retired records and one active.
type User struct {
	ClientUserID   string
	Email          string
	ManagedAppleID string
	InviteCode     string
	IDHash         string
	Status         string
}

// Asset returns an asset of a location.
func (s *Server) Asset(uid, adamID, pricingParam string) (Asset, bool) {
	var out Asset
	err := s.atLocation(uid, func(loc *location) error {
		a := loc.assetIdx[assetRef{adamID, pricingOrDefault(pricingParam)}]
		if a == nil {
			return ErrUnknownAsset
		}
		out = Asset{
			AdamID:             a.AdamID,
			PricingParam:       a.PricingParam,
			ProductType:        a.ProductType,
			AssignedCount:      a.Assigned,
			AvailableCount:     a.available(),
			TotalCount:         a.total(),
			RetiredCount:       a.Retired,
			Revocable:          a.Revocable,
			DeviceAssignable:   a.DeviceAssignable,
			Unlimited:          a.Unlimited,
			SupportedPlatforms: slices.Clone(a.Platforms),
		}
		return nil
	})
	return out, err == nil
}

// Assignments returns a location's assignments in creation order.
func (s *Server) Assignments(uid string) []Assignment {
	var out []Assignment
	_ = s.atLocation(uid, func(loc *location) error {
		out = make([]Assignment, 0, len(loc.Assignments)-loc.dead)
		for _, a := range loc.Assignments {
			if !a.removed {
				out = append(out, Assignment{a.AdamID, a.PricingParam, a.ClientUserID, a.SerialNumber})
			}
		}
		return nil
	})
	return out
}

// Users returns a location's user records in creation order.
func (s *Server) Users(uid string) []User {
	var out []User
	_ = s.atLocation(uid, func(loc *location) error {
		out = make([]User, 0, len(loc.Users))
		for _, u := range loc.Users {
			out = append(out, User{u.ClientUserID, u.Email, u.ManagedAppleID, u.InviteCode, u.IDHash, u.Status})
		}
		return nil
	})
	return out
}

// ClientConfig returns a location's client config. With Quirks.ClientConfigPerToken it is the
// config of the token that last posted one.
func (s *Server) ClientConfig(uid string) ClientConfig {
	var out ClientConfig
	_ = s.atLocation(uid, func(loc *location) error {
		cfg := &loc.Config
		if tok := s.w.Tokens[loc.ConfigToken]; s.opts.Quirks.ClientConfigPerToken && tok != nil && tok.Config != nil {
			cfg = tok.Config
		}
		out = ClientConfig{
			NotificationURL:       cfg.NotificationURL,
			NotificationAuthToken: cfg.NotificationAuthToken,
			NotificationTypes:     slices.Clone(cfg.NotificationTypes),
		}
		if cfg.MDMInfo != nil {
			m := *cfg.MDMInfo
			out.MDMInfo = &m
		}
		return nil
	})
	return out
}
