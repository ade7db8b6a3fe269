package applesim

import (
	"slices"
	"time"
)

// Event types and statuses of GET /status.
const (
	EventAssociate    = "ASSOCIATE"
	EventDisassociate = "DISASSOCIATE"
	EventRevoke       = "REVOKE"
	EventCreate       = "CREATE"
	EventUpdate       = "UPDATE"
	EventRetire       = "RETIRE"

	EventPending  = "PENDING"
	EventComplete = "COMPLETE"
	EventFailed   = "FAILED"
)

// event is one accepted asynchronous request. Its payload is kept until it is processed so that
// a saved state can finish it in another process.
type event struct {
	ID           string     `json:"id"`
	UID          string     `json:"uid"`
	Type         string     `json:"type"`
	Order        int64      `json:"order"` // acceptance order, to replay pending events after LoadState
	Status       string     `json:"status"`
	NumRequested int        `json:"numRequested"`
	NumCompleted int        `json:"numCompleted"`
	Failures     []*failure `json:"failures,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	CompletedAt  time.Time  `json:"completedAt,omitzero"`

	Assets        []assetRef    `json:"assets,omitempty"`
	ClientUserIDs []string      `json:"clientUserIds,omitempty"`
	SerialNumbers []string      `json:"serialNumbers,omitempty"`
	Users         []requestUser `json:"users,omitempty"`
}

// failure groups the failed tasks of one event that share an error number.
type failure struct {
	ErrorNumber   int        `json:"errorNumber"`
	Assets        []assetRef `json:"assets,omitempty"`
	ClientUserIDs []string   `json:"clientUserIds,omitempty"`
	SerialNumbers []string   `json:"serialNumbers,omitempty"`
	seen          map[string]bool
}

// target is the user or device of one task.
type target struct {
	user   string
	serial string
}

// fail records a failed task; ids are listed once per failure group.
func (e *event) fail(number int, a *assetRef, t target) {
	var f *failure
	for _, g := range e.Failures {
		if g.ErrorNumber == number {
			f = g
			break
		}
	}
	if f == nil {
		f = &failure{ErrorNumber: number}
		e.Failures = append(e.Failures, f)
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	add := func(kind, id string) bool {
		k := kind + "\x00" + id
		if f.seen[k] {
			return false
		}
		f.seen[k] = true
		return true
	}
	if a != nil && add("a", a.AdamID+"\x00"+a.PricingParam) {
		f.Assets = append(f.Assets, *a)
	}
	if t.user != "" && add("u", t.user) {
		f.ClientUserIDs = append(f.ClientUserIDs, t.user)
	}
	if t.serial != "" && add("s", t.serial) {
		f.SerialNumbers = append(f.SerialNumbers, t.serial)
	}
}

// queued is a pending event waiting for its processing time.
type queued struct {
	uid, id string
	due     time.Time
}

type eventResponse struct {
	EventID string `json:"eventId"`
	envelope
}

// acceptLocked stores a validated request as a PENDING event and schedules it.
func (s *Server) acceptLocked(tok *token, loc *location, ev *event) eventResponse {
	if s.opts.Quirks.EventRetention > 0 {
		s.expireEventsLocked(loc)
	}
	ev.ID = newEventID()
	ev.UID = loc.UID
	ev.Status = EventPending
	s.w.Seq++
	ev.Order = s.w.Seq
	ev.CreatedAt = s.opts.Now()
	loc.Events[ev.ID] = ev
	s.queue = append(s.queue, queued{uid: loc.UID, id: ev.ID, due: s.clock().Add(s.opts.ProcessingDelay)})
	s.signal()
	return eventResponse{EventID: ev.ID, envelope: s.envelopeLocked(tok, loc)}
}

func (s *Server) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the background worker: it applies events when they fall due.
func (s *Server) run() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		wait, pending := s.processDueLocked()
		s.mu.Unlock()
		var fire <-chan time.Time
		if pending {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-fire:
		}
	}
}

// processDueLocked applies every event that is due and returns how long until the next one is.
// The queue is in due order because the delay is constant.
func (s *Server) processDueLocked() (wait time.Duration, pending bool) {
	now := s.clock()
	for len(s.queue) > 0 {
		q := s.queue[0]
		if q.due.After(now) {
			return q.due.Sub(now), true
		}
		s.queue = s.queue[1:]
		s.processLocked(q)
	}
	return 0, false
}

// ProcessPendingEvents applies every pending event now, whatever its due time.
func (s *Server) ProcessPendingEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queue {
		s.processLocked(q)
	}
	s.queue = nil
}

// processLocked applies one event atomically: it goes from PENDING to COMPLETE or FAILED.
func (s *Server) processLocked(q queued) {
	loc := s.w.Locations[q.uid]
	if loc == nil {
		return
	}
	ev := loc.Events[q.id]
	if ev == nil || ev.Status != EventPending {
		return
	}
	ch := s.changesLocked(loc)
	switch ev.Type {
	case EventAssociate, EventDisassociate:
		s.manageAssetsLocked(loc, ev, ch)
	case EventRevoke:
		s.revokeLocked(loc, ev, ch)
	case EventCreate, EventUpdate, EventRetire:
		s.manageUsersLocked(loc, ev, ch)
	}
	loc.maybeCompact()
	ev.Status = EventComplete
	if len(ev.Failures) > 0 {
		ev.Status = EventFailed
	}
	for _, f := range ev.Failures {
		f.seen = nil
	}
	ev.CompletedAt = s.opts.Now()
	ev.Assets, ev.ClientUserIDs, ev.SerialNumbers, ev.Users = nil, nil, nil, nil
}

// expireEventsLocked forgets finished events older than Quirks.EventRetention.
func (s *Server) expireEventsLocked(loc *location) {
	now := s.opts.Now()
	for id, ev := range loc.Events {
		if s.eventExpired(ev, now) {
			delete(loc.Events, id)
		}
	}
}

func (s *Server) eventExpired(ev *event, now time.Time) bool {
	r := s.opts.Quirks.EventRetention
	return r > 0 && ev.Status != EventPending && now.Sub(ev.CompletedAt) > r
}

type statusResponse struct {
	EventStatus  string          `json:"eventStatus"`
	EventType    string          `json:"eventType"`
	NumRequested int             `json:"numRequested"`
	NumCompleted int             `json:"numCompleted"`
	Failures     []errorResponse `json:"failures,omitempty"`
	envelope
}

// getStatus serves GET /status?eventId=.
func (s *Server) getStatus(c *call) (any, *apiError) {
	id := c.r.URL.Query().Get("eventId")
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	ev := loc.Events[id]
	if ev != nil && s.eventExpired(ev, s.opts.Now()) {
		delete(loc.Events, id)
		ev = nil
	}
	if ev == nil {
		return nil, errorFor(9708)
	}
	resp := statusResponse{
		EventStatus:  ev.Status,
		EventType:    ev.Type,
		NumRequested: ev.NumRequested,
		NumCompleted: ev.NumCompleted,
		envelope:     s.envelopeLocked(tok, loc),
	}
	for _, f := range ev.Failures {
		resp.Failures = append(resp.Failures, errorResponse{
			ErrorNumber:  f.ErrorNumber,
			ErrorMessage: errorMessage(f.ErrorNumber),
			ErrorInfo: &errorInfo{
				Assets:        slices.Clone(f.Assets),
				ClientUserIDs: slices.Clone(f.ClientUserIDs),
				SerialNumbers: slices.Clone(f.SerialNumbers),
			},
		})
	}
	return resp, nil
}
