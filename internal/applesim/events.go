package applesim

import (
	"cmp"
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
	// Steps is how many processing steps the event's tasks are split into (Options.ProgressSteps,
	// at most one per task); 0, in states saved before partial progress, means 1.
	Steps int `json:"steps,omitempty"`
	// Applied counts the tasks already applied (succeeded or failed), in task order; the next
	// step starts there, so no task is ever applied twice, even across SaveState and LoadState.
	Applied int `json:"applied,omitempty"`

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
		// Built lazily: the index is not saved, so a failure group of a partially processed
		// event comes back from LoadState without it.
		f.seen = map[string]bool{}
		for _, a := range f.Assets {
			f.seen["a\x00"+a.AdamID+"\x00"+a.PricingParam] = true
		}
		for _, u := range f.ClientUserIDs {
			f.seen["u\x00"+u] = true
		}
		for _, sn := range f.SerialNumbers {
			f.seen["s\x00"+sn] = true
		}
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
	ev.Steps = max(1, min(s.opts.ProgressSteps, ev.taskCount()))
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

// processDueLocked applies every processing step that is due and returns how long until the next
// one is. The queue is kept in due order: new events are due a constant delay after now, and an
// event with steps left is inserted back at its next due time.
func (s *Server) processDueLocked() (wait time.Duration, pending bool) {
	now := s.clock()
	for len(s.queue) > 0 {
		q := s.queue[0]
		if q.due.After(now) {
			return q.due.Sub(now), true
		}
		s.queue = s.queue[1:]
		if s.stepLocked(q, false) {
			q.due = q.due.Add(s.opts.ProcessingDelay)
			s.requeueLocked(q)
		}
	}
	return 0, false
}

// requeueLocked inserts q after every queued entry due no later than it.
func (s *Server) requeueLocked(q queued) {
	i, _ := slices.BinarySearchFunc(s.queue, q.due, func(e queued, due time.Time) int {
		if e.due.After(due) {
			return 1
		}
		return -1
	})
	s.queue = slices.Insert(s.queue, i, q)
}

// ProcessPendingEvents applies every remaining task of every pending event now, whatever its due
// time and however many of its steps are left, in the order the events were accepted.
func (s *Server) ProcessPendingEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.queue
	s.queue = nil
	order := func(q queued) int64 {
		if loc := s.w.Locations[q.uid]; loc != nil && loc.Events[q.id] != nil {
			return loc.Events[q.id].Order
		}
		return 0
	}
	slices.SortStableFunc(queue, func(a, b queued) int { return cmp.Compare(order(a), order(b)) })
	for _, q := range queue {
		s.stepLocked(q, true)
	}
}

// AppliedSteps counts the processing steps applied since New, by the background worker or by
// ProcessPendingEvents. Event processing changes the state without any request, so a caller that
// persists the state (SaveState) can compare this count to know it has changed. Not part of
// Apple's API.
func (s *Server) AppliedSteps() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appliedSteps
}

// stepLocked applies the next step of an event's tasks, or all its remaining tasks, atomically.
// After the last task the event goes from PENDING to COMPLETE or FAILED. It reports whether the
// event has steps left.
func (s *Server) stepLocked(q queued, all bool) (more bool) {
	loc := s.w.Locations[q.uid]
	if loc == nil {
		return false
	}
	ev := loc.Events[q.id]
	if ev == nil || ev.Status != EventPending {
		return false
	}
	n := ev.taskCount()
	end := n
	if !all {
		end = ev.nextStepEnd(n)
	}
	s.appliedSteps++
	ch := s.changesLocked(loc)
	s.applyTasksLocked(loc, ev, ch, ev.Applied, end)
	ev.Applied = end
	loc.maybeCompact()
	if end < n {
		return true
	}
	ev.Status = EventComplete
	if len(ev.Failures) > 0 {
		ev.Status = EventFailed
	}
	for _, f := range ev.Failures {
		f.seen = nil
	}
	ev.CompletedAt = s.opts.Now()
	ev.Assets, ev.ClientUserIDs, ev.SerialNumbers, ev.Users = nil, nil, nil, nil
	return false
}

// taskCount is the number of tasks of a pending event: asset × target pairs for associate and
// disassociate, targets for revoke, users for user events. It equals numRequested.
func (ev *event) taskCount() int {
	switch ev.Type {
	case EventAssociate, EventDisassociate:
		return len(ev.Assets) * (len(ev.ClientUserIDs) + len(ev.SerialNumbers))
	case EventRevoke:
		return len(ev.ClientUserIDs) + len(ev.SerialNumbers)
	default:
		return len(ev.Users)
	}
}

// nextStepEnd returns where the step after ev.Applied ends: step k of S ends at task k·n/S.
func (ev *event) nextStepEnd(n int) int {
	steps := max(ev.Steps, 1)
	for k := 1; k <= steps; k++ {
		if end := k * n / steps; end > ev.Applied {
			return end
		}
	}
	return n
}

// applyTasksLocked applies the tasks [from, to) of an event, in task order.
func (s *Server) applyTasksLocked(loc *location, ev *event, ch *changes, from, to int) {
	switch ev.Type {
	case EventAssociate, EventDisassociate:
		s.manageAssetsLocked(loc, ev, ch, from, to)
	case EventRevoke:
		s.revokeLocked(loc, ev, ch, from, to)
	case EventCreate, EventUpdate, EventRetire:
		s.manageUsersLocked(loc, ev, ch, from, to)
	}
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
