package applesim

import (
	"fmt"
	"net/mail"
	"strings"
)

type requestUser struct {
	ClientUserID   string  `json:"clientUserId"`
	Email          *string `json:"email,omitempty"`
	ManagedAppleID *string `json:"managedAppleId,omitempty"`
}

type manageUsersRequest struct {
	Users []requestUser `json:"users"`
}

type responseUser struct {
	ClientUserID string `json:"clientUserId"`
	Email        string `json:"email,omitempty"`
	IDHash       string `json:"idHash,omitempty"`
	InviteCode   string `json:"inviteCode,omitempty"`
	Status       string `json:"status"`
}

type getUsersResponse struct {
	Users []responseUser `json:"users"`
	pageInfo
	envelope
}

// getUsers serves GET /users. retiredOnly lists Retired and Deleted users; activeOnly lists
// Registered and Associated ones.
func (s *Server) getUsers(c *call) (any, *apiError) {
	q := newQuery(c.r.URL)
	activeOnly, _ := q.boolean("activeOnly")
	retiredOnly, _ := q.boolean("retiredOnly")
	clientUserID := q.str("clientUserId")
	return serveList(s, c, q, listing[*user]{
		dataset: dsUsers,
		since:   q.str("sinceVersionId"),
		records: func(loc *location) []*user { return loc.Users },
		skip: func(_ *location, u *user, sinceSeq int64) bool {
			return u.ModSeq <= sinceSeq ||
				activeOnly && !u.isActive() ||
				retiredOnly && u.isActive() ||
				clientUserID != "" && u.ClientUserID != clientUserID
		},
		answer: usersResponse,
	})
}

// usersResponse answers a page of users.
func usersResponse(p listPage[*user]) any {
	resp := getUsersResponse{
		Users:    make([]responseUser, 0, len(p.records)),
		pageInfo: p.pageInfo,
		envelope: p.envelope,
	}
	for _, u := range p.records {
		resp.Users = append(resp.Users, responseUser{
			ClientUserID: u.ClientUserID,
			Email:        u.Email,
			IDHash:       u.IDHash,
			InviteCode:   u.InviteCode,
			Status:       u.Status,
		})
	}
	return resp
}

func (s *Server) createUsers(c *call) (any, *apiError) { return s.manageUsers(c, EventCreate) }
func (s *Server) updateUsers(c *call) (any, *apiError) { return s.manageUsers(c, EventUpdate) }
func (s *Server) retireUsers(c *call) (any, *apiError) { return s.manageUsers(c, EventRetire) }

// manageUsers validates POST /users/create, /update and /retire (presence, duplicates, limit,
// email syntax) and accepts them as an event.
func (s *Server) manageUsers(c *call, eventType string) (any, *apiError) {
	var req manageUsersRequest
	if aerr := decodeBody(c.body, &req); aerr != nil {
		return nil, aerr
	}
	if len(req.Users) == 0 {
		return nil, errorFor(9720)
	}
	ids := make([]string, len(req.Users))
	for i, u := range req.Users {
		if u.ClientUserID == "" {
			return nil, s.emptyClientUserIDError()
		}
		ids[i] = u.ClientUserID
	}
	if d := duplicates(ids); len(d) > 0 {
		return nil, errorFor(9715).withInfo(&errorInfo{ClientUserIDs: d})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req.Users) > s.limitLocked(LimitMaxUsers) {
		return nil, errorFor(9714)
	}
	if eventType != EventRetire {
		for _, u := range req.Users {
			if u.Email != nil && *u.Email != "" && !validEmail(*u.Email) {
				return nil, errorFor(9717).withInfo(&errorInfo{ClientUserIDs: []string{u.ClientUserID}})
			}
		}
	}
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	return s.acceptLocked(tok, loc, &event{Type: eventType, NumRequested: len(req.Users), Users: req.Users}), nil
}

// emptyClientUserIDError is the synchronous error for an empty clientUserId in a request.
//
// apple-api.md §4.8 marks RequestUser.clientUserId "required", but neither the v2 tables (§11.1)
// nor any example give a number for an empty or missing one. The candidates are:
//   - 9602 "Invalid argument" (HTTP 400): a documented v2 synchronous error, listed in Apple's
//     service config errorCodes, whose meaning covers a malformed field;
//   - 9720 "users missing" / 9719 "clientUserIds and serialNumbers missing": documented, but
//     about the whole array, which is present here;
//   - 9600 "missing required argument": the precise meaning, but v1 only (§11.3), absent from
//     every v2 table and from the service config example.
//
// 9602 is the default because it is the only documented v2 number whose meaning fits; it is what
// the simulator has always answered. Quirks.EmptyClientUserIDError picks another.
func (s *Server) emptyClientUserIDError() *apiError {
	if n := s.opts.Quirks.EmptyClientUserIDError; n != 0 {
		return errorFor(n)
	}
	return errorFor(9602)
}

