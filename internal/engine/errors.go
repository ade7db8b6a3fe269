package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

// The engine's errors carry domain facts only: what is wrong, with which book, group, token or
// location, and Apple's error number when Apple gave one. They name no Terraform attribute and say
// nothing of how a caller fixes its configuration: the provider's diagnostics (one place) add the
// attribute to blame and what to do. Their Error() texts are sentences for logs and for the
// records the engine keeps (a token's state detail, a member's delivery detail).
//
// Sentinels for errors.Is. The typed errors below match them, so a caller can choose by kind and
// still read the typed error's facts with errors.As.
var (
	ErrInvalidInput       = errors.New("invalid input")
	ErrNotFound           = errors.New("not found")
	ErrAmbiguous          = errors.New("ambiguous")
	ErrDuplicateLocation  = errors.New("duplicate location")
	ErrExternalMDM        = errors.New("location managed by another MDM")
	ErrAccountType        = errors.New("account type mismatch")
	ErrLocationChanged    = errors.New("token belongs to another location")
	ErrTokenUnusable      = errors.New("token unusable")
	ErrNotEnoughLicenses  = errors.New("not enough licenses")
	ErrDeliveryIncomplete = errors.New("delivery incomplete")
	ErrBusy               = errors.New("token busy")
	// ErrOutcomeUnknown: a request reached Apple, or may have, and its answer was lost, so whether
	// Apple applied it is not known. The next run reads Apple's records before it sends anything.
	ErrOutcomeUnknown = apple.ErrOutcomeUnknown
)

// Kinds of record, in NotFoundError.
const (
	KindToken      = "token"
	KindBook       = "book"
	KindApp        = "app"
	KindGroup      = "group"
	KindAssignment = "assignment"
)

// NotFoundError names the missing record. In is the token whose books were searched, for a book.
type NotFoundError struct {
	Kind string // KindToken, KindBook, KindGroup, KindAssignment
	ID   string
	In   string
}

func (e *NotFoundError) Error() string {
	if e.Kind == KindBook && e.In != "" {
		return fmt.Sprintf("book %s is not among the books of token %s", e.ID, e.In)
	}
	return fmt.Sprintf("%s %q not found in the engine's database", e.Kind, e.ID)
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// BookQueryError: a lookup of one book (or app: Kind) matched none, or several (Matches, by id).
type BookQueryError struct {
	Kind                             string // KindBook ("" too) or KindApp
	AdamID, BundleID, TokenID, Title string
	Matches                          []string
}

func (e *BookQueryError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = KindBook
	}
	what := e.Criteria("adamId", "bundle id", "title", "token")
	if len(e.Matches) == 0 {
		return fmt.Sprintf("no purchased %s matches %s", kind, what)
	}
	return fmt.Sprintf("%d %ss match %s (%s)", len(e.Matches), kind, what, strings.Join(e.Matches, ", "))
}

// Criteria describes what was looked for ("adamId "1" and token "t"), under the names given for
// the adamId, the bundle id, the title (an app's name) and the token.
func (e *BookQueryError) Criteria(adamID, bundleID, title, token string) string {
	var parts []string
	for _, c := range [][2]string{{adamID, e.AdamID}, {bundleID, e.BundleID}, {title, e.Title}, {token, e.TokenID}} {
		if c[1] != "" {
			parts = append(parts, fmt.Sprintf("%s %q", c[0], c[1]))
		}
	}
	return strings.Join(parts, " and ")
}

func (e *BookQueryError) Is(target error) bool {
	if len(e.Matches) == 0 {
		return target == ErrNotFound
	}
	return target == ErrAmbiguous
}

// BookIDError: text that is not a book id (BookID: the token record's id, Apple's adamId and
// pricingParam, joined by colons).
type BookIDError struct{ Input string }

func (e *BookIDError) Error() string {
	return fmt.Sprintf("book id %s is not of the form <token>:<adamId>:<pricingParam>", QuoteInput(e.Input))
}

func (e *BookIDError) Is(target error) bool { return target == ErrInvalidInput }

// AssignmentExistsError: the book is already assigned to the group, by another assignment record
// (ExistingID, "" when a concurrent writer's record is not known yet).
type AssignmentExistsError struct {
	Kind            string // KindBook ("" too) or KindApp
	BookID, GroupID string
	ExistingID      string
	Intent          string
}

func (e *AssignmentExistsError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = KindBook
	}
	if e.ExistingID == "" {
		return fmt.Sprintf("%s %s is already assigned to group %s by another assignment", kind, e.BookID, e.GroupID)
	}
	return fmt.Sprintf("%s %s is already assigned to group %s by assignment %s (intent %q)", kind, e.BookID, e.GroupID, e.ExistingID, e.Intent)
}

