//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// childPeakRSSMB reads a finished child's peak resident set from wait4's rusage (Linux reports
// ru_maxrss in KiB, macOS in bytes). It is the fallback where /proc is missing: os/exec starts
// children with vfork, so until exec the child runs in the parent's memory, and the kernel
// carries that high-water mark into the child's ru_maxrss: with a large parent it overstates.
func childPeakRSSMB(ps *os.ProcessState) float64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}
