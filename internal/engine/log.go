package engine

import (
	"context"
	"log/slog"
)

// logger returns where the engine reports its progress: Config.Logger, or nowhere. Every record
// is logged with the operation's context, so a handler can route it to the caller's log (the
// provider's handler writes to Terraform's, with the masks its context carries).
func (e *Engine) logger() *slog.Logger {
	if e.cfg.Logger == nil {
		return discard
	}
	return e.cfg.Logger
}

var discard = slog.New(slog.DiscardHandler)

func (e *Engine) debug(ctx context.Context, msg string, args ...any) {
	e.logger().DebugContext(ctx, msg, args...)
}

func (e *Engine) info(ctx context.Context, msg string, args ...any) {
	e.logger().InfoContext(ctx, msg, args...)
}

func (e *Engine) warn(ctx context.Context, msg string, args ...any) {
	e.logger().WarnContext(ctx, msg, args...)
}
