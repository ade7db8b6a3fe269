// Package store keeps the engine's records in SQLite (embedded default) or PostgreSQL (teams),
// behind one interface. It owns the schema and its migrations, seals tokens at rest when an
// encryption key is configured, and provides the per-token locks that serialise work on a
// location across goroutines and processes.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Callers match them with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule was broken (for example a second token for the same
	// Apple location, or a second assignment of a book to the same group).
	ErrConflict = errors.New("conflict")
	// ErrWrongKey means the database was written with another encryption key.
	ErrWrongKey = errors.New("the database was written with a different encryption key")
	// ErrKeyRequired means the database holds sealed tokens and no key was configured.
	ErrKeyRequired = errors.New("the database holds encrypted tokens; an encryption key is required")
	// ErrBusy means a lock or the database could not be had within the wait allowed.
	ErrBusy = errors.New("database busy")
)

// Kind names a backend.
type Kind string

// Backends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Config selects and configures a backend.
type Config struct {
	// URL is a SQLite file path (created with its directory on first use) or a postgres:// or
	// postgresql:// URL.
	URL string
	// EncryptionKey, when set, is 32 bytes that seal tokens with AES-256-GCM.
	EncryptionKey []byte
	// BusyTimeout bounds how long a write waits for SQLite's write lock and how long LockToken
	// waits for another holder. Default 30s.
	BusyTimeout time.Duration
}

// DefaultBusyTimeout is the BusyTimeout used when Config.BusyTimeout is zero.
const DefaultBusyTimeout = 30 * time.Second

