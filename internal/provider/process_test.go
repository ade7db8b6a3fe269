package provider

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for integrity checks

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// The process-level tests run the provider as Terraform runs it for users: a built plugin binary,
// found through a dev_overrides CLI configuration, launched by the real terraform (or tofu) CLI.
// The simulated Apple service lives in the test process on a loopback address, so that it
// survives when a test kills the provider.

// TestMain fails the binary when the shared simulated Apple of the acceptance tests recorded a
// double spend, naming the test whose location it happened at.
func TestMain(m *testing.M) { storetest.MainThen(m, sharedSimViolations) }

// soak reports whether the long variants run (make soak sets VPP_SOAK=1).
func soak() bool { return os.Getenv("VPP_SOAK") != "" }

// envInt reads an integer setting of the process tests, such as VPP_CRASH_SEED.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q is not an integer", name, s)
	}
	return n
}

// terraformCLI returns the CLI the acceptance tests use, skipping outside acceptance runs.
func terraformCLI(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	if cli := os.Getenv("TF_ACC_TERRAFORM_PATH"); cli != "" {
		return cli
	}
	cli, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("no terraform CLI")
	}
	return cli
}

// buildProvider builds the provider binary into a directory of its own and returns its path.
func buildProvider(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "terraform-provider-vpp")
	build := exec.Command("go", "build", "-o", bin, ".")
	_, thisFile, _, _ := runtime.Caller(0)
	build.Dir = filepath.Join(filepath.Dir(thisFile), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	// A test that fails while the CLI runs leaves the CLI killed and its plugin orphaned.
	t.Cleanup(func() { killPlugins(-1, bin) })
	return bin
}

// isolatedSimulator starts a simulated Apple service of the test's own on loopback, paced for
// speed: the provider's client follows the advertised maxRequestPerSecond.
func isolatedSimulator(t *testing.T, h func(http.Handler) http.Handler) (*applesim.Server, string) {
	t.Helper()
	sim := applesim.New(testSimOptions(applesim.Options{
		DisableRateLimit: true,
		Limits:           map[string]int{applesim.LimitMaxRequestPerSecond: 2000},
	}))
	var handler http.Handler = sim
	if h != nil {
		handler = h(sim)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() { srv.Close(); sim.Close(); checkNoViolations(t, sim) })
	return sim, srv.URL + "/mdm/v2"
}

// workspace is one Terraform working directory using the built provider.
type workspace struct {
	t   *testing.T
	cli string
	dir string
	env []string
}

