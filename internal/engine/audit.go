package engine

import (
	"context"
	"errors"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Operations of the audit log: what an entry records.
const (
	// AuditClaim: the engine's mdmInfo was written to a location no system claimed (one entry, no
	// event: Apple answers at once).
	AuditClaim = "claim"
	// AuditTakeOver: the engine's mdmInfo replaced another system's on the owner's request.
	AuditTakeOver = "take_over"
	// AuditRenew: the token's file was replaced by a newer one for the same location.
	AuditRenew = "renew"
	// AuditRestoreToken: a token's record was rebuilt from its file and Apple's records; nothing
	// was written to Apple.
	AuditRestoreToken = "restore_token"
	// AuditForgetToken: the token was removed from the engine; Count is the book licenses that stay
	// with their users. Nothing was written to Apple.
	AuditForgetToken = "forget_token"
	// AuditAdoptUsers: existing VPP users at the location were recognised as members' users;
	// nothing was created.
	AuditAdoptUsers = "adopt_users"
	// AuditCreateUsers: one users/create request Apple accepted; Count is its users.
	AuditCreateUsers = opCreateUsers
	// AuditAssociate: one assets/associate request Apple accepted; Count is its licenses (books x
	// users).
	AuditAssociate = opAssociate
	// AuditReconcile: requests an earlier run left open were settled from Apple's records; Count is
	// how many.
	AuditReconcile = "reconcile"
)

// AuditOperations lists every operation the audit log records.
var AuditOperations = []string{
	AuditClaim, AuditTakeOver, AuditRenew, AuditRestoreToken, AuditForgetToken,
	AuditAdoptUsers, AuditCreateUsers, AuditAssociate, AuditReconcile,
}

// Outcomes of the request an audit entry records, as the engine last learned them from Apple. Only
// requests Apple answers with an event (create_users, associate) have one.
const (
	// OutcomeNone: the entry records no event to follow (a claim, a renewal, a local forget): the
	// change was done when it was recorded.
	OutcomeNone = ""
	// OutcomeComplete: Apple finished the event and reported no failure.
	OutcomeComplete = "complete"
	// OutcomeFailed: Apple finished the event and reported failures for some or all of its users;
	// the members' delivery states say whom and why.
	OutcomeFailed = "failed"
	// OutcomePending: Apple accepted the request and had not finished it when the engine last
	// looked; the next delivery to the token follows it.
	OutcomePending = "pending"
	// OutcomeUnknown: the engine cannot tell. Apple's answer failed a check (it named another
	// location, or none, or another system's mdmInfo) and the event has not been followed since;
	// or the engine no longer holds the request's record because its token was removed.
	OutcomeUnknown = "unknown"
)

// AuditEntry is one change the engine made at Apple (or to its own view of a location).
type AuditEntry struct {
	At        time.Time
	TokenID   string
	Operation string // one of AuditOperations
	EventID   string // Apple's event, for create_users and associate
	Count     int
	Detail    string // never a secret
	Outcome   string // one of the Outcome constants
}

// AuditFilter narrows the audit log; zero values do not filter.
type AuditFilter struct {
	TokenID    string
	Since      time.Time // entries at or after Since (inclusive)
	Until      time.Time // entries before Until (exclusive); Until <= Since matches nothing
	Operations []string  // entries of one of these operations (an unknown name matches nothing)
}

// AuditLog lists a token's audit entries ("" = every token), oldest first.
func (e *Engine) AuditLog(ctx context.Context, tokenID string) ([]AuditEntry, error) {
	return e.ReadAuditLog(ctx, AuditFilter{TokenID: tokenID})
}

// ReadAuditLog lists the audit entries f selects, oldest first, each with its outcome. It reads
// the engine's records only: nothing is asked of Apple. The log outlives its tokens, so a removed
// token's entries are still found by its id; a token id the engine never knew (no record, no
// entry) is a NotFoundError.
func (e *Engine) ReadAuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	err := e.view(ctx, func(tx store.Tx) error {
		records, err := tx.FindAudit(ctx, store.AuditFilter{TokenID: f.TokenID, Since: f.Since, Until: f.Until, Operations: f.Operations})
		if err != nil {
			return err
		}
		if len(records) == 0 && f.TokenID != "" {
			if err := auditedToken(ctx, tx, f.TokenID); err != nil {
				return err
			}
		}
		out = make([]AuditEntry, len(records))
		for i, r := range records {
			out[i] = AuditEntry{At: r.At, TokenID: r.TokenID, Operation: r.Operation, EventID: r.EventID,
				Count: r.Count, Detail: r.Detail, Outcome: outcomeOf(r)}
		}
		return nil
	})
	return out, err
}

// auditedToken returns a NotFoundError unless the engine holds the token, or held it once (the
// audit log has an entry of it).
func auditedToken(ctx context.Context, tx store.Tx, id string) error {
	_, err := tx.GetToken(ctx, id)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	first, err := tx.FindAudit(ctx, store.AuditFilter{TokenID: id, Limit: 1})
	if err == nil && len(first) == 0 {
		return &NotFoundError{Kind: KindToken, ID: id}
	}
	return err
}

// outcomeOf reads an audit entry's outcome from the journal entry of its event. An entry with an
// event always has one while its token is held: the event id is journaled (state sent) in the
// transaction that writes the audit entry, and settling the request leaves it settled, with
// Apple's failures as its error when the event failed.
func outcomeOf(r store.AuditRecord) string {
	switch {
	case r.EventID == "":
		return OutcomeNone
	case !r.Journaled:
		return OutcomeUnknown // its token was removed, and its journal with it
	case r.JournalState == journalSettled && r.JournalError == "":
		return OutcomeComplete
	case r.JournalState == journalSettled || r.JournalState == journalFailed:
		return OutcomeFailed
	case r.JournalState == journalSent && r.JournalError == "":
		return OutcomePending
	default:
		return OutcomeUnknown // accepted, but the answer failed a check: not followed yet
	}
}
