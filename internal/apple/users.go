package apple

import (
	"context"
	"fmt"
	"net/url"
)

// Values of User.Status and Assignment.UserStatus.
const (
	UserRegistered = "Registered" // created, no Apple Account yet: has an InviteCode
	UserAssociated = "Associated" // linked to an Apple Account: has an IDHash
	UserRetired    = "Retired"
	UserDeleted    = "Deleted"
)

// User is Apple's ResponseUser. Several entries may share a ClientUserID:
// retired ones and at most one active one.
type User struct {
	ClientUserID string `json:"clientUserId"`
	Email        string `json:"email"`
	IDHash       string `json:"idHash"`
	InviteCode   string `json:"inviteCode"`
	Status       string `json:"status"`
}

// UserQuery holds the filters of Get Users; zero values are not sent.
type UserQuery struct {
	ActiveOnly   bool
	RetiredOnly  bool
	ClientUserID string
	// SinceVersionID asks only for users changed since that versionId.
	SinceVersionID string
}

func (q UserQuery) values() url.Values {
	v := url.Values{}
	if q.ActiveOnly {
		v.Set("activeOnly", "true")
	}
	if q.RetiredOnly {
		v.Set("retiredOnly", "true")
	}
	setString(v, "clientUserId", q.ClientUserID)
	setString(v, "sinceVersionId", q.SinceVersionID)
	return v
}

// UserList is the whole result of Get Users.
type UserList struct {
	Envelope
	// VersionID is the first page's versionId, for a later SinceVersionID.
	VersionID string
	Users     []User
}

type usersPage struct {
	pageFields
	Users []User `json:"users"`
}

func (p *usersPage) items() []User { return p.Users }

// GetUsers lists all users matching q, walking every page.
func (c *Client) GetUsers(ctx context.Context, q UserQuery) (*UserList, error) {
	list, err := walkItems(ctx, c, "/users", q.values(), (*usersPage).items)
	if err != nil {
		return nil, err
	}
	return &UserList{Envelope: list.Envelope, VersionID: list.VersionID, Users: list.Items}, nil
}

// EachUser walks the users matching q page by page, handing each page's users to fn in order
// while the next pages are fetched, so that a long list is never held whole. restart is true for
// the first page, and again when the list changed under the walk and it started over: fn must
// then forget what it saw. It returns the walk's versionId, for a later SinceVersionID.
func (c *Client) EachUser(ctx context.Context, q UserQuery, fn func(restart bool, users []User) error) (string, error) {
	return walkEachItems(ctx, c, "/users", q.values(), (*usersPage).items, fn)
}

// RequestUser is Apple's RequestUser.
type RequestUser struct {
	ClientUserID string `json:"clientUserId"`
	Email        string `json:"email,omitempty"`
	// ManagedAppleID associates the user at once when the Managed Apple
	// Account belongs to the organisation.
	ManagedAppleID string `json:"managedAppleId,omitempty"`
}

type manageUsersRequest struct {
	Users []RequestUser `json:"users"`
}

func (r manageUsersRequest) validate(lim Limits) error {
	if len(r.Users) == 0 {
		return fmt.Errorf("apple: %w: users is empty", ErrInvalidRequest)
	}
	ids := make([]string, len(r.Users))
	for i, u := range r.Users {
		ids[i] = u.ClientUserID
	}
	if err := checkDistinct("users", ids); err != nil {
		return err
	}
	return checkCount("users", len(r.Users), lim.MaxUsers)
}

// CreateUsers registers users (POST /users/create); errors as for
// AssociateAssets. Use SplitUsers to respect the size limit.
func (c *Client) CreateUsers(ctx context.Context, users []RequestUser) (*EventResponse, error) {
	return c.postEvent(ctx, "/users/create", manageUsersRequest{Users: users})
}

// UpdateUsers changes the email or Managed Apple Account of existing users
// (POST /users/update); errors as for AssociateAssets.
func (c *Client) UpdateUsers(ctx context.Context, users []RequestUser) (*EventResponse, error) {
	return c.postEvent(ctx, "/users/update", manageUsersRequest{Users: users})
}

// RetireUsers retires users (POST /users/retire), releasing their revocable
// licenses; errors as for AssociateAssets. Only ClientUserID is sent.
func (c *Client) RetireUsers(ctx context.Context, users []RequestUser) (*EventResponse, error) {
	ids := make([]RequestUser, len(users))
	for i, u := range users {
		ids[i] = RequestUser{ClientUserID: u.ClientUserID}
	}
	return c.postEvent(ctx, "/users/retire", manageUsersRequest{Users: ids})
}
