package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Terraform starts the provider itself, so the bench cannot run it as a child of its own. Instead
// MeasureProviderRSS puts a wrapper where the CLI looks for the provider: the running test binary,
// which TestMain turns into RunProviderIfAsked. The wrapper starts the real provider with its own
// standard streams and environment (the plugin handshake passes through untouched), waits for it,
// and appends the provider's peak RSS to the file providerRSSEnv names.
const (
	providerBinaryEnv = "VPP_BENCH_PROVIDER_BINARY"  // the real provider, for the wrapper to start
	providerRSSEnv    = "VPP_BENCH_PROVIDER_RSS_LOG" // where the wrapper appends each provider's peak RSS
)

// MeasureProviderRSS makes every provider process the CLI starts from now on run under wrapper
// (the test binary, whose TestMain calls RunProviderIfAsked). The provider built by NewTerraform
// moves beside the plugins directory; the dev_overrides then find the wrapper in its place. Each
// Run whose environment holds ProviderRSS.Env records the provider processes it started.
func (t *Terraform) MeasureProviderRSS(wrapper string) error {
	provider := filepath.Join(filepath.Dir(filepath.Dir(t.Plugin)), "provider", filepath.Base(t.Plugin))
	if err := os.MkdirAll(filepath.Dir(provider), 0o755); err != nil {
		return err
	}
	if err := os.Rename(t.Plugin, provider); err != nil {
		return err
	}
	if err := os.Symlink(wrapper, t.Plugin); err != nil {
		return err
	}
	t.Env = append(t.Env, providerBinaryEnv+"="+provider)
	return nil
}

// ProviderRSS is the file where the wrapper records the peak RSS of each provider process, one
// line each: the provider's peak and the wrapper's own high-water mark when it started the
// provider, both in MB.
type ProviderRSS string

// Env is the environment a Terraform Run needs for its providers to be recorded here.
func (p ProviderRSS) Env() []string { return []string{providerRSSEnv + "=" + string(p)} }

// Reset forgets the processes recorded so far.
func (p ProviderRSS) Reset() error {
	err := os.Remove(string(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Peak returns the largest peak RSS of the provider processes recorded since Reset, how many there
// were, and the largest high-water mark of their wrappers (see RunProviderIfAsked).
func (p ProviderRSS) Peak() (peak float64, processes int, wrapper float64, err error) {
	raw, err := os.ReadFile(string(p))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("no provider process recorded its peak RSS: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			return 0, 0, 0, fmt.Errorf("%s: line %q: want the provider's and the wrapper's peak RSS", p, line)
		}
		v, err1 := strconv.ParseFloat(f[0], 64)
		w, err2 := strconv.ParseFloat(f[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: line %q: %w", p, line, err)
		}
		peak, wrapper, processes = max(peak, v), max(wrapper, w), processes+1
	}
	return peak, processes, wrapper, nil
}

// RunProviderIfAsked runs the provider providerBinaryEnv names as the wrapper that
// MeasureProviderRSS installs, and exits with the provider's exit code; it returns at once when
// the variable is unset. TestMain calls it first.
//
// The peak is wait4's ru_maxrss of the provider. os/exec starts it with vfork, so the kernel
// carries the wrapper's own high-water mark into it at exec: the figure is the provider's own
// whenever it is above the wrapper's (recorded beside it, a few MB).
func RunProviderIfAsked() {
	bin := os.Getenv(providerBinaryEnv)
	if bin == "" {
		return
	}
	os.Exit(runProvider(bin, os.Getenv(providerRSSEnv)))
}

func runProvider(bin, rssLog string) int {
	wrapper := selfPeakRSSMB()
	cmd := exec.Command(bin, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutVars(os.Environ(), providerBinaryEnv, providerRSSEnv)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "bench provider wrapper: starting %s: %v\n", bin, err)
		return 1
	}
	// Terraform ends a provider through the plugin protocol; an interrupt reaches the provider's
	// process group from the terminal already, and a terminate is passed on.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range signals {
			if s == syscall.SIGTERM {
				_ = cmd.Process.Signal(s)
			}
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintf(os.Stderr, "bench provider wrapper: waiting for %s: %v\n", bin, err)
		return 1
	}
	if rssLog != "" {
		if err := appendLine(rssLog, fmt.Sprintf("%.1f %.1f", childPeakRSSMB(cmd.ProcessState), wrapper)); err != nil {
			fmt.Fprintf(os.Stderr, "bench provider wrapper: recording the peak RSS: %v\n", err)
			return 1
		}
	}
	return cmd.ProcessState.ExitCode()
}

func withoutVars(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

// appendLine appends one line to path in a single write, so that providers ending at the same
// time do not interleave their lines.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
