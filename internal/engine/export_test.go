package engine

import (
	"context"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// DebugUserCount counts the VPP users the engine knows for a token (tests only).
func (e *Engine) DebugUserCount(ctx context.Context, tokenID string) (int, error) {
	var n int
	err := e.tx(ctx, func(tx store.Tx) error {
		users, err := tx.ListVPPUsers(ctx, tokenID)
		n = len(users)
		return err
	})
	return n, err
}