// validEmail accepts a bare address such as "a@example.com".
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// manageUsersLocked applies the tasks [from, to) of a user event: one task per user, in request
// order.
func (s *Server) manageUsersLocked(loc *location, ev *event, ch *changes, from, to int) {
	for _, ru := range ev.Users[from:to] {
		var number int
		switch ev.Type {
		case EventCreate:
			number = s.createUserLocked(loc, ch, ru)
		case EventUpdate:
			number = s.updateUserLocked(loc, ch, ru)
		case EventRetire:
			number = s.retireUserLocked(loc, ch, ru)
		}
		if number != 0 {
			ev.fail(number, nil, target{user: ru.ClientUserID})
			continue
		}
		ev.NumCompleted++
	}
}

// checkAccountLocked applies the Managed Apple Account rules: the account must belong to the
// organisation (9635) and not already belong to another active user (9641).
func checkAccountLocked(loc *location, managedAppleID string, self *user) int {
	if !loc.accountAllowed(managedAppleID) {
		return 9635
	}
	if loc.accountOwner(managedAppleID, self) != nil {
		return 9641
	}
	return 0
}

func (s *Server) createUserLocked(loc *location, ch *changes, ru requestUser) int {
	u := &user{ClientUserID: ru.ClientUserID}
	if ru.Email != nil {
		u.Email = *ru.Email
	}
	if loc.active[ru.ClientUserID] != nil {
		s.violationLocked(loc, Violation{
			Kind:         ViolationRecreate,
			ClientUserID: u.ClientUserID,
			Email:        u.Email,
			Detail:       fmt.Sprintf("users/create for clientUserId %q, which is already active (9716)", u.ClientUserID),
		})
		return 9716
	}
	if ru.ManagedAppleID != nil && *ru.ManagedAppleID != "" {
		if n := checkAccountLocked(loc, *ru.ManagedAppleID, nil); n != 0 {
			return n
		}
		u.ManagedAppleID = *ru.ManagedAppleID
	}
	s.addUserLocked(loc, ch, u)
	s.checkSecondUserLocked(loc, u)
	return 0
}

// addUserLocked makes a new user record the active user of its clientUserId: Associated at once
// with its Managed Apple Account, else Registered with a fresh invite code.
func (s *Server) addUserLocked(loc *location, ch *changes, u *user) {
	u.Status = StatusRegistered
	if u.ManagedAppleID == "" {
		u.InviteCode = newInviteCode()
	}
	u.pos = len(loc.Users)
	loc.Users = append(loc.Users, u)
	loc.known[u.ClientUserID] = true
	loc.active[u.ClientUserID] = u
	loc.indexAddresses(u, nil)
	if u.ManagedAppleID != "" {
		s.associateUserLocked(loc, ch, u, u.ManagedAppleID)
	}
	u.ModSeq = ch.seq(dsUsers)
}

func (s *Server) updateUserLocked(loc *location, ch *changes, ru requestUser) int {
	u := loc.active[ru.ClientUserID]
	if u == nil {
		return 9609
	}
	before := personAddresses(u)
	if ru.ManagedAppleID != nil && *ru.ManagedAppleID != "" && !strings.EqualFold(*ru.ManagedAppleID, u.ManagedAppleID) {
		if n := checkAccountLocked(loc, *ru.ManagedAppleID, u); n != 0 {
			return n
		}
		u.ManagedAppleID = *ru.ManagedAppleID
		s.associateUserLocked(loc, ch, u, u.ManagedAppleID)
	}
	if ru.Email != nil {
		u.Email = *ru.Email
	}
	loc.indexAddresses(u, before)
	u.ModSeq = ch.seq(dsUsers)
	return 0
}

func (s *Server) retireUserLocked(loc *location, ch *changes, ru requestUser) int {
	u := loc.active[ru.ClientUserID]
	if u == nil {
		return 9609
	}
	u.Status = StatusRetired
	u.ModSeq = ch.seq(dsUsers)
	delete(loc.active, u.ClientUserID)
	s.releaseLocked(loc, ch, map[string]bool{u.ClientUserID: true}, nil)
	return 0
}

// associateUserLocked links an Apple Account to an active user. A retired record of the same
// clientUserId linked to the same account becomes Deleted, as in v1.
func (s *Server) associateUserLocked(loc *location, ch *changes, u *user, account string) {
	u.Status = StatusAssociated
	u.IDHash = accountHash(account)
	for _, old := range loc.Users {
		if old != u && old.Status == StatusRetired && old.ClientUserID == u.ClientUserID && old.IDHash == u.IDHash {
			old.Status = StatusDeleted
			old.ModSeq = ch.seq(dsUsers)
		}
	}
}
