package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// TestEngineLoggerReachesTerraformLog: a record the engine logs through slog arrives in
// Terraform's log at its level, with its fields, and under the masks the context carries.
func TestEngineLoggerReachesTerraformLog(t *testing.T) {
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	ctx = tflog.MaskLogStrings(ctx, "s3cret")
	engineLogger.With("token_id", "t1").WarnContext(ctx, "lookup failed", "error", "Apple said s3cret", "pass", 2)
	engineLogger.DebugContext(ctx, "syncing")

	entries, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("want 2 log entries, got %d: %s", len(entries), out.String())
	}
	w := entries[0]
	if w["@level"] != "warn" || w["@message"] != "lookup failed" || w["token_id"] != "t1" || w["pass"] != json.Number("2") && w["pass"] != float64(2) {
		t.Errorf("warn entry = %v", w)
	}
	if w["error"] != "Apple said ***" {
		t.Errorf("the context's mask was not applied: error = %v", w["error"])
	}
	if entries[1]["@level"] != "debug" {
		t.Errorf("debug entry at level %v", entries[1]["@level"])
	}
}
