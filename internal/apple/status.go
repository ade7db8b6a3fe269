package apple

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Values of EventStatus.Status.
const (
	EventPending  = "PENDING"
	EventComplete = "COMPLETE"
	EventFailed   = "FAILED" // finished with at least one failed task
)

// Values of EventStatus.Type.
const (
	EventAssociate    = "ASSOCIATE"
	EventDisassociate = "DISASSOCIATE"
	EventRevoke       = "REVOKE"
	EventCreate       = "CREATE"
	EventUpdate       = "UPDATE"
	EventRetire       = "RETIRE"
)

// EventResponse is Apple's answer to an accepted write.
type EventResponse struct {
	Envelope
	EventID string
}

type validator interface{ validate(Limits) error }

// checkRequest checks req, before it is sent, against the live limits of the service config.
func (c *Client) checkRequest(ctx context.Context, req validator) error {
	lim, err := c.Limits(ctx)
	if err != nil {
		return err
	}
	return req.validate(lim)
}

// postEvent checks req against the live limits, sends it, and returns the
// event; see AssociateAssets for the errors.
func (c *Client) postEvent(ctx context.Context, path string, req validator) (*EventResponse, error) {
	if err := c.checkRequest(ctx, req); err != nil {
		return nil, err
	}
	var w eventWire
	if err := c.call(ctx, http.MethodPost, path, nil, req, &w); err != nil {
		return nil, err
	}
	if w.EventID == "" {
		return nil, &OutcomeUnknownError{Method: http.MethodPost, Path: path, Err: errors.New("the response has no eventId")}
	}
	ev := w.event()
	return ev, c.checkEnvelope(ev.Envelope)
}

type eventWire struct {
	envelopeWire
	EventID flexString `json:"eventId"`
}

func (w *eventWire) event() *EventResponse {
	return &EventResponse{Envelope: w.envelope(), EventID: string(w.EventID)}
}

// EventStatus is Apple's StatusResponse for one event.
type EventStatus struct {
	Envelope
	EventID string
	// Status is EventPending, EventComplete or EventFailed.
	Status string
	// Type is EventAssociate, EventCreate, ...
	Type string
	// NumRequested counts the tasks: assets × (users + devices), or users.
	NumRequested int
	// NumCompleted counts the tasks that succeeded.
	NumCompleted int
	// Failures groups failed tasks by error number.
	Failures []EventFailure
}

// Done reports whether Apple has finished the event, successfully or not.
func (s *EventStatus) Done() bool { return s.Status == EventComplete || s.Status == EventFailed }

// Failed reports whether the event finished with at least one failed task.
func (s *EventStatus) Failed() bool { return s.Status == EventFailed }

// EventFailure is one entry of StatusResponse.failures: an error and the
// entities it affected.
type EventFailure struct {
	Code          Code
	Message       string
	ClientUserIDs []string
	SerialNumbers []string
	Assets        []AssetRef
}

type statusWire struct {
	envelopeWire
	EventStatus  string            `json:"eventStatus"`
	EventType    string            `json:"eventType"`
	NumRequested int               `json:"numRequested"`
	NumCompleted int               `json:"numCompleted"`
	Failures     []json.RawMessage `json:"failures"`
}

func (w *statusWire) status(eventID string) *EventStatus {
	s := &EventStatus{
		Envelope:     w.envelope(),
		EventID:      eventID,
		Status:       w.EventStatus,
		Type:         w.EventType,
		NumRequested: w.NumRequested,
		NumCompleted: w.NumCompleted,
	}
	for _, raw := range w.Failures {
		// A failure Apple did not number is kept with Code 0 rather than lost.
		f := EventFailure{}
		if e := parseAppleError(raw); e != nil {
			f.Code, f.Message = e.Code, e.Message
			if e.Info != nil {
				f.ClientUserIDs, f.SerialNumbers, f.Assets = e.Info.ClientUserIDs, e.Info.SerialNumbers, e.Info.Assets
			}
		}
		s.Failures = append(s.Failures, f)
	}
	return s
}

// EventStatus reads the progress of an event (GET /status?eventId=…). Apple
// asks to poll no more than once every 30 seconds.
func (c *Client) EventStatus(ctx context.Context, eventID string) (*EventStatus, error) {
	if eventID == "" {
		return nil, fmt.Errorf("apple: %w: empty eventId", ErrInvalidRequest)
	}
	var w statusWire
	if err := c.call(ctx, http.MethodGet, "/status", url.Values{"eventId": {eventID}}, nil, &w); err != nil {
		return nil, err
	}
	s := w.status(eventID)
	if err := c.checkEnvelope(s.Envelope); err != nil {
		return nil, err
	}
	return s, nil
}
