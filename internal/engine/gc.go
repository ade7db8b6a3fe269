package engine

import (
	"os"
	"runtime/debug"
)

// Garbage collector settings for a process that runs the engine (see TuneGC).
const (
	gcPercent   = 400
	gcSoftLimit = 144 << 20 // bytes of Go memory; SQLite's page cache and the binary come on top
)

// TuneGC sets the garbage collector for a process that runs the engine, unless the user set
// GOGC or GOMEMLIMIT (then the runtime's own reading of them stands). A provider's heap is a few
// MB during a plan, where the default (collect whenever the heap doubles) spends a fifth of the
// provider's CPU on collections; GOGC=400 collects a fifth as often. A delivery to a large group
// holds more, so a soft limit takes over there and keeps the process near the memory bound the
// benchmarks promise: the collector works harder as the limit nears, instead of letting the heap
// grow fivefold. It reports whether it changed anything.
func TuneGC() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcSoftLimit)
	return true
}
