package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

// Sandboxes are shared by state file within one process, like engines.
var (
	sandboxesMu sync.Mutex
	sandboxes   = map[string]*sandbox.Sandbox{}
)

// openSandbox starts (or reuses) the sandbox whose state sits beside the engine's SQLite database,
// or under .vpp/ when the engine is on PostgreSQL.
func openSandbox(database string) (*sandbox.Sandbox, error) {
	dir := filepath.Dir(engine.DefaultDatabase)
	if engine.DatabaseKind(database) == engine.DatabaseSQLite {
		dir = filepath.Dir(database)
	}
	statePath, err := filepath.Abs(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		return nil, err
	}
	delay := sandbox.DefaultAcceptDelay
	if s := strings.TrimSpace(os.Getenv("VPP_SANDBOX_ACCEPT_AFTER")); s != "" {
		if s == "never" {
			delay = -1
		} else if delay, err = time.ParseDuration(s); err != nil || delay <= 0 {
			return nil, fmt.Errorf("VPP_SANDBOX_ACCEPT_AFTER=%q is not a positive duration (e.g. \"30s\", \"10m\") or \"never\"", s)
		}
	}
	opts := sandbox.Options{StatePath: statePath, AcceptDelay: delay}
	switch pace := strings.TrimSpace(os.Getenv("VPP_SANDBOX_PACE")); pace {
	case "", "apple":
	case "instant":
		// No rate limit, and every event finished before its request is answered: for tests that
		// want speed over Apple's realism (and benchmarks of the provider's own cost).
		opts.DisableRateLimit, opts.ProcessingDelay, opts.ProgressSteps, opts.SettleEvents = true, -1, 1, true
	default:
		return nil, fmt.Errorf("VPP_SANDBOX_PACE=%q is neither \"apple\" (the default: Apple's rate limit and processing time) nor \"instant\"", pace)
	}
	sandboxesMu.Lock()
	defer sandboxesMu.Unlock()
	if sb, ok := sandboxes[statePath]; ok {
		return sb, nil
	}
	sb, err := sandbox.Open(opts)
	if err != nil {
		return nil, err
	}
	sandboxes[statePath] = sb
	return sb, nil
}
