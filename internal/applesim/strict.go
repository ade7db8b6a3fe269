package applesim

import (
	"fmt"
	"slices"
	"strings"
)

// Kinds of Violation.
const (
	// ViolationReassociate: an associate task for an (asset, clientUserId) or (asset,
	// serialNumber) pair that already holds the asset.
	ViolationReassociate = "reassociate"
	// ViolationSecondUser: users/create made a new active user whose email or managedAppleId
	// is the email or managedAppleId of another active user of the location.
	ViolationSecondUser = "second_user"
	// ViolationRecreate: users/create for a clientUserId that is already active (9716).
	ViolationRecreate = "recreate"
)

// Violation is a double spend detected in strict mode: a request the simulator still answers as
// Apple would, but that a careful client never sends. It is not part of Apple's API.
type Violation struct {
	Kind         string // one of the Violation* constants
	LocationUID  string
	AdamID       string // reassociate: the asset
	PricingParam string // reassociate: the asset's quality
	ClientUserID string // the user concerned; empty for a device
	Email        string // recreate: the requested email; second_user: the shared address, normalised
	Detail       string // human-readable description, naming the device or the other user
}

// SetStrict turns strict mode on or off. While it is on, the background worker records every
// double spend it processes (see the Violation* kinds); behaviour and responses do not change.
// Test hook, not part of Apple's API.
func (s *Server) SetStrict(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = on
}

// Violations returns a copy of the violations recorded so far, in the order recorded.
// Test hook, not part of Apple's API.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// ResetViolations forgets the recorded violations. Test hook, not part of Apple's API.
func (s *Server) ResetViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

// violationLocked records a violation at loc if strict mode is on.
func (s *Server) violationLocked(loc *location, v Violation) {
	if !s.strict {
		return
	}
	v.LocationUID = loc.UID
	s.violations = append(s.violations, v)
}

// checkSecondUserLocked records a second_user violation for each other active user (another
// clientUserId) that shares an address with the new user u: addresses are the email and the
// managedAppleId, compared trimmed and case-insensitively. It scans every user, so it runs only
// in strict mode.
func (s *Server) checkSecondUserLocked(loc *location, u *user) {
	if !s.strict {
		return
	}
	mine := personAddresses(u)
	if len(mine) == 0 {
		return
	}
	for _, other := range loc.Users {
		if !other.isActive() || other.ClientUserID == u.ClientUserID {
			continue
		}
		for _, addr := range personAddresses(other) {
			if slices.Contains(mine, addr) {
				s.violationLocked(loc, Violation{
					Kind:         ViolationSecondUser,
					ClientUserID: u.ClientUserID,
					Email:        addr,
					Detail: fmt.Sprintf("users/create made user %q (%s) although active user %q has address %q",
						u.ClientUserID, u.Status, other.ClientUserID, addr),
				})
				break
			}
		}
	}
}

// personAddresses returns a user's normalised email and managedAppleId, without empties.
func personAddresses(u *user) []string {
	var out []string
	for _, a := range []string{u.Email, u.ManagedAppleID} {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
