package engine

import (
	"context"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// AuditEntry is one change the engine made at Apple (or to its own view of a location).
type AuditEntry struct {
	At        time.Time
	TokenID   string
	Operation string // claim, take_over, renew, create_users, associate, reconcile, forget_token
	EventID   string
	Count     int
	Detail    string
}

// AuditLog lists a token's audit entries ("" = every token), oldest first.
func (e *Engine) AuditLog(ctx context.Context, tokenID string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := e.tx(ctx, func(tx store.Tx) error {
		entries, err := tx.ListAudit(ctx, tokenID)
		for _, a := range entries {
			out = append(out, AuditEntry{At: a.At, TokenID: a.TokenID, Operation: a.Operation, EventID: a.EventID, Count: a.Count, Detail: a.Detail})
		}
		return err
	})
	return out, err
}
