package provider

import (
	"context"
	"log/slog"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// tflogHandler sends the engine's log records (log/slog, which the engine speaks) to Terraform's
// log through tflog, with the record's context: the masks and fields the provider set on it apply,
// and TF_LOG filters the levels.
type tflogHandler struct {
	attrs []slog.Attr
}

var _ slog.Handler = tflogHandler{}

func (tflogHandler) Enabled(context.Context, slog.Level) bool { return true } // tflog filters

func (h tflogHandler) Handle(ctx context.Context, r slog.Record) error {
	fields := make(map[string]any, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		fields[a.Key] = a.Value.Resolve().Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		fields[a.Key] = a.Value.Resolve().Any()
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		tflog.Error(ctx, r.Message, fields)
	case r.Level >= slog.LevelWarn:
		tflog.Warn(ctx, r.Message, fields)
	case r.Level >= slog.LevelInfo:
		tflog.Info(ctx, r.Message, fields)
	case r.Level >= slog.LevelDebug:
		tflog.Debug(ctx, r.Message, fields)
	default:
		tflog.Trace(ctx, r.Message, fields)
	}
	return nil
}

func (h tflogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return tflogHandler{attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

// WithGroup is not used by the engine; its records carry flat fields.
func (h tflogHandler) WithGroup(string) slog.Handler { return h }

// engineLogger is the logger the provider gives the engine.
var engineLogger = slog.New(tflogHandler{})
