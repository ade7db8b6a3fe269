package storetest

import "syscall"

// setParentDeathSignal makes the kernel stop the server (immediate shutdown) if the test binary
// dies without stopping it.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGQUIT }
