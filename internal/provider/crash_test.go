package provider

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// crashBook is the book every crash-test location holds, with one license per member.
const crashBook = "1000000003"

// killMode says where, relative to the chosen request to Apple, the provider dies.
type killMode int

const (
	// killBeforeApple: the request reaches Apple, which never processes it.
	killBeforeApple killMode = iota
	// killLostAnswer: Apple processes the request; the provider dies before reading the answer.
	killLostAnswer
	// killAfterAnswer: the provider reads the answer and dies a few milliseconds later, while it
	// records what Apple said or prepares its next request.
	killAfterAnswer
)

func (m killMode) String() string {
	return [...]string{"before Apple processed the request", "after Apple processed it, before the answer arrived",
		"after the answer arrived"}[m]
}

// killPoint is one seeded crash: when request number Request reaches the simulator.
type killPoint struct {
	Request int
	Mode    killMode
	Delay   time.Duration // for killAfterAnswer
}

// killSwitch stands in front of the simulator, counts requests, and kills the provider process
// at the armed point.
type killSwitch struct {
	next http.Handler
	bin  string

	mu     sync.Mutex
	n      int
	armed  *killPoint
	cli    int   // pid of the CLI process whose plugin to kill
	killed []int // pids killed
	fired  chan struct{}
}

func (k *killSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.n++
	var p *killPoint
	if k.armed != nil && k.n == k.armed.Request {
		p, k.armed = k.armed, nil
	}
	k.mu.Unlock()
	if p == nil {
		k.next.ServeHTTP(w, r)
		return
	}
	switch p.Mode {
	case killBeforeApple:
		k.kill()
		panic(http.ErrAbortHandler)
	case killLostAnswer:
		k.next.ServeHTTP(httptest.NewRecorder(), r)
		k.kill()
		panic(http.ErrAbortHandler)
	default:
		k.next.ServeHTTP(w, r)
		go func() {
			time.Sleep(p.Delay)
			k.kill()
		}()
	}
}

func (k *killSwitch) pids() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.killed
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed = append(k.killed, killPlugins(k.cli, k.bin)...)
	close(k.fired)
}

// arm sets the next kill point, counted from now, against the plugins of the CLI process cli.
func (k *killSwitch) arm(p killPoint, cli int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n, k.cli, k.killed, k.fired = 0, cli, nil, make(chan struct{})
	k.armed = &p
}

// reset starts a new count with nothing armed, and returns the requests of the previous count.
func (k *killSwitch) reset() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.n
	k.n, k.armed = 0, nil
	return n
}

// crashConfig delivers crashBook to every member of the groups in groups.json.
func crashConfig(database, appleURL string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

variable "token" {
  type      = string
  sensitive = true
}

provider "vpp" {
  database      = %q
  apple_api_url = %q
%s}

resource "vpp_token" "main" {
  token        = var.token
  apple_id     = "admin@example.com"
  account_type = "business"
}

resource "vpp_user_group" "readers" {
  for_each = jsondecode(file("${path.module}/groups.json"))
  name     = each.key
  members  = each.value
}

resource "vpp_ebook_assignment" "book" {
  for_each = vpp_user_group.readers
  book_id  = "${vpp_token.main.id}:%s:STDQ"
  group_id = each.value.id
  intent   = "required"
}
`, database, appleURL, unencryptedOptIn(database), crashBook)
}

// crashGroupSize bounds the members of one vpp_user_group in the crash test. Terraform compares
// set elements pairwise when it checks a plan or an apply result, so that one set of 10,000
// members costs minutes per run; the book goes to all members through groups of this size.
const crashGroupSize = 500

// groupsJSON splits emails into groups of crashGroupSize, as a JSON object name -> members.
func groupsJSON(t *testing.T, emails []string) string {
	t.Helper()
	groups := map[string][]string{}
	for i := 0; i < len(emails); i += crashGroupSize {
		groups[fmt.Sprintf("Readers %03d", i/crashGroupSize)] = emails[i:min(i+crashGroupSize, len(emails))]
	}
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProcess_crashRecovery kills the provider process (SIGKILL) at seeded random points while
// `terraform apply` delivers a book to a large group, once per kill point and database. After each
// kill, a new apply must converge: Apple holds exactly the intended licenses, none spent twice,
// one user per member, a plan shows no change, and SQLite's integrity check passes.
//
// make test: 2,000 members, 3 kills per database. make soak (VPP_SOAK=1): 10,000 members, 10
// kills per database. VPP_CRASH_SEED picks other kill points; VPP_CRASH_MEMBERS and
// VPP_CRASH_KILLS override the sizes.
func TestProcess_crashRecovery(t *testing.T) {
	cli := terraformCLI(t)
	members, kills := 2000, 3
	if soak() {
		members, kills = 10000, 10
	}
	members = envInt(t, "VPP_CRASH_MEMBERS", members)
	kills = envInt(t, "VPP_CRASH_KILLS", kills)
	seed := uint64(envInt(t, "VPP_CRASH_SEED", 20260107))
	bin := buildProvider(t)
	ks := &killSwitch{bin: bin, fired: make(chan struct{})}
	sim, appleURL := isolatedSimulator(t, func(h http.Handler) http.Handler { ks.next = h; return ks })
	emails := memberEmails("reader", members)

	// A fresh location, database and working directory for one apply (and its recovery).
	type run struct {
		ws  *workspace
		loc applesim.Location
		db  string
	}
	newRun := func(t *testing.T, kind store.Kind, name string) run {
		t.Helper()
		loc, err := sim.CreateLocation(applesim.LocationSpec{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: crashBook, Title: "A Thousand Readers", Licenses: members}); err != nil {
			t.Fatal(err)
		}
		tok, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ws := newWorkspace(t, cli, bin, "TF_VAR_token="+tok)
		db := filepath.Join(ws.dir, ".vpp", "engine.db")
		if kind == store.Postgres {
			db = storetest.URL(t, store.Postgres)
		}
		ws.write("main.tf", crashConfig(db, appleURL))
		ws.write("groups.json", groupsJSON(t, emails))
		return run{ws: ws, loc: loc, db: db}
	}
	applyTimeout := 10 * time.Minute

	// An uninterrupted apply measures how many requests a whole delivery takes, so that the kill
	// points spread over all of it whatever the machine's speed.
	calibration := newRun(t, store.SQLite, "Calibration")
	ks.reset()
	start := time.Now()
	calibration.ws.mustApply(applyTimeout)
	total := ks.reset()
	t.Logf("uninterrupted apply: %d members, %d requests to Apple, %s", members, total, time.Since(start).Round(time.Millisecond))
	if err := holdings(sim, calibration.loc.UID).checkExact(emails); err != nil {
		t.Fatalf("uninterrupted apply: %v", err)
	}
	calibration.ws.mustPlanEmpty(applyTimeout)

	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	points := make([]killPoint, kills)
	for i := range points {
		// Apple finishes events over time, so an apply's status polls, and its request count, vary
		// a little from run to run: kill points are drawn from the first 90% of the requests.
		points[i] = killPoint{Request: 1 + rng.IntN(max(1, total*9/10)), Mode: killMode(rng.IntN(3)), Delay: time.Duration(rng.IntN(40)) * time.Millisecond}
	}

	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			fired := 0
			defer func() {
				if fired == 0 && !t.Failed() {
					t.Errorf("no kill point was reached: the test proved nothing")
				}
			}()
			for i, p := range points {
				r := newRun(t, kind, fmt.Sprintf("Crash %s %d", kind, i))
				cmd := r.ws.command(t.Context(), "apply", "-auto-approve", "-no-color", "-input=false")
				var out syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				ks.arm(p, cmd.Process.Pid)
				err := cmd.Wait()
				reached := true
				select {
				case <-ks.fired:
					fired++
				case <-time.After(5 * time.Second): // a delayed kill fires within milliseconds
					if err != nil {
						t.Fatalf("kill %d (request %d, %s): the apply failed before the kill point: %v\n%s", i+1, p.Request, p.Mode, err, out.String())
					}
					// This run sent fewer requests than the calibration: the checks below still run.
					t.Logf("kill %d: the apply finished in fewer than %d requests, before the kill point", i+1, p.Request)
					reached = false
				}
				ks.reset()
				killed := ks.pids()
				switch {
				case !reached:
				case len(killed) == 0 && p.Mode == killAfterAnswer:
					t.Logf("kill %d: request %d of %d was the apply's last; it finished before the kill", i+1, p.Request, total)
				case len(killed) == 0:
					t.Fatalf("kill %d (request %d, %s): no provider process to kill", i+1, p.Request, p.Mode)
				case err == nil:
					t.Fatalf("kill %d: the apply succeeded although its provider was killed:\n%s", i+1, out.String())
				default:
					t.Logf("kill %d: provider killed at request %d of %d, %s (%s later): %s", i+1, p.Request, total, p.Mode, p.Delay, firstError(out.String()))
				}

				// Right after the kill: nothing unsafe at Apple, and the database is sound.
				if err := holdings(sim, r.loc.UID).checkSafe(emails); err != nil {
					t.Fatalf("kill %d: right after the kill: %v", i+1, err)
				}
				if kind == store.SQLite {
					sqliteIntegrity(t, r.db)
				}

				// The next apply converges.
				out2 := r.ws.mustApply(applyTimeout)
				if err := holdings(sim, r.loc.UID).checkExact(emails); err != nil {
					t.Fatalf("kill %d: after the next apply: %v\n%s", i+1, err, tail(out2, 40))
				}
				r.ws.mustPlanEmpty(applyTimeout)
				if kind == store.SQLite {
					sqliteIntegrity(t, r.db)
				}
			}
		})
	}
}

// firstError returns the first error line of CLI output.
func firstError(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Error:") {
			return strings.TrimSpace(strings.TrimLeft(line, "│╷╵ "))
		}
	}
	return "no error reported"
}

// errorBlock returns the diagnostics of CLI output, from the first error on.
func errorBlock(out string) string {
	if i := strings.Index(out, "Error: "); i >= 0 {
		out = out[i:]
	}
	return tail(out, 40)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestProcess_applyUnderRandomFaults runs `terraform apply` with the built provider, as a user
// would, while 20% of Apple's answers are faults of every kind (seeded). Each apply completes or
// fails with a diagnostic that names what failed at Apple; applying again finishes the work, and
// Apple then holds exactly the intended licenses, none twice. (The engine-level variant,
// TestFaults_deliveryUnderRandomFaults, delivers to 5,000 members over several seeds.)
func TestProcess_applyUnderRandomFaults(t *testing.T) {
	cli := terraformCLI(t)
	members := 1000
	if soak() {
		members = 5000
	}
	bin := buildProvider(t)
	sim, appleURL := isolatedSimulator(t, nil)
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: "Faulty"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: crashBook, Title: "Faulty Book", Licenses: members}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	emails := memberEmails("faulty", members)
	ws := newWorkspace(t, cli, bin, "TF_VAR_token="+tok)
	ws.write("main.tf", crashConfig(filepath.Join(ws.dir, ".vpp", "engine.db"), appleURL))
	ws.write("groups.json", groupsJSON(t, emails))

	sim.SetRandomFaults(applesim.RandomFaults{Rate: 0.2, Seed: int64(envInt(t, "VPP_FAULT_SEED", 20260108)), RetryAfter: "1",
		ErrorNumber: 9603, Delay: 500 * time.Millisecond, Kinds: []applesim.FaultKind{
			applesim.FaultRateLimited, applesim.FaultInternalError, applesim.FaultUnavailable, applesim.FaultErrorBody,
			applesim.FaultResetBefore, applesim.FaultResetAfter, applesim.FaultSlow,
			applesim.FaultInternalErrorAfter, applesim.FaultUnavailableAfter}})
	named := regexp.MustCompile(`(?s)Error: .*(Apple API (GET|POST) /|apple: (GET|POST) /|outcome of the request is unknown|Apple error \d{4})`)
	applies := 0
	for {
		applies++
		out, code := ws.run(10*time.Minute, "apply", "-auto-approve", "-no-color", "-input=false")
		if code == 0 {
			break
		}
		if !named.MatchString(out) {
			t.Fatalf("apply %d failed without a diagnostic that names what failed at Apple:\n%s", applies, out)
		}
		if strings.Contains(out, "outcome of the request is unknown") && !regexp.MustCompile(`Apply\s+again`).MatchString(out) {
			t.Errorf("apply %d: a request of unknown outcome, and the diagnostic does not say what to do:\n%s", applies, out)
		}
		t.Logf("apply %d stopped:\n%s", applies, errorBlock(out))
		if err := holdings(sim, loc.UID).checkSafe(emails); err != nil {
			t.Fatalf("after apply %d: %v", applies, err)
		}
		if applies == 15 {
			t.Fatalf("still failing after %d applies", applies)
		}
	}
	st := sim.Stats()
	sim.ClearFaults()
	t.Logf("converged after %d applies; %d requests, %d faults %v", applies, st.TotalRequests, st.FaultsInjected, st.Faults)
	if err := holdings(sim, loc.UID).checkExact(emails); err != nil {
		t.Fatal(err)
	}
	ws.mustPlanEmpty(5 * time.Minute)
}
