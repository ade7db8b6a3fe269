package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// MemberState is where one member of an assignment's group stands with the assignment's book:
// who holds it, who is still waiting and why. It holds no invitation: those are secrets.
type MemberState struct {
	Email        string
	AssignmentID string
	GroupID      string
	// State is one of the Delivery* states.
	State string
	// Reason says why the member is in that state, as a sentence of the domain.
	Reason string
	// ErrorNumber and ErrorMessage are Apple's, when Apple refused the member (State failed);
	// 0 and "" otherwise.
	ErrorNumber  int
	ErrorMessage string
}

// The reasons of the states whose recorded detail is not the reason itself, and the reasons
// used when a record carries no detail.
const (
	reasonLicensed   = "holds a license for the book"
	reasonPending    = "invitation not accepted: the member gets the book once they accept their invitation"
	reasonQueued     = "due; the next delivery sends it"
	reasonUnlicensed = "no licenses left for this member (oversubscribed; members are licensed in email order)"
)

// AssignmentMembers lists the members of an assignment's group with their delivery state, sorted
// by email. It first brings the states up to date as a refresh of the assignment does (a sync
// when the last one is stale, a recomputation when the records changed), then reads them in one
// query whatever the number of members. An unknown assignment is a NotFoundError.
func (e *Engine) AssignmentMembers(ctx context.Context, assignmentID string) ([]MemberState, error) {
	if _, err := e.RefreshAssignment(ctx, assignmentID); err != nil {
		return nil, err
	}
	var out []MemberState
	err := e.view(ctx, func(tx store.Tx) error {
		a, err := tx.GetAssignment(ctx, assignmentID)
		if err != nil {
			return notFound(KindAssignment, assignmentID, err)
		}
		ds, err := tx.ListDeliveries(ctx, assignmentID)
		if err != nil {
			return err
		}
		out = memberStates(ds, map[string]string{a.ID: a.GroupID})
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.debug(ctx, "Read assignment members", "assignment_id", assignmentID, "members", len(out))
	return out, nil
}

// BookMembers lists the members of every group the book is assigned to, with their delivery
// state of that assignment, sorted by email, then group (a member of two groups appears once per
// group). States are brought up to date as AssignmentMembers does, and read in a fixed number of
// queries whatever the number of assignments and members. A malformed book id is a BookIDError;
// a book the engine does not hold, a NotFoundError.
func (e *Engine) BookMembers(ctx context.Context, bookID string) ([]MemberState, error) {
	tokenID, adamID, pricing, err := ParseBookID(bookID)
	if err != nil {
		return nil, err
	}
	assignments, err := e.bookAssignments(ctx, bookID, tokenID, adamID, pricing)
	if err != nil {
		return nil, err
	}
	if err := e.refreshAnyAssignment(ctx, assignments); err != nil {
		return nil, err
	}
	var out []MemberState
	err = e.view(ctx, func(tx store.Tx) error {
		as, err := tx.ListBookAssignments(ctx, tokenID, adamID, pricing)
		if err != nil {
			return err
		}
		groupOf := make(map[string]string, len(as))
		for _, a := range as {
			groupOf[a.ID] = a.GroupID
		}
		ds, err := tx.ListBookDeliveries(ctx, tokenID, adamID, pricing)
		if err != nil {
			return err
		}
		out = memberStates(ds, groupOf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.debug(ctx, "Read book members", "book_id", bookID, "assignments", len(assignments), "members", len(out))
	return out, nil
}

// bookAssignments reads the ids of the assignments of a book the engine holds (a NotFoundError
// naming bookID for a book it does not).
func (e *Engine) bookAssignments(ctx context.Context, bookID, tokenID, adamID, pricing string) ([]string, error) {
	var ids []string
	err := e.view(ctx, func(tx store.Tx) error {
		if _, err := assetRecord(ctx, tx, tokenID, adamID, pricing, bookID, store.ProductBook); err != nil {
			return err
		}
		as, err := tx.ListBookAssignments(ctx, tokenID, adamID, pricing)
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		return err
	})
	return ids, err
}

// refreshAnyAssignment refreshes the first of the assignments that still exists. Staleness and
// recomputation are per token, so one refresh brings every assignment of the book up to date.
func (e *Engine) refreshAnyAssignment(ctx context.Context, ids []string) error {
	for _, id := range ids {
		_, err := e.RefreshAssignment(ctx, id)
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// removed meanwhile, with its deliveries: try the next one
	}
	return nil
}

// memberStates turns recorded deliveries into member states, sorted by email, then group.
// groupOf maps each assignment id to its group; deliveries of other assignments are left out.
func memberStates(ds []store.Delivery, groupOf map[string]string) []MemberState {
	out := make([]MemberState, 0, len(ds))
	for _, d := range ds {
		group, ok := groupOf[d.AssignmentID]
		if !ok {
			continue // an assignment added between the two reads: the next read has it
		}
		out = append(out, memberState(d, group))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Email != out[j].Email {
			return out[i].Email < out[j].Email
		}
		return out[i].GroupID < out[j].GroupID
	})
	return out
}

// memberState is the state of one recorded delivery, with its reason.
func memberState(d store.Delivery, groupID string) MemberState {
	m := MemberState{Email: d.Email, AssignmentID: d.AssignmentID, GroupID: groupID, State: d.State}
	switch d.State {
	case DeliveryLicensed:
		m.Reason = reasonLicensed
	case DeliveryPending:
		m.Reason = reasonPending
	case DeliveryFailed:
		m.ErrorNumber, m.ErrorMessage = d.ErrorNumber, d.Detail
		m.Reason = refusal(d.ErrorNumber, d.Detail)
	case DeliveryQueued:
		// The recorded detail says why: licenses short (the shortage, with its numbers), or due.
		m.Reason = cmp.Or(d.Detail, reasonQueued)
	case DeliveryUnlicensed:
		m.Reason = cmp.Or(d.Detail, reasonUnlicensed)
	default:
		m.Reason = cmp.Or(d.Detail, d.State)
	}
	return m
}

// refusal says that Apple refused a member, with Apple's error number and message.
func refusal(number int, message string) string {
	switch {
	case number != 0 && message != "":
		return fmt.Sprintf("Apple refused this member (error %d): %s", number, message)
	case number != 0:
		return fmt.Sprintf("Apple refused this member (error %d)", number)
	case message != "":
		return "Apple refused this member: " + message
	}
	return "Apple refused this member"
}
