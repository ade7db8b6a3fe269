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
	if databaseKind(database) == "sqlite" {
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
	sandboxesMu.Lock()
	defer sandboxesMu.Unlock()
	if sb, ok := sandboxes[statePath]; ok {
		return sb, nil
	}
	sb, err := sandbox.Open(sandbox.Options{StatePath: statePath, AcceptDelay: delay})
	if err != nil {
		return nil, err
	}
	sandboxes[statePath] = sb
	return sb, nil
}
