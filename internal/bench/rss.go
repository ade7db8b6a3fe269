package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// selfPeakRSSMB reads this process's peak resident set from /proc/self/status (VmHWM, Linux).
// The high-water mark belongs to the process's own address space, created at exec, so unlike
// ru_maxrss it does not include the parent's memory the child ran in before exec. 0 elsewhere.
func selfPeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
