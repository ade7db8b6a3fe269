package applesim

import (
	"fmt"
	"slices"
)

type responseAssignment struct {
	AdamID       string `json:"adamId"`
	ClientUserID string `json:"clientUserId,omitempty"`
	IDHash       string `json:"idHash,omitempty"`
	PricingParam string `json:"pricingParam"`
	SerialNumber string `json:"serialNumber,omitempty"`
	UserStatus   string `json:"userStatus,omitempty"`
}

type getAssignmentsResponse struct {
	Assignments []responseAssignment `json:"assignments"`
	pageInfo
	envelope
}

// getAssignments serves GET /assignments.
func (s *Server) getAssignments(c *call) (any, *apiError) {
	q := newQuery(c.r.URL)
	adamID := q.str("adamId")
	clientUserID := q.str("clientUserId")
	serial := q.str("serialNumber")
	pricing := q.oneOf("pricingParam", PricingSTDQ, PricingPLUS)
	excludeInactive, _ := q.boolean("excludeInactiveUsers")
	includeState, _ := q.boolean("includeUserState")
	return serveList(s, c, q, listing[*assignment]{
		dataset: dsAssignments,
		since:   q.str("sinceVersionId"),
		records: func(loc *location) []*assignment { return loc.Assignments },
		skip: func(loc *location, a *assignment, sinceSeq int64) bool {
			return a.removed ||
				a.ModSeq <= sinceSeq ||
				adamID != "" && a.AdamID != adamID ||
				clientUserID != "" && a.ClientUserID != clientUserID ||
				serial != "" && a.SerialNumber != serial ||
				pricing != "" && a.PricingParam != pricing ||
				excludeInactive && a.ClientUserID != "" && loc.active[a.ClientUserID] == nil
		},
		answer: func(p listPage[*assignment]) any { return assignmentsResponse(p, includeState) },
	})
}

// assignmentsResponse answers a page of assignments, with each user's status and idHash when
// includeState.
func assignmentsResponse(p listPage[*assignment], includeState bool) any {
	var latest map[string]*user
	if includeState {
		latest = latestUsers(p.loc)
	}
	resp := getAssignmentsResponse{
		Assignments: make([]responseAssignment, 0, len(p.records)),
		pageInfo:    p.pageInfo,
		envelope:    p.envelope,
	}
	for _, a := range p.records {
		ra := responseAssignment{
			AdamID:       a.AdamID,
			ClientUserID: a.ClientUserID,
			PricingParam: a.PricingParam,
			SerialNumber: a.SerialNumber,
		}
		if u := latest[a.ClientUserID]; u != nil && a.ClientUserID != "" {
			ra.UserStatus, ra.IDHash = u.Status, u.IDHash
		}
		resp.Assignments = append(resp.Assignments, ra)
	}
	return resp
}

// latestUsers maps each clientUserId to its active user, or else to its newest record.
func latestUsers(loc *location) map[string]*user {
	m := make(map[string]*user, len(loc.known))
	for _, u := range loc.Users {
		if cur := m[u.ClientUserID]; cur == nil || !cur.isActive() {
			m[u.ClientUserID] = u
		}
	}
	return m
}

// assetTargets are the users and devices an asset request names.
type assetTargets struct {
	ClientUserIDs []string `json:"clientUserIds"`
	SerialNumbers []string `json:"serialNumbers"`
}

type manageAssetsRequest struct {
	Assets []assetRef `json:"assets"`
	assetTargets
}

// missing reports whether the request names no user and no device (9719).
func (t assetTargets) missing() bool { return len(t.ClientUserIDs) == 0 && len(t.SerialNumbers) == 0 }

// checkTargetIDs refuses an empty clientUserId (see emptyClientUserIDError) or serialNumber (9602).
func (s *Server) checkTargetIDs(t assetTargets) *apiError {
	if slices.Contains(t.ClientUserIDs, "") {
		return s.emptyClientUserIDError()
	}
	if slices.Contains(t.SerialNumbers, "") {
		return errorFor(9602)
	}
	return nil
}

// checkDistinct refuses a request naming a clientUserId (9704) or a serialNumber (9705) twice,
// with the ones it names twice.
func (t assetTargets) checkDistinct() *apiError {
	if d := duplicates(t.ClientUserIDs); len(d) > 0 {
		return errorFor(9704).withInfo(&errorInfo{ClientUserIDs: d})
	}
	if d := duplicates(t.SerialNumbers); len(d) > 0 {
		return errorFor(9705).withInfo(&errorInfo{SerialNumbers: d})
	}
	return nil
}