// KindOf reports the backend a Config.URL selects: Postgres for postgres:// and postgresql://
// URLs, SQLite for anything else (a file path).
func KindOf(url string) Kind {
	l := strings.ToLower(strings.TrimSpace(url))
	if strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Token is an uploaded location token. Secret is the .vpptoken file contents in clear: the store
// seals it on write and opens it on read.
type Token struct {
	ID               string
	LocationUID      string
	DisplayName      string
	AppleID          string
	AccountType      string // business | education
	OrganizationName string
	LocationName     string
	CountryCode      string
	Platform         string // enterprisestore | volumestore
	WebsiteURL       string
	ExpiresAt        time.Time
	Secret           string
	State            string // valid, expired, invalid, revoked, assigned_to_external_mdm, duplicate_location
	StateDetail      string
	LastSyncAt       time.Time // zero: never
	LastSyncStatus   string    // none, in_progress, completed, failed
	LastSyncError    string
	UsersVersion     string // Apple versionId of the last users walk, for sinceVersionId
	AssignVersion    string // Apple versionId of the last assignments walk
	AssetsVersion    string // Apple versionId of the last complete assets walk
	// DeliveriesGen counts the writes that may change the token's delivery states (see
	// Tx.TouchDeliveries); DeliveriesRecorded is the generation the recorded states were computed
	// from. Both are read-only here: InsertToken and UpdateToken leave them alone.
	DeliveriesGen      int64
	DeliveriesRecorded int64
	// Held means a Terraform resource is known to hold the token: its create completed, or a
	// state naming it was read. A record not held is what an interrupted create left behind.
	Held      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Product types of an asset (Apple's productType).
const (
	ProductBook = "Book"
	ProductApp  = "App"
)

// Asset is a purchased book or app (an Apple asset) held by a token's location, with its license
// counts at the last sync and the metadata lookup's names.
type Asset struct {
	TokenID      string
	AdamID       string
	PricingParam string // STDQ | PLUS
	ProductType  string // Book | App (Apple's productType); "" is read as Book
	// Revocable: a license can be taken back (apps). DeviceAssignable: it can be licensed to a
	// device serial number.
	Revocable        bool
	DeviceAssignable bool
	Title            string // the lookup's name
	Author           string // the lookup's artistName: a book's author, an app's developer
	// Platforms are Apple's supportedPlatforms of the asset (iOS, macOS, ...). Apps: the bundle id,
	// and the version and price the store shows.
	Platforms  []string
	BundleID   string
	Version    string
	Price      string
	Genres     []string
	Language   string
	CoverURL   string
	Total      int
	Assigned   int
	Available  int
	Retired    int
	MetadataAt time.Time // zero: metadata not fetched yet
	SyncedAt   time.Time
}

// VPPUser is an Apple VPP user the engine created at a token's location for one person (email).
type VPPUser struct {
	TokenID      string
	ClientUserID string
	Email        string // normalised lower-case
	Managed      bool   // created with managedAppleId
	Status       string // "" (not yet confirmed at Apple), Registered, Associated, Retired
	InviteCode   string
	// InvitationURL is Apple's invitation link for a Registered user, built from the service
	// config's template when the user was last read.
	InvitationURL string
	IDHash        string
	UpdatedAt     time.Time
}

// LocationUser is an active VPP user Apple holds at a token's location, whoever created it: what
// members without a user record are looked up in.
type LocationUser struct {
	TokenID      string
	ClientUserID string
	EmailKey     string // the email as the engine compares emails
	Status       string // Registered or Associated
	InviteCode   string
	IDHash       string
}

// Group kinds: a user group's members are Apple Account emails; a device group's are device serial
// numbers (Apple's device-based licensing).
const (
	GroupUsers   = "users"
	GroupDevices = "devices"
)

// Group is a group of an assignment: a user group (a set of Apple Account emails), or a device
// group (a set of serial numbers, kind GroupDevices; its members are held as a user group's are).
type Group struct {
	ID          string
	Kind        string // GroupUsers ("" too) or GroupDevices
	Name        string
	Description string
	Managed     bool // members are Managed Apple Accounts
	// MembersFrom is what the members were read from (a roster file's SHA-256); empty for a list
	// given directly.
	MembersFrom string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupMember is one member (a normalised email, or a device group's normalised serial number)
// of one group.
type GroupMember struct {
	GroupID string
	Email   string
}

// Holders names who holds licenses: users by clientUserId, devices by serial number.
type Holders struct {
	ClientUserIDs []string
	SerialNumbers []string
}

// DeviceGroup is a device group: a set of device serial numbers, for Apple's device-based
// licensing (Tx.SetSerials and Tx.ListSerials hold its serial numbers). It is recorded as a Group
// of kind GroupDevices, so that assignments name it as they name a user group.
type DeviceGroup struct {
	ID          string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Assignment gives one book to one group.
type Assignment struct {
	ID                    string
	TokenID               string
	AdamID                string
	PricingParam          string
	GroupID               string
	Intent                string // required | available
	AllowOversubscription bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// License is a license Apple holds (an Apple assignment): of a book or app, for one of the
// engine's users (ClientUserID), or for a device (SerialNumber; ClientUserID is empty then).
type License struct {
	TokenID      string
	AdamID       string
	PricingParam string
	ClientUserID string
	SerialNumber string
	AssignedAt   time.Time
}

// Delivery is the state of one assignment for one group member.
type Delivery struct {
	AssignmentID string
	Email        string
	State        string // licensed, pending, unlicensed, failed, queued
	ErrorNumber  int    // Apple's errorNumber when State is failed
	Detail       string
	UpdatedAt    time.Time
}

// JournalEntry records a request that spends licenses or creates users, written before it is
// sent and settled after, so an interrupted run can be reconciled exactly once.
type JournalEntry struct {
	ID        int64
	TokenID   string
	Operation string // create_users, associate
	Payload   []byte // JSON owned by the engine
	State     string // prepared, sent, settled, failed
	EventID   string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SyncRun is one sync of a token.
type SyncRun struct {
	ID         int64
	TokenID    string
	Kind       string // full | incremental
	Status     string // in_progress, completed, failed
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
	Books      int
	Users      int
	Licenses   int
}

// AuditEntry records one change the engine made at Apple.
type AuditEntry struct {
	ID        int64
	At        time.Time
	TokenID   string
	Operation string // e.g. claim, create_users, associate
	EventID   string
	Count     int
	Detail    string // never a secret
}

// AuditFilter narrows FindAudit; zero values do not filter.
type AuditFilter struct {
	TokenID    string
	Since      time.Time // only entries at or after Since (inclusive)
	Until      time.Time // only entries before Until (exclusive)
	Operations []string  // only entries of one of these operations
	Limit      int       // at most this many entries, the oldest
}

// AuditRecord is an audit entry with the journal entry of the request it records: the entry of
// the same token carrying its event id. Journaled is false when there is none (the audit entry
// has no event, or the journal entry went with its token); JournalState and JournalError are
// then empty.
type AuditRecord struct {
	AuditEntry
	Journaled    bool
	JournalState string
	JournalError string
}

// AssetFilter narrows ListBooks; zero values do not filter.
type AssetFilter struct {
	TokenID       string
	AdamID        string
	ProductType   string // Book | App
	TitleContains string // case-insensitive substring
	MinAvailable  int
}

// Store is the engine's view of its database. Every method is safe for concurrent use.
type Store interface {
	// Kind reports the backend.
	Kind() Kind
	// EngineID is the engine's stable UUID, created with the database.
	EngineID() string
	// Tx runs fn in one transaction: every write in fn lands, or none does. fn may be retried
	// on a serialisation failure, so it must not have side effects outside tx. fn must not call
	// Tx or LockToken (on SQLite a process writes through one transaction at a time, so a nested
	// call waits for the busy timeout and fails with ErrBusy). On SQLite every transaction takes
	// the write lock (BEGIN IMMEDIATE) up front, so keep them short.
	Tx(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction: one consistent snapshot that takes no write lock,
	// so reads run alongside each other and alongside a writer (Terraform refreshes ten
	// resources at a time). fn must only read: PostgreSQL refuses writes in it. The rules of Tx
	// on nesting apply.
	View(ctx context.Context, fn func(tx Tx) error) error
	// LockToken serialises work on one token across goroutines and processes (PostgreSQL
	// advisory lock; a lease row on SQLite). It waits up to BusyTimeout, then returns ErrBusy.
	LockToken(ctx context.Context, tokenID string) (unlock func(), err error)
	// Close releases the database and any token locks still held. It is safe to call twice.
	Close() error
}

// Tx is one transaction. Get*, Update* and Delete* return ErrNotFound when the record is absent
// (as do writes that reference a missing token, group or assignment); Insert*, Update* and Upsert*
// return ErrConflict on a uniqueness violation. Insert* and Update* fill a zero CreatedAt /
// UpdatedAt (Delivery.UpdatedAt, VPPUser.UpdatedAt, AuditEntry.At) with the current time; Update*
// never change CreatedAt. Times are stored with millisecond precision and read back in UTC.
// A Tx must not be used after its Store.Tx callback returns, nor from several goroutines.
type Tx interface {
	InsertToken(ctx context.Context, t Token) error
	UpdateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	GetTokenByLocation(ctx context.Context, locationUID string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken removes the token with its books, users, licenses, assignments, deliveries
	// and journal entries. Audit and sync history stay.
	DeleteToken(ctx context.Context, id string) error
	// TouchDeliveries increments the tokens' DeliveriesGen: their delivery states may be outdated.
	TouchDeliveries(ctx context.Context, tokenIDs ...string) error
	// SetDeliveriesRecorded notes that the token's delivery states were computed from generation
	// gen (never moving DeliveriesRecorded back).
	SetDeliveriesRecorded(ctx context.Context, tokenID string, gen int64) error

	// UpsertAssets inserts or replaces books by (token, adamId, pricingParam).
	UpsertAssets(ctx context.Context, assets []Asset) error
	// DeleteAssetsExcept removes a token's books whose keys are not in keep ("adamId/pricingParam").
	DeleteAssetsExcept(ctx context.Context, tokenID string, keep []string) error
	GetAsset(ctx context.Context, tokenID, adamID, pricingParam string) (Asset, error)
	ListAssets(ctx context.Context, f AssetFilter) ([]Asset, error)

	UpsertVPPUsers(ctx context.Context, users []VPPUser) error
	ListVPPUsers(ctx context.Context, tokenID string) ([]VPPUser, error)
	// ListVPPUsersByEmail lists the token's VPP users with one of the emails, in ListVPPUsers'
	// order (by email, then clientUserId).
	ListVPPUsersByEmail(ctx context.Context, tokenID string, emails []string) ([]VPPUser, error)

	// ApplyLocationUsers records one page of walk's read of Apple's users at the token's location:
	// active users upserted, the clientUserIds in gone (retired or deleted records) removed unless
	// the same walk saw them active.
	ApplyLocationUsers(ctx context.Context, tokenID string, walk int64, active []LocationUser, gone []string) error
	// PruneLocationUsers ends a walk of every user: the users it did not see are removed.
	PruneLocationUsers(ctx context.Context, tokenID string, walk int64) error
	// FindLocationUsers returns the location's users with one of the clientUserIds or email keys.
	FindLocationUsers(ctx context.Context, tokenID string, ids, emailKeys []string) ([]LocationUser, error)
	// LocationUsersVersion and SetLocationUsersVersion read and record the users versionId the
	// location's users are complete at: current when it equals the token's UsersVersion.
	LocationUsersVersion(ctx context.Context, tokenID string) (string, error)
	SetLocationUsersVersion(ctx context.Context, tokenID, version string) error

	InsertGroup(ctx context.Context, g Group) error
	UpdateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	// ListGroups lists every group by ID.
	ListGroups(ctx context.Context) ([]Group, error)
	// DeleteGroup removes the group, its members, its assignments and their deliveries.
	DeleteGroup(ctx context.Context, id string) error
	// SetMembers replaces the group's member set (normalised emails).
	SetMembers(ctx context.Context, groupID string, emails []string) error
	ListMembers(ctx context.Context, groupID string) ([]string, error)
	// ListTokenMembers lists the members of every group that has an assignment of the token,
	// by group and email.
	ListTokenMembers(ctx context.Context, tokenID string) ([]GroupMember, error)
	// ListBookGroups, ListBookMembers and ListBookDeliveries read the groups, members (by group
	// and email) and deliveries (by assignment and email) of the assignments of one book of a token.
	ListBookGroups(ctx context.Context, tokenID, adamID, pricingParam string) ([]Group, error)
	ListBookMembers(ctx context.Context, tokenID, adamID, pricingParam string) ([]GroupMember, error)
	ListBookDeliveries(ctx context.Context, tokenID, adamID, pricingParam string) ([]Delivery, error)
	// ListMembersWithoutUser lists, sorted and once each, the members of the groups that have an
	// assignment of the token for whom the token has no VPP user record.
	ListMembersWithoutUser(ctx context.Context, tokenID string) ([]string, error)
	// ChangeMembers adds members to the group and removes others (normalised emails), leaving the
	// rest: a change of a few members of a large group writes a few rows. Adding a member already
	// there, or removing one that is not, does nothing.
	ChangeMembers(ctx context.Context, groupID string, add, remove []string) error
	// ListInvitedMembers lists the VPP users in status (with TokenID, ClientUserID, Email and
	// InvitationURL read) of the group's members at the tokens of the group's assignments that
	// have an invitation URL, by token id, email and clientUserId.
	ListInvitedMembers(ctx context.Context, groupID, status string) ([]VPPUser, error)

	InsertDeviceGroup(ctx context.Context, g DeviceGroup) error
	UpdateDeviceGroup(ctx context.Context, g DeviceGroup) error
	GetDeviceGroup(ctx context.Context, id string) (DeviceGroup, error)
	// ListDeviceGroups lists every device group by ID.
	ListDeviceGroups(ctx context.Context) ([]DeviceGroup, error)
	// DeleteDeviceGroup removes the device group and its serial numbers.
	DeleteDeviceGroup(ctx context.Context, id string) error
	// SetSerials replaces the device group's set of serial numbers (normalised).
	SetSerials(ctx context.Context, groupID string, serials []string) error
	// ListSerials lists the device group's serial numbers, sorted.
	ListSerials(ctx context.Context, groupID string) ([]string, error)

	InsertAssignment(ctx context.Context, a Assignment) error
	UpdateAssignment(ctx context.Context, a Assignment) error
	GetAssignment(ctx context.Context, id string) (Assignment, error)
	GetAssignmentByBookGroup(ctx context.Context, tokenID, adamID, pricingParam, groupID string) (Assignment, error)
	// ListAssignments lists a token's assignments ("" = all tokens).
	ListAssignments(ctx context.Context, tokenID string) ([]Assignment, error)
	ListAssignmentsByGroup(ctx context.Context, groupID string) ([]Assignment, error)
	// ListBookAssignments lists the assignments of one book of a token.
	ListBookAssignments(ctx context.Context, tokenID, adamID, pricingParam string) ([]Assignment, error)
	// DeleteAssignment removes the assignment and its deliveries.
	DeleteAssignment(ctx context.Context, id string) error

	UpsertLicenses(ctx context.Context, licenses []License) error
	// ReplaceLicenses makes the token's licenses exactly the given set (after a full sync).
	ReplaceLicenses(ctx context.Context, tokenID string, licenses []License) error
	// ReplaceHolderLicenses makes the licenses the holders h (users and devices) hold at the token
	// exactly the given set (after reading those holders' licenses at Apple).
	ReplaceHolderLicenses(ctx context.Context, tokenID string, h Holders, licenses []License) error
	// ReplaceAssetLicenses makes the licenses of one asset (adamID, pricingParam) that the holders
	// h hold exactly the given set, which must all be of that asset; nil h means every holder
	// (after reading the asset's assignments at Apple).
	ReplaceAssetLicenses(ctx context.Context, tokenID, adamID, pricingParam string, h *Holders, licenses []License) error
	ListLicenses(ctx context.Context, tokenID string) ([]License, error)
	// ListHolderLicenses lists the token's licenses of one asset held by the holders, in no set
	// order.
	ListHolderLicenses(ctx context.Context, tokenID, adamID, pricingParam string, h Holders) ([]License, error)
	// EachLicense calls fn for each of the token's licenses, in ListLicenses' order (the users'
	// by asset and clientUserId, then the devices' by asset and serial number), without holding
	// them all (a full sync compares hundreds of thousands). An error from fn stops it.
	EachLicense(ctx context.Context, tokenID string, fn func(License) error) error

	// ReplaceDeliveries makes the assignment's deliveries exactly the given set.
	ReplaceDeliveries(ctx context.Context, assignmentID string, ds []Delivery) error
	ListDeliveries(ctx context.Context, assignmentID string) ([]Delivery, error)
	// ListTokenDeliveries lists the deliveries of every assignment of the token, by assignment
	// and email.
	ListTokenDeliveries(ctx context.Context, tokenID string) ([]Delivery, error)
	// UpdateDeliveries writes the assignment's deliveries ds (each inserted, or replacing the one
	// of its email) and removes those of the emails in remove; the others stay.
	UpdateDeliveries(ctx context.Context, assignmentID string, ds []Delivery, remove []string) error
	// ListDeliveriesInState lists the assignment's deliveries in one state, by email.
	ListDeliveriesInState(ctx context.Context, assignmentID, state string) ([]Delivery, error)
	// ListOpenDeliveries lists, by assignment and email, the deliveries of the token's assignments
	// (of one book when adamID is not empty) that rule does not settle.
	ListOpenDeliveries(ctx context.Context, tokenID, adamID, pricingParam string, rule SettledRule) ([]Delivery, error)
	// CountDeliveries counts the assignment's deliveries.
	CountDeliveries(ctx context.Context, assignmentID string) (int, error)
	// CountDeliveriesByState counts the assignment's deliveries in each state (states with none
	// are left out).
	CountDeliveriesByState(ctx context.Context, assignmentID string) (map[string]int, error)

	// InsertJournal stores e and returns its ID.
	InsertJournal(ctx context.Context, e JournalEntry) (int64, error)
	// UpdateJournal records e's state, event id, error and time; an entry's operation and payload
	// stay as inserted, since they are what a later run reconciles against.
	UpdateJournal(ctx context.Context, e JournalEntry) error
	// ListOpenJournal lists the token's entries not settled or failed, oldest first.
	ListOpenJournal(ctx context.Context, tokenID string) ([]JournalEntry, error)

	InsertSyncRun(ctx context.Context, r SyncRun) (int64, error)
	UpdateSyncRun(ctx context.Context, r SyncRun) error
	// ListSyncRuns lists a token's sync runs ("" = all), oldest first.
	ListSyncRuns(ctx context.Context, tokenID string) ([]SyncRun, error)

	InsertAudit(ctx context.Context, a AuditEntry) error
	// ListAudit lists a token's audit entries ("" = all), oldest first.
	ListAudit(ctx context.Context, tokenID string) ([]AuditEntry, error)
	// FindAudit lists the audit entries f selects, oldest first (in the order they were written),
	// each with the journal entry of its event.
	FindAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
}
