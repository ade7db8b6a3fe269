package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels for errors.Is. The typed errors below match them too, so the provider can choose a
// diagnostic by kind and still print the typed error's full text.
var (
	ErrInvalidInput       = errors.New("invalid input")
	ErrNotFound           = errors.New("not found")
	ErrDuplicateLocation  = errors.New("duplicate location")
	ErrExternalMDM        = errors.New("location managed by another MDM")
	ErrAccountType        = errors.New("account type mismatch")
	ErrLocationChanged    = errors.New("token belongs to another location")
	ErrTokenUnusable      = errors.New("token unusable")
	ErrNotEnoughLicenses  = errors.New("not enough licenses")
	ErrDeliveryIncomplete = errors.New("delivery incomplete")
)

// NotFoundError names the missing object.
type NotFoundError struct {
	Kind string // token, book, group, assignment
	ID   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found in the engine's database", e.Kind, e.ID)
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// DuplicateLocationError: the location of a new token is already managed through another token.
type DuplicateLocationError struct {
	LocationName    string
	LocationUID     string
	ExistingTokenID string
}

func (e *DuplicateLocationError) Error() string {
	return fmt.Sprintf("location %q (uId %s) is already held by vpp_token %s in this engine; one location has one "+
		"token record, and a second would share and then erase its books, users and assignments. To manage the "+
		"location from this configuration as well, import that token (an import block with id = %q) instead of "+
		"creating another; to replace its token file, renew it in place (change its token, or token_wo_version)",
		e.LocationName, e.LocationUID, e.ExistingTokenID, e.ExistingTokenID)
}

func (e *DuplicateLocationError) Is(target error) bool { return target == ErrDuplicateLocation }

// ExternalMDMError: Apple's client config names another management system for the location.
type ExternalMDMError struct {
	LocationName string
	MDMName      string
	MDMID        string
}

func (e *ExternalMDMError) Error() string {
	return fmt.Sprintf("location %q is managed by another system (%q, id %s). Two systems managing one location "+
		"can lose license assignments and user records. Remove the token from the other system, or set "+
		"take_over_from_other_mdm = true to make this provider the location's manager",
		e.LocationName, e.MDMName, e.MDMID)
}

func (e *ExternalMDMError) Is(target error) bool { return target == ErrExternalMDM }

// AccountTypeError: the configured account type does not match Apple's store for the location.
type AccountTypeError struct {
	Configured string
	Actual     string
}

func (e *AccountTypeError) Error() string {
	return fmt.Sprintf("account_type is %q but Apple reports this location as %q (enterprisestore is business, "+
		"volumestore is education); set account_type = %q", e.Configured, e.Actual, e.Actual)
}

func (e *AccountTypeError) Is(target error) bool { return target == ErrAccountType }

// LocationChangedError: a renewal token belongs to another location than the one it replaces.
type LocationChangedError struct {
	Current, New string
}

func (e *LocationChangedError) Error() string {
	return fmt.Sprintf("the new token file belongs to location %q, but this token manages %q; a renewal must come "+
		"from the same location. Download the token for %q, or create a separate vpp_token for %q",
		e.New, e.Current, e.Current, e.New)
}

func (e *LocationChangedError) Is(target error) bool { return target == ErrLocationChanged }

// TokenUnusableError: Apple refuses the token (expired, revoked or invalid).
type TokenUnusableError struct {
	TokenID string
	State   string
	Cause   error
}

func (e *TokenUnusableError) Error() string {
	var advice string
	switch e.State {
	case StateExpired:
		advice = "tokens last one year; download a new one in Apple Business Manager or Apple School Manager " +
			"(Settings > Payments and Billing > Content Tokens) and renew the vpp_token in place"
	case StateRevoked:
		advice = "Apple revoked it; download a new token for the location and renew the vpp_token in place"
	default:
		advice = "Apple does not accept it; a token becomes invalid when the password of the Managed Apple Account " +
			"that downloaded it changes. Download a new token and renew the vpp_token in place"
	}
	which := "the token file"
	if e.TokenID != "" {
		which = "token " + e.TokenID
	}
	return fmt.Sprintf("%s is %s: %s (Apple: %v)", which, e.State, advice, e.Cause)
}

func (e *TokenUnusableError) Is(target error) bool { return target == ErrTokenUnusable }

func (e *TokenUnusableError) Unwrap() error { return e.Cause }

// ShortageError: a book's assignments need more licenses now than the book has available.
type ShortageError struct {
	BookID    string
	BookTitle string
	// GroupID and GroupName are the first group in Demand.
	GroupID   string
	GroupName string
	Needed    int
	Available int
	// Demand lists every group with members waiting for the book, by name.
	Demand []GroupDemand
}

// GroupDemand is what one group needs of a book now.
type GroupDemand struct {
	GroupID               string
	GroupName             string
	Needed                int
	AllowOversubscription bool
}

func (e *ShortageError) Error() string {
	short := e.Needed - e.Available
	fixes := fmt.Sprintf("Buy at least %d more licenses in Apple Business Manager or Apple School Manager and sync, or set "+
		"allow_oversubscription = true to license members in email order until licenses run out", short)
	if len(e.Demand) <= 1 {
		return fmt.Sprintf("book %q (%s) has %d available licenses but group %q needs %d now: %d short. %s",
			e.BookTitle, e.BookID, e.Available, e.GroupName, e.Needed, short, fixes)
	}
	parts := make([]string, len(e.Demand))
	for i, d := range e.Demand {
		parts[i] = fmt.Sprintf("group %q %d", d.GroupName, d.Needed)
	}
	return fmt.Sprintf("book %q (%s) has %d available licenses but its assignments need %d now (%s; a member of "+
		"several groups counts once): %d short. %s on every assignment of the book, or assign it to fewer groups",
		e.BookTitle, e.BookID, e.Available, e.Needed, strings.Join(parts, ", "), short, fixes)
}

func (e *ShortageError) Is(target error) bool { return target == ErrNotEnoughLicenses }

// IncompleteError: delivery stopped with work left (an event still pending at Apple, or a
// failure); the next apply resumes it.
type IncompleteError struct {
	AssignmentID string
	Pending      int
	Failed       int
	Reason       string
	Since        time.Time
}

func (e *IncompleteError) Error() string {
	what := "delivery"
	if e.AssignmentID != "" {
		what = "delivery of assignment " + e.AssignmentID
	}
	return fmt.Sprintf("%s is incomplete: %d pending, %d failed (%s); run apply again to resume",
		what, e.Pending, e.Failed, e.Reason)
}

func (e *IncompleteError) Is(target error) bool { return target == ErrDeliveryIncomplete }