// checkTargetCountsLocked refuses more clientUserIds (9701) or serialNumbers (9702) than the
// limits named maxUsers and maxSerials allow.
func (s *Server) checkTargetCountsLocked(t assetTargets, maxUsers, maxSerials string) *apiError {
	switch {
	case len(t.ClientUserIDs) > s.limitLocked(maxUsers):
		return errorFor(9701)
	case len(t.SerialNumbers) > s.limitLocked(maxSerials):
		return errorFor(9702)
	}
	return nil
}

func (s *Server) associate(c *call) (any, *apiError) { return s.manageAssets(c, EventAssociate) }

func (s *Server) disassociate(c *call) (any, *apiError) {
	return s.manageAssets(c, EventDisassociate)
}

// manageAssets validates POST /assets/associate and /assets/disassociate in the order of
// apple-api.md §15 and accepts them as an event.
func (s *Server) manageAssets(c *call, eventType string) (any, *apiError) {
	var req manageAssetsRequest
	if aerr := decodeBody(c.body, &req); aerr != nil {
		return nil, aerr
	}
	if len(req.Assets) == 0 {
		return nil, errorFor(9718)
	}
	if req.missing() {
		return nil, errorFor(9719)
	}
	for i := range req.Assets {
		a := &req.Assets[i]
		a.PricingParam = pricingOrDefault(a.PricingParam)
		if !isDigits(a.AdamID) || (a.PricingParam != PricingSTDQ && a.PricingParam != PricingPLUS) {
			return nil, errorFor(9602)
		}
	}
	if aerr := s.checkTargetIDs(req.assetTargets); aerr != nil {
		return nil, aerr
	}
	if d := duplicates(req.Assets); len(d) > 0 {
		return nil, errorFor(9703).withInfo(&errorInfo{Assets: d})
	}
	if aerr := req.checkDistinct(); aerr != nil {
		return nil, aerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req.Assets) > s.limitLocked(LimitMaxAssets) {
		return nil, errorFor(9700)
	}
	if aerr := s.checkTargetCountsLocked(req.assetTargets, LimitMaxClientUserIDs, LimitMaxSerialNumbers); aerr != nil {
		return nil, aerr
	}
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	// Asset properties are checked only for assets the location holds; an unknown asset fails
	// its tasks asynchronously instead.
	var bad []assetRef
	number := 0
	for _, ref := range req.Assets {
		a := loc.assetIdx[ref]
		switch {
		case a == nil:
		case eventType == EventAssociate && len(req.SerialNumbers) > 0 && !a.DeviceAssignable:
			bad, number = append(bad, ref), 9707
		case eventType == EventDisassociate && !a.Revocable:
			bad, number = append(bad, ref), 9706
		}
	}
	if len(bad) > 0 {
		return nil, errorFor(number).withInfo(&errorInfo{Assets: bad})
	}
	return s.acceptLocked(tok, loc, &event{
		Type:          eventType,
		NumRequested:  len(req.Assets) * (len(req.ClientUserIDs) + len(req.SerialNumbers)),
		Assets:        req.Assets,
		ClientUserIDs: req.ClientUserIDs,
		SerialNumbers: req.SerialNumbers,
	}), nil
}

// revoke validates POST /assets/revoke. Its tasks are its targets: numRequested counts the users
// and devices named, whatever number of assignments they hold.
func (s *Server) revoke(c *call) (any, *apiError) {
	var req assetTargets
	if aerr := decodeBody(c.body, &req); aerr != nil {
		return nil, aerr
	}
	if req.missing() {
		return nil, errorFor(9719)
	}
	if aerr := s.checkTargetIDs(req); aerr != nil {
		return nil, aerr
	}
	if aerr := req.checkDistinct(); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.checkTargetCountsLocked(req, LimitMaxRevokeClientUserIDs, LimitMaxRevokeSerialNumbers); aerr != nil {
		return nil, aerr
	}
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	return s.acceptLocked(tok, loc, &event{
		Type:          EventRevoke,
		NumRequested:  len(req.ClientUserIDs) + len(req.SerialNumbers),
		ClientUserIDs: req.ClientUserIDs,
		SerialNumbers: req.SerialNumbers,
	}), nil
}

// duplicates returns the values that occur more than once, each listed once.
func duplicates[T comparable](values []T) []T {
	seen := make(map[T]int, len(values))
	var dup []T
	for _, v := range values {
		seen[v]++
		if seen[v] == 2 {
			dup = append(dup, v)
		}
	}
	return dup
}

