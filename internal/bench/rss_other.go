//go:build !unix

package bench

import "os"

// childPeakRSSMB is unknown where the OS gives no rusage.
func childPeakRSSMB(*os.ProcessState) float64 { return 0 }
