package engine_test

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	applied := engine.TuneGC()
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	if !applied || percent <= 100 || limit <= 0 || limit > 200<<20 {
		t.Errorf("TuneGC set GOGC=%d and a limit of %d bytes: want fewer collections than the default, under the 200 MB bound", percent, limit)
	}

	// A user's own settings stand.
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		t.Setenv("GOGC", "")
		t.Setenv("GOMEMLIMIT", "")
		t.Setenv(env, "250")
		if engine.TuneGC() || debug.SetGCPercent(-1) != 100 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
			t.Errorf("with %s set, TuneGC changed the collector", env)
		}
	}
}