func newWorkspace(t *testing.T, cli, bin string, env ...string) *workspace {
	t.Helper()
	dir := t.TempDir()
	rc := filepath.Join(dir, "cli.tfrc")
	writeFile(t, rc, fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/vppkit/vpp"  = %[1]q
    "registry.opentofu.org/vppkit/vpp" = %[1]q
  }
  direct {}
}
`, filepath.Dir(bin)))
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	// VPP_EVENT_TIMEOUT scales Apple's 10 minutes to the simulator's processing (milliseconds): a
	// request whose answer a fault or a kill lost is sent again after 5 s without its work.
	base := []string{"TF_CLI_CONFIG_FILE=" + rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "VPP_EVENT_TIMEOUT=5s"}
	for _, kv := range os.Environ() {
		// The workspace decides these itself.
		if strings.HasPrefix(kv, "TF_LOG") || strings.HasPrefix(kv, "VPP_") || strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=") {
			continue
		}
		base = append(base, kv)
	}
	return &workspace{t: t, cli: cli, dir: work, env: append(base, env...)}
}

func (w *workspace) write(name, contents string) {
	writeFile(w.t, filepath.Join(w.dir, name), contents)
}

func (w *workspace) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.cli, args...)
	cmd.Dir = w.dir
	cmd.Env = w.env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// run runs the CLI to its end and returns its combined output and exit code.
func (w *workspace) run(timeout time.Duration, args ...string) (string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := w.command(ctx, args...).CombinedOutput()
	if ctx.Err() != nil {
		w.t.Fatalf("%s %s did not finish within %s:\n%s", filepath.Base(w.cli), strings.Join(args, " "), timeout, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			w.t.Fatalf("%s %s: %v", filepath.Base(w.cli), strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// mustApply applies and fails the test unless the apply succeeds.
func (w *workspace) mustApply(timeout time.Duration) string {
	w.t.Helper()
	out, code := w.run(timeout, "apply", "-auto-approve", "-no-color", "-input=false")
	if code != 0 {
		w.t.Fatalf("apply failed (exit %d):\n%s", code, out)
	}
	return out
}

// mustPlanEmpty fails the test unless a plan proposes no change.
func (w *workspace) mustPlanEmpty(timeout time.Duration) {
	w.t.Helper()
	out, code := w.run(timeout, "plan", "-detailed-exitcode", "-no-color", "-input=false")
	if code != 0 {
		w.t.Fatalf("a plan after the apply is not empty (exit %d):\n%s", code, out)
	}
}

// pluginProcesses lists the running provider processes started by the CLI process parent (any
// parent when parent is negative).
func pluginProcesses(parent int, bin string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != bin {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && (parent < 0 || fields[1] == strconv.Itoa(parent)) {
			out = append(out, pid)
		}
	}
	return out
}

// killPlugins SIGKILLs every provider process the CLI process parent runs and returns their ids.
func killPlugins(parent int, bin string) []int {
	pids := pluginProcesses(parent, bin)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return pids
}

// sqliteIntegrity runs PRAGMA integrity_check on a SQLite database nobody is writing to.
func sqliteIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatalf("integrity check of %s: %v", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("SQLite integrity check of %s failed: %s", path, strings.Join(problems, "; "))
	}
}

// memberEmails returns n distinct member emails with a prefix.
func memberEmails(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06d@example.com", prefix, i)
	}
	return out
}

func jsonList(t *testing.T, v []string) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appleHoldings is what the simulated Apple holds of crashBook at one location.
type appleHoldings struct {
	holders     map[string]int // member email -> licenses of the book (more than 1 is a double spend)
	strangers   []string       // holders that are no member
	activeUsers map[string]int // email -> active (not retired) users at Apple
	assigned    int            // the asset's assignedCount
}

func holdings(sim *applesim.Server, uid string) appleHoldings {
	adamID := crashBook
	h := appleHoldings{holders: map[string]int{}, activeUsers: map[string]int{}}
	email := map[string]string{}
	for _, u := range sim.Users(uid) {
		e := u.Email
		if e == "" {
			e = u.ManagedAppleID
		}
		if u.Status != "Retired" && u.Status != "Deleted" {
			email[u.ClientUserID] = e
			h.activeUsers[e]++
		}
	}
	for _, a := range sim.Assignments(uid) {
		if a.AdamID != adamID {
			continue
		}
		e, ok := email[a.ClientUserID]
		if !ok {
			h.strangers = append(h.strangers, a.ClientUserID)
			continue
		}
		h.holders[e]++
	}
	if asset, ok := sim.Asset(uid, adamID, "STDQ"); ok {
		h.assigned = asset.AssignedCount
	}
	return h
}

// checkSafe verifies what must hold at every moment, even mid-delivery: no license outside the
// intended members, none spent twice, at most one Apple user per member.
func (h appleHoldings) checkSafe(members []string) error {
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m] = true
	}
	var problems []string
	total := 0
	for e, n := range h.holders {
		total += n
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s holds %d licenses of the book", e, n))
		}
		if !want[e] {
			problems = append(problems, fmt.Sprintf("%s holds the book but is no member", e))
		}
	}
	for e, n := range h.activeUsers {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s has %d active users at Apple", e, n))
		}
		if !want[e] {
			problems = append(problems, fmt.Sprintf("Apple has a user for %s, who is no member", e))
		}
	}
	if len(h.strangers) > 0 {
		problems = append(problems, fmt.Sprintf("%d licenses held by users that are not ours", len(h.strangers)))
	}
	if h.assigned != total+len(h.strangers) {
		problems = append(problems, fmt.Sprintf("the asset's assignedCount is %d but %d assignments exist", h.assigned, total+len(h.strangers)))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("... and %d more", len(problems)-10))
		}
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// checkExact verifies that exactly the members hold the book, once each.
func (h appleHoldings) checkExact(members []string) error {
	if err := h.checkSafe(members); err != nil {
		return err
	}
	if len(h.holders) != len(members) || h.assigned != len(members) {
		missing := 0
		for _, m := range members {
			if h.holders[m] == 0 {
				missing++
			}
		}
		return fmt.Errorf("%d of %d members hold the book (%d missing), assignedCount %d", len(h.holders), len(members), missing, h.assigned)
	}
	return nil
}

// listeningAddresses returns the local addresses of the TCP sockets in LISTEN state that this
// process holds (from /proc/self/net/tcp{,6} and /proc/self/fd).
func listeningAddresses(t *testing.T) []net.TCPAddr {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, fd := range fds {
		if link, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []net.TCPAddr
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			out = append(out, parseProcAddr(t, f[1]))
		}
	}
	return out
}

// parseProcAddr reads "0100007F:1F90" (little-endian words) from /proc/net/tcp.
func parseProcAddr(t *testing.T, s string) net.TCPAddr {
	t.Helper()
	hostHex, portHex, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(portHex, 16, 16)
	raw := make([]byte, len(hostHex)/2)
	for i := range raw {
		b, _ := strconv.ParseUint(hostHex[2*i:2*i+2], 16, 8)
		raw[i] = byte(b)
	}
	ip := make(net.IP, len(raw))
	for w := 0; w < len(raw); w += 4 { // each 32-bit word is in host (little-endian) order
		for j := 0; j < 4; j++ {
			ip[w+j] = raw[w+3-j]
		}
	}
	return net.TCPAddr{IP: ip, Port: int(port)}
}

// hostOf returns the host of a URL.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