// manageAssetsLocked applies the tasks [from, to) of an associate or disassociate event. Task i
// pairs asset i/T with target i%T, where the T targets are the clientUserIds and then the
// serialNumbers: asset by asset, as Apple's numRequested counts them.
func (s *Server) manageAssetsLocked(loc *location, ev *event, ch *changes, from, to int) {
	per := len(ev.ClientUserIDs) + len(ev.SerialNumbers)
	for i := from; i < to; i++ {
		ref := &ev.Assets[i/per]
		var t target
		if j := i % per; j < len(ev.ClientUserIDs) {
			t.user = ev.ClientUserIDs[j]
		} else {
			t.serial = ev.SerialNumbers[j-len(ev.ClientUserIDs)]
		}
		var number int
		if ev.Type == EventAssociate {
			number = s.associateTaskLocked(loc, ch, loc.assetIdx[*ref], *ref, t)
		} else {
			number = s.disassociateTaskLocked(loc, ch, *ref, t)
		}
		if number != 0 {
			ev.fail(number, ref, t)
			continue
		}
		ev.NumCompleted++
	}
}

// associateTaskLocked assigns one licence and returns 0 or the error number of the failure.
func (s *Server) associateTaskLocked(loc *location, ch *changes, a *asset, ref assetRef, t target) int {
	if t.user != "" && loc.active[t.user] == nil {
		return 9609
	}
	if a == nil {
		return 9709 // the location holds no licence of it
	}
	if loc.assignIdx[assignKey{ref, t.user, t.serial}] != nil {
		number, outcome := 0, "counted as completed, no licence spent"
		if s.opts.Quirks.AlreadyAssignedFails {
			number, outcome = 9616, "failed with 9616"
		}
		holder := fmt.Sprintf("clientUserId %q", t.user)
		if t.serial != "" {
			holder = fmt.Sprintf("serialNumber %q", t.serial)
		}
		s.violationLocked(loc, Violation{
			Kind:         ViolationReassociate,
			AdamID:       ref.AdamID,
			PricingParam: ref.PricingParam,
			ClientUserID: t.user,
			Detail:       fmt.Sprintf("associate of %s %s to %s, which already holds it (%s)", ref.AdamID, ref.PricingParam, holder, outcome),
		})
		return number
	}
	if a.available() <= 0 {
		return 9709
	}
	s.assignLocked(loc, ch, a, t)
	return 0
}

// assignLocked spends one licence of a on a user or device.
func (s *Server) assignLocked(loc *location, ch *changes, a *asset, t target) {
	loc.addAssignment(&assignment{
		AdamID:       a.AdamID,
		PricingParam: a.PricingParam,
		ClientUserID: t.user,
		SerialNumber: t.serial,
		ModSeq:       ch.seq(dsAssignments),
	})
	a.Assigned++
	ch.seq(dsAssets)
}

// disassociateTaskLocked removes one assignment. A pair that is not assigned counts as done.
func (s *Server) disassociateTaskLocked(loc *location, ch *changes, ref assetRef, t target) int {
	if t.user != "" && !loc.known[t.user] {
		return 9609
	}
	if as := loc.assignIdx[assignKey{ref, t.user, t.serial}]; as != nil {
		s.unassignLocked(loc, ch, as)
	}
	return 0
}

// revokeLocked applies the tasks [from, to) of a revoke event: task i is clientUserId i, then the
// serialNumbers follow. Every revocable assignment of the targets goes.
func (s *Server) revokeLocked(loc *location, ev *event, ch *changes, from, to int) {
	users := map[string]bool{}
	serials := map[string]bool{}
	for i := from; i < to; i++ {
		if i >= len(ev.ClientUserIDs) {
			serials[ev.SerialNumbers[i-len(ev.ClientUserIDs)]] = true
			ev.NumCompleted++
			continue
		}
		u := ev.ClientUserIDs[i]
		if !loc.known[u] {
			ev.fail(9609, nil, target{user: u})
			continue
		}
		users[u] = true
		ev.NumCompleted++
	}
	s.releaseLocked(loc, ch, users, serials)
}

// releaseLocked removes the revocable assignments of some users and devices; books stay.
func (s *Server) releaseLocked(loc *location, ch *changes, users, serials map[string]bool) {
	for _, as := range loc.Assignments {
		targeted := as.ClientUserID != "" && users[as.ClientUserID] || as.SerialNumber != "" && serials[as.SerialNumber]
		if as.removed || !targeted {
			continue
		}
		if a := loc.assetIdx[assetRef{as.AdamID, as.PricingParam}]; a != nil && !a.Revocable {
			continue
		}
		s.unassignLocked(loc, ch, as)
	}
}

func (s *Server) unassignLocked(loc *location, ch *changes, as *assignment) {
	loc.removeAssignment(as)
	if a := loc.assetIdx[assetRef{as.AdamID, as.PricingParam}]; a != nil {
		a.Assigned--
		ch.seq(dsAssets)
	}
	loc.AssignmentsRemovedSeq = ch.seq(dsAssignments)
}
