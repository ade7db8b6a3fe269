//go:build unix && !linux

package storetest

import "syscall"

// setParentDeathSignal is Linux-only; elsewhere a crashed test binary's server is stopped by the
// next test binary that starts one (see removeStale).
func setParentDeathSignal(*syscall.SysProcAttr) {}
