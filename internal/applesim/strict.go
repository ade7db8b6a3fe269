package applesim

import (
	"encoding/json"
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
	// ViolationReplay: a POST to /assets/associate, /assets/disassociate or /users/create that
	// carries an (asset, clientUserId or serialNumber) pair, or for users/create a clientUserId,
	// of an earlier POST to the same endpoint at the same location that the simulator applied and
	// then faulted (FaultResetAfter, FaultInternalErrorAfter, FaultUnavailableAfter): the client
	// resent a write whose outcome it did not know instead of reconciling first. Recorded once
	// per request, for requests that pass authentication and the rate limit, in addition to any
	// reassociate or recreate the replay causes.
	ViolationReplay = "replay"
)

// Violation is a double spend detected in strict mode: a request the simulator still answers as
// Apple would, but that a careful client never sends. It is not part of Apple's API.
type Violation struct {
	Kind         string // one of the Violation* constants
	LocationUID  string
	AdamID       string // reassociate, replay: the asset
	PricingParam string // reassociate, replay: the asset's quality
	ClientUserID string // the user concerned; empty for a device
	Email        string // recreate: the requested email; second_user: the shared address, normalised
	Detail       string // human-readable description, naming the device or the other user
}

// SetStrict turns strict mode on or off. While it is on, the background worker records every
// double spend it processes, and the server every replayed write (see the Violation* kinds);
// behaviour and responses do not change.
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
// managedAppleId, compared trimmed and case-insensitively. Violations follow the order of the
// other users' records in the location. It looks the candidates up in the location's address
// index, checking each (still active, still with that address) and dropping the stale ones, so
// each call costs O(1) amortised plus its violations. It runs only in strict mode.
func (s *Server) checkSecondUserLocked(loc *location, u *user) {
	if !s.strict {
		return
	}
	mine := personAddresses(u)
	var others []*user
	for _, addr := range mine {
		ids := loc.byAddress[addr]
		var seen map[string]bool
		if len(ids) > 1 {
			seen = make(map[string]bool, len(ids))
		}
		kept := ids[:0]
		for _, id := range ids {
			loc.addressChecks++
			other := loc.active[id]
			if other == nil || !other.isActive() || seen[id] || !slices.Contains(personAddresses(other), addr) {
				continue // stale or duplicate: drop it
			}
			if seen != nil {
				seen[id] = true
			}
			kept = append(kept, id)
			if id != u.ClientUserID && !slices.Contains(others, other) {
				others = append(others, other)
			}
		}
		clear(ids[len(kept):])
		if len(kept) == 0 {
			delete(loc.byAddress, addr)
		} else {
			loc.byAddress[addr] = kept
		}
	}
	slices.SortFunc(others, func(a, b *user) int { return a.pos - b.pos })
	for _, other := range others {
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

// indexAddresses adds u's clientUserId to the address index under each of u's addresses that is
// not in before (u's addresses before a change; nil for a new user). Every created user and every
// change of an email or managedAppleId goes through here, so each active user is listed under
// each of its addresses; stale entries are left for checkSecondUserLocked to drop.
func (l *location) indexAddresses(u *user, before []string) {
	if l.byAddress == nil {
		l.byAddress = map[string][]string{}
	}
	for _, addr := range personAddresses(u) {
		if slices.Contains(before, addr) {
			continue
		}
		ids := l.byAddress[addr]
		if n := len(ids); n > 0 && ids[n-1] == u.ClientUserID {
			continue
		}
		l.byAddress[addr] = append(ids, u.ClientUserID)
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

// replayEndpoints are the writes whose faulted requests strict mode remembers (see
// ViolationReplay), by path below apiPrefix.
var replayEndpoints = map[string]bool{"/assets/associate": true, "/assets/disassociate": true, "/users/create": true}

// replayItems lists what a POST body to a replay endpoint carries, in request order: for
// associate and disassociate one (asset, clientUserId) or (asset, serialNumber) key per task, for
// users/create one clientUserId key per user. An unreadable body carries nothing.
func replayItems(rel string, body []byte) []assignKey {
	var out []assignKey
	if rel == "/users/create" {
		var req manageUsersRequest
		if json.Unmarshal(body, &req) != nil {
			return nil
		}
		for _, u := range req.Users {
			if u.ClientUserID != "" {
				out = append(out, assignKey{user: u.ClientUserID})
			}
		}
		return out
	}
	var req manageAssetsRequest
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	for _, a := range req.Assets {
		a.PricingParam = pricingOrDefault(a.PricingParam)
		for _, u := range req.ClientUserIDs {
			if u != "" {
				out = append(out, assignKey{asset: a, user: u})
			}
		}
		for _, sn := range req.SerialNumbers {
			if sn != "" {
				out = append(out, assignKey{asset: a, serial: sn})
			}
		}
	}
	return out
}

func describeReplayItem(k assignKey) string {
	switch {
	case k.asset.AdamID == "":
		return fmt.Sprintf("clientUserId %q", k.user)
	case k.serial != "":
		return fmt.Sprintf("(%s %s, serialNumber %q)", k.asset.AdamID, k.asset.PricingParam, k.serial)
	}
	return fmt.Sprintf("(%s %s, clientUserId %q)", k.asset.AdamID, k.asset.PricingParam, k.user)
}

// rememberFaulted records, in strict mode, what an applied request whose response is being
// replaced by a fault carried, so that checkReplay can recognise a resend.
func (s *Server) rememberFaulted(c *call, rel string) {
	if !replayEndpoints[rel] {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.strict || c.uid == "" {
		return
	}
	items := replayItems(rel, c.body)
	if len(items) == 0 {
		return
	}
	byEndpoint := s.replays[c.uid]
	if byEndpoint == nil {
		byEndpoint = map[string]map[assignKey]FaultKind{}
		s.replays[c.uid] = byEndpoint
	}
	seen := byEndpoint[rel]
	if seen == nil {
		seen = make(map[assignKey]FaultKind, len(items))
		byEndpoint[rel] = seen
	}
	for _, k := range items {
		seen[k] = c.after
	}
}

// checkReplay records, in strict mode, a replay violation for a POST that carries an item of an
// earlier faulted request to the same endpoint and location (at most one per request).
func (s *Server) checkReplay(c *call, rel string) {
	if !replayEndpoints[rel] {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.replays[c.uid][rel]
	loc := s.w.Locations[c.uid]
	if !s.strict || len(seen) == 0 || loc == nil {
		return
	}
	for _, k := range replayItems(rel, c.body) {
		kind, ok := seen[k]
		if !ok {
			continue
		}
		s.violationLocked(loc, Violation{
			Kind:         ViolationReplay,
			AdamID:       k.asset.AdamID,
			PricingParam: k.asset.PricingParam,
			ClientUserID: k.user,
			Detail: fmt.Sprintf("POST %s resends %s, which an earlier POST %s carried that was applied although its response was lost (%s)",
				rel, describeReplayItem(k), rel, kind),
		})
		return
	}
}