func (e *AssignmentExistsError) Is(target error) bool { return target == ErrInvalidInput }

// ReclaimError: Apple did not take back Remaining licenses of app AdamID that removing an
// assignment frees; ErrorNumber and Detail are the first failure Apple named (0 and "" when it named
// none). The assignment is kept, so that removing it again retries them.
type ReclaimError struct {
	AdamID      string
	Remaining   int
	ErrorNumber int
	Detail      string
}

func (e *ReclaimError) Error() string {
	why := ""
	if e.ErrorNumber != 0 {
		why = fmt.Sprintf(" (Apple error %d: %s)", e.ErrorNumber, e.Detail)
	}
	return fmt.Sprintf("Apple did not take back %d licenses of app %s%s; the assignment is kept so that removing it again retries them", e.Remaining, e.AdamID, why)
}

// DuplicateLocationError: the location of a new token is already managed through another token
// record (ExistingTokenID; "" when the holder is a record being created at the same time).
type DuplicateLocationError struct {
	LocationName    string
	LocationUID     string
	ExistingTokenID string
}

func (e *DuplicateLocationError) Error() string {
	return fmt.Sprintf("location %q (uId %s) is already held by %s in this engine; one location has one token record, "+
		"and a second would share and then erase its books, users and assignments", e.LocationName, e.LocationUID,
		named("token ", e.ExistingTokenID, "another token record"))
}

func (e *DuplicateLocationError) Is(target error) bool { return target == ErrDuplicateLocation }

// ExternalMDMError: Apple's client config names another management system for the location.
// MDMName and MDMID are Apple's; both are empty when the verdict was recorded earlier (Recorded,
// its detail as recorded).
type ExternalMDMError struct {
	TokenID      string
	LocationName string
	MDMName      string
	MDMID        string
	Recorded     string
}

func (e *ExternalMDMError) Error() string {
	if e.MDMName == "" && e.MDMID == "" && e.Recorded != "" {
		return e.Recorded
	}
	return fmt.Sprintf("location %q is managed by another system (%q, id %s); two systems managing one location can "+
		"lose license assignments and user records", e.LocationName, e.MDMName, e.MDMID)
}

func (e *ExternalMDMError) Is(target error) bool { return target == ErrExternalMDM }

// AccountTypeError: the account type given does not match Apple's store for the location.
type AccountTypeError struct {
	Configured string
	Actual     string
}

func (e *AccountTypeError) Error() string {
	return fmt.Sprintf("the account type given is %q but Apple reports this location as %q (enterprisestore is "+
		"business, volumestore is education)", e.Configured, e.Actual)
}

func (e *AccountTypeError) Is(target error) bool { return target == ErrAccountType }

// LocationChangedError: a renewal token belongs to another location than the one it replaces.
// CurrentName is empty when the record's name is not known (a record being rebuilt).
type LocationChangedError struct {
	CurrentName, CurrentUID string
	NewName, NewUID         string
}

func (e *LocationChangedError) Error() string {
	return fmt.Sprintf("the new token file belongs to location %s, but this token manages %s; a renewal must come "+
		"from the same location", describeLocation(e.NewName, e.NewUID), describeLocation(e.CurrentName, e.CurrentUID))
}

func (e *LocationChangedError) Is(target error) bool { return target == ErrLocationChanged }

// named is how an error names something: kind and its id ("token " and an id), or unnamed when
// there is no id.
func named(kind, id, unnamed string) string {
	if id == "" {
		return unnamed
	}
	return kind + id
}

