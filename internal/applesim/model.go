package applesim

import (
	"strings"
	"time"
)

// stateFormat versions the JSON written by SaveState.
const stateFormat = 1

// world is the simulator's whole persistent state. Every field is guarded by Server.mu.
type world struct {
	Format    int                      `json:"format"`
	Seq       int64                    `json:"seq"`       // last version sequence number handed out
	Locations map[string]*location     `json:"locations"` // by uId
	Tokens    map[string]*token        `json:"tokens"`    // by the inner token secret
	Catalog   map[string]*catalogEntry `json:"catalog"`   // content metadata by adamId, shared by all locations
	Versions  map[string]versionRef    `json:"versions"`  // every versionId handed out
}

func newWorld() *world {
	return &world{
		Format:    stateFormat,
		Locations: map[string]*location{},
		Tokens:    map[string]*token{},
		Catalog:   map[string]*catalogEntry{},
		Versions:  map[string]versionRef{},
	}
}

// dataset names a versioned collection of a location.
type dataset string

const (
	dsAssets      dataset = "assets"
	dsAssignments dataset = "assignments"
	dsUsers       dataset = "users"
)

// versionRef says what a versionId names: one version of one dataset of one location.
type versionRef struct {
	UID     string  `json:"uid"`
	Dataset dataset `json:"dataset"`
	Seq     int64   `json:"seq"`
}

// versionState is the current version of a dataset.
type versionState struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
}

// location is one library (Apple's organisational unit), identified by its uId.
type location struct {
	UID                 string                   `json:"uid"`
	Name                string                   `json:"name"`
	OrgName             string                   `json:"orgName"`
	CountryCode         string                   `json:"countryCode"`
	AccountType         string                   `json:"accountType"`
	ManagedAppleDomains []string                 `json:"managedAppleDomains,omitempty"`
	Config              clientConfig             `json:"config"`
	ConfigToken         string                   `json:"configToken,omitempty"` // per-token mode: token last configured
	Assets              []*asset                 `json:"assets"`
	Users               []*user                  `json:"users"`
	Assignments         []*assignment            `json:"assignments"`
	Events              map[string]*event        `json:"events"`
	Versions            map[dataset]versionState `json:"versions"`
	// AssignmentsRemovedSeq is the version at which an assignment was last removed, for
	// Quirks.InvalidateSinceOnRemoval.
	AssignmentsRemovedSeq int64 `json:"assignmentsRemovedSeq,omitempty"`

	// Indexes, rebuilt by reindex.
	assetIdx  map[assetRef]*asset
	assignIdx map[assignKey]*assignment
	active    map[string]*user // active (Registered or Associated) user by clientUserId
	known     map[string]bool  // every clientUserId that has a user record
	dead      int              // removed entries still in Assignments
	// byAddress maps a normalised address (see personAddresses) to the clientUserIds of users
	// that were given it, for strict mode's second_user check. Entries are added when a user is
	// created or its addresses change, never removed there: checkSecondUserLocked drops stale
	// ones (user no longer active, or no longer with that address) when it meets them.
	byAddress map[string][]string
	// addressChecks counts the candidates checkSecondUserLocked examined, for tests.
	addressChecks int
}

func (l *location) reindex() {
	l.assetIdx = make(map[assetRef]*asset, len(l.Assets))
	for _, a := range l.Assets {
		l.assetIdx[a.ref()] = a
	}
	l.assignIdx = make(map[assignKey]*assignment, len(l.Assignments))
	for _, a := range l.Assignments {
		l.assignIdx[a.key()] = a
	}
	l.active = map[string]*user{}
	l.known = map[string]bool{}
	l.byAddress = map[string][]string{}
	for i, u := range l.Users {
		u.pos = i
		l.known[u.ClientUserID] = true
		if u.isActive() {
			l.active[u.ClientUserID] = u
			l.indexAddresses(u, nil)
		}
	}
	l.dead = 0
	if l.Events == nil {
		l.Events = map[string]*event{}
	}
	if l.Versions == nil {
		l.Versions = map[dataset]versionState{}
	}
}

func (l *location) platform() string {
	if l.AccountType == AccountEducation {
		return "volumestore"
	}
	return "enterprisestore"
}

func (l *location) websiteURL() string {
	if l.AccountType == AccountEducation {
		return "https://school.apple.com"
	}
	return "https://business.apple.com"
}

// accountAllowed reports whether a Managed Apple Account belongs to the location's organisation.
// An empty domain list accepts every account.
func (l *location) accountAllowed(managedAppleID string) bool {
	_, domain, ok := strings.Cut(managedAppleID, "@")
	if !ok || domain == "" {
		return false
	}
	if len(l.ManagedAppleDomains) == 0 {
		return true
	}
	for _, d := range l.ManagedAppleDomains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// accountOwner returns the active user other than except linked to a Managed Apple Account.
func (l *location) accountOwner(managedAppleID string, except *user) *user {
	for _, u := range l.active {
		if u != except && strings.EqualFold(u.ManagedAppleID, managedAppleID) {
			return u
		}
	}
	return nil
}

func (l *location) addAssignment(a *assignment) {
	l.Assignments = append(l.Assignments, a)
	l.assignIdx[a.key()] = a
}

func (l *location) removeAssignment(a *assignment) {
	a.removed = true
	delete(l.assignIdx, a.key())
	l.dead++
}

// maybeCompact drops removed assignments once they are the majority. Removal only marks entries,
// so a large disassociate stays linear and loops over Assignments stay valid.
func (l *location) maybeCompact() {
	if l.dead > 1024 && l.dead > len(l.Assignments)/2 {
		l.compact()
	}
}

func (l *location) compact() {
	if l.dead == 0 {
		return
	}
	live := l.Assignments[:0]
	for _, a := range l.Assignments {
		if !a.removed {
			live = append(live, a)
		}
	}
	clear(l.Assignments[len(live):])
	l.Assignments = live
	l.dead = 0
}

// token is one content token. Several tokens may name the same location.
type token struct {
	Secret    string        `json:"secret"`
	UID       string        `json:"uid"`
	OrgName   string        `json:"orgName"`
	ExpiresAt time.Time     `json:"expiresAt"`
	Expired   bool          `json:"expired,omitempty"`
	Revoked   bool          `json:"revoked,omitempty"`
	Config    *clientConfig `json:"config,omitempty"` // per-token mode only
}

// clientConfig is what POST /client/config stores.
type clientConfig struct {
	MDMInfo               *MDMInfo `json:"mdmInfo,omitempty"`
	NotificationURL       string   `json:"notificationUrl,omitempty"`
	NotificationAuthToken string   `json:"notificationAuthToken,omitempty"`
	NotificationTypes     []string `json:"notificationTypes,omitempty"`
}

// assetRef identifies an asset: Apple's "unique pair of store identifier and quality".
type assetRef struct {
	AdamID       string `json:"adamId"`
	PricingParam string `json:"pricingParam"`
}

type asset struct {
	AdamID           string   `json:"adamId"`
	PricingParam     string   `json:"pricingParam"`
	ProductType      string   `json:"productType"`
	Purchased        int      `json:"purchased"` // licences held, i.e. totalCount
	Assigned         int      `json:"assigned"`
	Retired          int      `json:"retired"`
	Revocable        bool     `json:"revocable"`
	DeviceAssignable bool     `json:"deviceAssignable"`
	Unlimited        bool     `json:"unlimited,omitempty"`
	Platforms        []string `json:"platforms"`
}

// unlimitedCount is the totalCount Apple reports for unlimited free assets.
const unlimitedCount = 2147483647

func (a *asset) ref() assetRef { return assetRef{a.AdamID, a.PricingParam} }

func (a *asset) total() int {
	if a.Unlimited {
		return unlimitedCount
	}
	return a.Purchased
}

func (a *asset) available() int { return a.total() - a.Assigned }

// User states.
const (
	StatusRegistered = "Registered"
	StatusAssociated = "Associated"
	StatusRetired    = "Retired"
	StatusDeleted    = "Deleted"
)

type user struct {
	ClientUserID   string `json:"clientUserId"`
	Email          string `json:"email,omitempty"`
	ManagedAppleID string `json:"managedAppleId,omitempty"`
	InviteCode     string `json:"inviteCode,omitempty"`
	IDHash         string `json:"idHash,omitempty"`
	Status         string `json:"status"`
	ModSeq         int64  `json:"modSeq"`
	pos            int    // index in location.Users
}

func (u *user) isActive() bool { return u.Status == StatusRegistered || u.Status == StatusAssociated }

// assignKey identifies an assignment; exactly one of clientUserId and serialNumber is set.
type assignKey struct {
	asset  assetRef
	user   string
	serial string
}

type assignment struct {
	AdamID       string `json:"adamId"`
	PricingParam string `json:"pricingParam"`
	ClientUserID string `json:"clientUserId,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"`
	ModSeq       int64  `json:"modSeq"`
	removed      bool
}

func (a *assignment) key() assignKey {
	return assignKey{assetRef{a.AdamID, a.PricingParam}, a.ClientUserID, a.SerialNumber}
}

// catalogEntry is the content metadata served by the lookup.
type catalogEntry struct {
	AdamID     string   `json:"adamId"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Artist     string   `json:"artist"`
	Genres     []string `json:"genres,omitempty"`
	Language   string   `json:"language,omitempty"`
	ArtworkURL string   `json:"artworkUrl,omitempty"`
	// An app's lookup fields; empty for books.
	BundleID       string   `json:"bundleId,omitempty"`
	DeviceFamilies []string `json:"deviceFamilies,omitempty"`
	Version        string   `json:"version,omitempty"`
	Price          float64  `json:"price,omitempty"`
	PriceFormatted string   `json:"priceFormatted,omitempty"`
}