func describeLocation(name, uid string) string {
	switch {
	case name == "":
		return "uId " + uid
	case uid == "":
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q (uId %s)", name, uid)
}

// TokenUnusableError: Apple refuses the token (expired, revoked or invalid). Cause is Apple's
// refusal; Recorded the detail of a verdict recorded earlier, when there is no new refusal.
type TokenUnusableError struct {
	TokenID  string
	State    string // StateExpired, StateRevoked, StateInvalid
	Cause    error
	Recorded string
	// ExpiredAt is the token file's expiry, when the engine's clock (not Apple) found it past.
	ExpiredAt time.Time
}

func (e *TokenUnusableError) Error() string {
	which := named("token ", e.TokenID, "the token file")
	switch {
	case e.Cause != nil:
		return fmt.Sprintf("%s is %s (Apple: %v)", which, e.State, e.Cause)
	case !e.ExpiredAt.IsZero():
		return fmt.Sprintf("%s expired on %s", which, e.ExpiredAt.UTC().Format(time.RFC3339))
	case e.Recorded != "":
		return e.Recorded
	}
	return fmt.Sprintf("%s is %s", which, e.State)
}

func (e *TokenUnusableError) Is(target error) bool { return target == ErrTokenUnusable }

func (e *TokenUnusableError) Unwrap() error { return e.Cause }

// ShortageError: a book's (or an app's: Kind) assignments need more licenses now than it has
// available.
type ShortageError struct {
	Kind      string // KindBook ("" too) or KindApp
	BookID    string
	BookTitle string // the book's title, or the app's name
	// GroupID and GroupName are the first group in Demand.
	GroupID   string
	GroupName string
	Needed    int
	Available int
	// Demand lists every group with members waiting for the book, by name.
	Demand []GroupDemand
}

// GroupDemand is what one group needs of a book (or app) now.
type GroupDemand struct {
	GroupID   string
	GroupName string
	// Devices says the group is a device group: its members are devices.
	Devices               bool
	Needed                int
	AllowOversubscription bool
}

// Short is how many licenses are missing.
func (e *ShortageError) Short() int { return e.Needed - e.Available }

// Product is what is short of licenses: KindBook or KindApp.
func (e *ShortageError) Product() string {
	if e.Kind == KindApp {
		return KindApp
	}
	return KindBook
}

// group names d's group: "group <name>", or "device group <name>".
func (d GroupDemand) group() string {
	if d.Devices {
		return fmt.Sprintf("device group %q", d.GroupName)
	}
	return fmt.Sprintf("group %q", d.GroupName)
}

func (e *ShortageError) Error() string {
	if len(e.Demand) <= 1 {
		first := GroupDemand{GroupName: e.GroupName}
		if len(e.Demand) == 1 {
			first = e.Demand[0]
		}
		return fmt.Sprintf("%s %q (%s) has %d available licenses but %s needs %d now: %d short",
			e.Product(), e.BookTitle, e.BookID, e.Available, first.group(), e.Needed, e.Short())
	}
	parts := make([]string, len(e.Demand))
	for i, d := range e.Demand {
		parts[i] = fmt.Sprintf("%s %d", d.group(), d.Needed)
	}
	return fmt.Sprintf("%s %q (%s) has %d available licenses but its assignments need %d now (%s; a member or device "+
		"of several groups counts once): %d short", e.Product(), e.BookTitle, e.BookID, e.Available, e.Needed, strings.Join(parts, ", "), e.Short())
}

func (e *ShortageError) Is(target error) bool { return target == ErrNotEnoughLicenses }

// IncompleteError: delivery stopped with work left (an event still pending at Apple, or a
// failure); the next delivery resumes it.
type IncompleteError struct {
	AssignmentID string
	Pending      int
	Failed       int
	Reason       string
	Since        time.Time
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%s is incomplete: %d pending, %d failed (%s)", named("delivery of assignment ", e.AssignmentID, "delivery"),
		e.Pending, e.Failed, e.Reason)
}

func (e *IncompleteError) Is(target error) bool { return target == ErrDeliveryIncomplete }

// BusyError: another run (process or runner sharing the database) held the token's lock for
// longer than this run could wait.
type BusyError struct {
	TokenID string
	Cause   error
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("another run is working on token %s and did not finish in time (%v)", e.TokenID, e.Cause)
}

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

func (e *BusyError) Unwrap() error { return e.Cause }

// ManagedAccountsSwitchError: a group cannot switch to Managed Apple Accounts, because members
// already have VPP users invited to use their own Apple Account (Invited, the first few of them).
type ManagedAccountsSwitchError struct {
	GroupName string
	Count     int
	Invited   []string
}

func (e *ManagedAccountsSwitchError) Error() string {
	return fmt.Sprintf("user group %q cannot switch to Managed Apple Accounts: %d of its members (%s) already have VPP "+
		"users created with an invitation they have not accepted, and Apple keeps them invited, so licenses given "+
		"through the group would wait for invitations that never come", e.GroupName, e.Count, strings.Join(e.Invited, ", "))
}

func (e *ManagedAccountsSwitchError) Is(target error) bool { return target == ErrInvalidInput }

// QuoteInput quotes text a user gave, for a message: escaped (control and invisible characters
// show as \u escapes), and cut to a short prefix when long, so that a mistake the size of a file
// is not echoed back in full.
func QuoteInput(s string) string { return apple.QuotePrefix(s, 80) }
