package bench_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/bench"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// config is what make bench passes in the environment.
type config struct {
	scale     float64 // BENCH_SCALE: 1 is the sizes
	runs      int     // BENCH_RUNS: runs per figure (at least 5 for the report)
	rates     []int   // BENCH_RATES: the simulator's maxRequestPerSecond, Apple's 15 and a higher one
	out       string  // BENCH_OUT: where the report goes
	terraform string  // BENCH_TERRAFORM: the CLI for scenario 4
	pageSize  int
}

func loadConfig(t *testing.T) config {
	c := config{scale: 1, runs: 5, rates: []int{bench.AppleRate, 2 * bench.AppleRate}, pageSize: 1000}
	if v := os.Getenv("BENCH_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			t.Fatalf("BENCH_SCALE=%q: want a number in (0, 1]", v)
		}
		c.scale = f
	}
	if v := os.Getenv("BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BENCH_RUNS=%q: want a positive number", v)
		}
		c.runs = n
	}
	if v := os.Getenv("BENCH_RATES"); v != "" {
		c.rates = nil
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				t.Fatalf("BENCH_RATES=%q: want rates such as \"15 30\"", v)
			}
			c.rates = append(c.rates, n)
		}
	}
	c.out = os.Getenv("BENCH_OUT")
	if c.out == "" {
		c.out = filepath.Join(moduleRoot(t), "BENCHMARKS.md")
	}
	c.terraform = os.Getenv("BENCH_TERRAFORM")
	if c.terraform == "" {
		c.terraform, _ = exec.LookPath("terraform")
	}
	return c
}

func (c config) size(n int) int { return c.sizeAt(n, c.scale) }

func (c config) sizeAt(n int, scale float64) int { return max(1, int(math.Round(float64(n)*scale))) }

// quickScale is the scale of the runs at rates above Apple's: they show that the ratios hold when
// the engine's own work weighs more against the rate floor, and at full scale they would double
// the time of make bench.
const quickScale = 0.1

// scaleAt is the scale of the runs at rate.
func (c config) scaleAt(rate int) float64 {
	if rate == bench.AppleRate {
		return c.scale
	}
	return min(c.scale, quickScale)
}

// command is the command line that reproduces one section of the report.
func (c config) command(sub string, rate int) string {
	scale, rates := c.scale, ""
	if rate > 0 {
		scale, rates = c.scaleAt(rate), fmt.Sprintf(" BENCH_RATES=%d", rate)
	}
	return fmt.Sprintf("VPP_BENCH=1 BENCH_SCALE=%g BENCH_RUNS=%d%s BENCH_OUT=/tmp/bench.md go test -count=1 -timeout 150m -run '^TestBench$/^%s$' ./internal/bench",
		scale, c.runs, rates, sub)
}

func moduleRoot(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// report collects the sections as the scenarios finish.
type report struct {
	mu       sync.Mutex
	sections []bench.Section
	notes    []string
	revision string // the commit the test binary was built from (bench.Revision at the start)
}

// add appends sections, stamping each with the date it was measured (now) and, unless the
// scenario set its own, the revision of the run.
func (r *report) add(s ...bench.Section) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sec := range s {
		if sec.Revision == "" {
			sec.Revision = r.revision
		}
		if sec.Measured.IsZero() {
			sec.Measured = time.Now()
		}
		r.sections = append(r.sections, sec)
	}
}

// notMeasured counts the sections that say why they have no figures.
func (r *report) notMeasured() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sections {
		if s.NotMeasured != "" {
			n++
		}
	}
	return n
}

// TestBench runs the benchmarks of issue 6 and writes the report (make bench). Every engine
// operation runs in a child process, so that its peak RSS is its own; the simulated Apple runs
// here. It takes about 20 minutes at BENCH_SCALE=1 on 2 cores; BENCH_SCALE=0.1 takes about 3.
func TestBench(t *testing.T) {
	if os.Getenv("VPP_BENCH") == "" {
		t.Skip("set VPP_BENCH=1 (make bench) to run the benchmarks")
	}
	c := loadConfig(t)
	m := bench.DescribeMachine(c.terraform)
	m.Scale, m.QuickScale, m.Runs, m.Rates = c.scale, min(c.scale, quickScale), c.runs, c.rates
	// go test built the binary under test just before: the tree now is the tree it was built from.
	m.Revision = bench.Revision(moduleRoot(t))
	r := &report{revision: m.Revision}
	// A scenario that fails leaves a failing section in the report, so that it cannot vanish from
	// BENCHMARKS.md while the run goes on to write it; go test reports the failure itself.
	scenario := func(name, title string, fn func(t *testing.T)) {
		before := r.notMeasured()
		if !t.Run(name, fn) && r.notMeasured() == before {
			r.add(bench.Section{Title: title + ": not measured", Command: c.command(name, 0),
				NotMeasured: fmt.Sprintf("The scenario failed before all its figures were taken; the output of `go test` (TestBench/%s) says why.", name)})
		}
	}
	scenario("delivery", "1. Delivery", func(t *testing.T) { deliveryScenario(t, c, r, 1) })
	scenario("many_books", "2. Many books", func(t *testing.T) { deliveryScenario(t, c, r, 50) })
	scenario("sync", "3. Sync", func(t *testing.T) { syncScenario(t, c, r) })
	scenario("terraform", "4. Terraform", func(t *testing.T) { terraformScenario(t, c, r) })
	scenario("terraform_delivery", "4b. Terraform delivering licenses", func(t *testing.T) { terraformDeliveryScenario(t, c, r) })
	scenario("store", "5. Store", func(t *testing.T) { storeScenario(t, c, r) })
	scenario("terraform_groups", "6. Terraform groups", func(t *testing.T) { terraformGroupsScenario(t, c, r) })
	scenario("devices", "7. Device licensing", func(t *testing.T) { devicesScenario(t, c, r) })
	m.Finish()
	if len(r.sections) == 0 {
		return
	}
	if c.runs < 5 {
		r.notes = append(r.notes, fmt.Sprintf("**This run used BENCH_RUNS=%d: fewer than the 5 runs the figures call for.**", c.runs))
	}
	f, err := os.Create(c.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reproduce := fmt.Sprintf("`VPP_BENCH=1 BENCH_SCALE=%g go test -count=1 -timeout 150m -run '^TestBench$' ./internal/bench`", c.scale)
	if err := bench.Render(f, m, reproduce, r.sections, append(r.notes, notes()...)); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s in %s", c.out, m.Elapsed.Round(time.Second))
}

// runs runs prepare and then op c.runs times, each with a fresh simulator at rate.
func samples(t *testing.T, c config, rate int, prepare func(a *bench.Apple, db string) (bench.Prepared, error), check func(bench.Prepared, bench.Sample) error) (bench.Prepared, []bench.Sample) {
	t.Helper()
	ctx := context.Background()
	var p bench.Prepared
	var out []bench.Sample
	for i := range c.runs {
		a := bench.NewApple(rate, c.pageSize)
		db := filepath.Join(t.TempDir(), "engine.db")
		var err error
		if p, err = prepare(a, db); err == nil {
			err = a.CheckStrict()
		}
		if err != nil {
			a.Close()
			t.Fatalf("run %d: setting up: %v", i+1, err)
		}
		s, err := measure(ctx, a, p, check)
		a.Close()
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		logSample(t, fmt.Sprintf("run %d", i+1), s)
		out = append(out, s)
	}
	return p, out
}

// measure runs p's operation in a child process, then checks that the simulated Apple recorded
// no double spend and that check accepts the outcome.
func measure(ctx context.Context, a *bench.Apple, p bench.Prepared, check func(bench.Prepared, bench.Sample) error) (bench.Sample, error) {
	s, err := bench.RunInChild(ctx, a, p.Op)
	if err == nil {
		err = a.CheckStrict()
	}
	if err == nil {
		err = check(p, s)
	}
	return s, err
}

func logSample(t *testing.T, what string, s bench.Sample) {
	t.Helper()
	t.Logf("%s: %.2fs, %d requests (%v), %d answered 429, %.0f MB", what, s.Seconds, s.Counts.Total, s.Counts.Requests, s.Counts.RateLimited, s.RSSMB)
}

// quiet waits until the requests of an earlier run on the same location have left Apple's
// one-second rate window: each run starts as a new process would after a pause, and a 429 is
// the run's own doing. (Two processes working one token back to back share the window; a client
// cannot know what another process sent.)
func quiet() { time.Sleep(1100 * time.Millisecond) }

func values(ss []bench.Sample, f func(bench.Sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

func requests(s bench.Sample) float64    { return float64(s.Counts.Total) }
func seconds(s bench.Sample) float64     { return s.Seconds }
func rateLimited(s bench.Sample) float64 { return float64(s.Counts.RateLimited) }
func rss(s bench.Sample) float64         { return s.RSSMB }
func inFlight(s bench.Sample) float64    { return float64(s.Counts.MaxInFlight) }

// floorFigures are the figures of an operation judged against its floor, each name after prefix:
// its requests (at most maxRequests × the request floor), its wall time (at most 1.15 × the rate
// floor), and the 429s it met (none in any run).
func floorFigures(prefix string, p bench.Prepared, ss []bench.Sample, rate int, maxRequests float64) []bench.Figure {
	return []bench.Figure{
		{Name: prefix + "requests", Unit: "requests", Samples: values(ss, requests), Floor: float64(p.Floor.Requests), FloorName: "request floor", MaxRatio: maxRequests},
		{Name: prefix + "wall time", Unit: "s", Samples: values(ss, seconds), Floor: p.Floor.Seconds(rate),
			FloorName: fmt.Sprintf("rate floor: %d rate-limited requests ÷ %d/s", p.Floor.Limited, rate), MaxRatio: 1.15},
		{Name: prefix + "HTTP 429 answers", Unit: "429s", Samples: values(ss, rateLimited), Worst: true},
	}
}

// deliveryFigures are the figures of a delivery (scenarios 1 and 2).
func deliveryFigures(p bench.Prepared, ss []bench.Sample, rate int, maxRSS float64) []bench.Figure {
	figs := append(floorFigures("", p, ss, rate, 1.05),
		bench.Figure{Name: "peak RSS of the engine's process", Unit: "MB", Samples: values(ss, rss), Max: maxRSS})
	if maxRSS == 0 { // scenario 2: the issue sets no target but the request count
		figs[1].MaxRatio, figs[1].Note = 0, "reported"
		figs[3].Note = "reported"
	}
	return figs
}

func floorDetail(f bench.Floor) string {
	return fmt.Sprintf("Request floor %d = %s.", f.Requests, strings.Join(f.Parts, " + "))
}

func endpoints(ss []bench.Sample) string {
	if len(ss) == 0 {
		return ""
	}
	byEndpoint := ss[len(ss)-1].Counts.Requests
	keys := make([]string, 0, len(byEndpoint))
	for k := range byEndpoint {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s × %d", k, byEndpoint[k])
	}
	return "Requests of the last run: " + strings.Join(parts, ", ") + "."
}

func deliveryScenario(t *testing.T, c config, r *report, books int) {
	sub, title := "delivery", "1. Delivery to %d members at %d requests/s"
	what := "One book, intent `required`, to a group of %d invited members who have no VPP user yet: `CreateAssignment` " +
		"(what `terraform apply` of a `vpp_ebook_assignment` runs), from the shortage check to the recorded per-member states, " +
		"including the reads that confirm Apple did the work (the users walk that brings the invitation codes, and each associate event's status)."
	maxRSS := 200.0
	if books > 1 {
		sub, title = "many_books", "2. %d books to %d members at %d requests/s"
		what = "%d books, each assigned (`required`) to one group, which then gets %d invited members: `UpdateGroup`, one delivery " +
			"that creates the users and associates every book, several books sharing each associate request."
		maxRSS = 0
	}
	for _, rate := range c.rates {
		members := c.sizeAt(100_000, c.scaleAt(rate))
		if books > 1 {
			if rate != c.rates[0] {
				continue // no target of its own: Apple's rate only, to keep make bench short
			}
			members = min(5000, c.sizeAt(50_000, c.scaleAt(rate)))
		}
		p, ss := samples(t, c, rate, func(a *bench.Apple, db string) (bench.Prepared, error) {
			return bench.PrepareDelivery(context.Background(), a, db, members, books)
		}, func(p bench.Prepared, s bench.Sample) error { return p.Check(s.Result, members) })
		sec := bench.Section{Command: c.command(sub, rate), Figures: deliveryFigures(p, ss, rate, maxRSS),
			Details: []string{floorDetail(p.Floor), endpoints(ss),
				fmt.Sprintf("The simulator serves pages of %d records and processes each event before it answers the request that submitted it; "+
					"the engine's client paces itself from the announced maxRequestPerSecond.", c.pageSize)}}
		if books > 1 {
			sec.Details = append(sec.Details, fmt.Sprintf("The issue sets this scenario no target but that several books share each "+
				"associate request (the request count above, at the floor). Its wall time is reported against the rate floor all the "+
				"same, and does not meet scenario 1's 1.15: the floor is only %d requests here, and what it leaves out is the engine's "+
				"own work for %d licenses and %d member states (each row written once, plus planning them), done after Apple "+
				"confirmed the associations: only the journal and the users are written between the paced requests. Hiding it would "+
				"take a pipelined delivery (associate and record each thousand users while the next thousand are created).",
				p.Floor.Limited, members*books, members*books))
		}
		if books == 1 {
			sec.Title, sec.What = fmt.Sprintf(title, members, rate), fmt.Sprintf(what, members)
		} else {
			sec.Title, sec.What = fmt.Sprintf(title, books, members, rate), fmt.Sprintf(what, books, members)
		}
		r.add(sec)
	}
}

func syncScenario(t *testing.T, c config, r *report) {
	ctx := context.Background()
	for _, rate := range c.rates {
		books, users := c.sizeAt(10_000, c.scaleAt(rate)), c.sizeAt(100_000, c.scaleAt(rate))
		// A location seeded once per rate; a sync only reads Apple, so every run finds the same state.
		a := bench.NewApple(rate, c.pageSize)
		defer a.Close()
		db := filepath.Join(t.TempDir(), "engine.db")
		start := time.Now()
		full, err := bench.PrepareSync(ctx, a, db, books, users, 2)
		if err == nil {
			err = a.CheckStrict()
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seeded %d books, %d users and %d assignments in %s", books, users, 2*users, time.Since(start).Round(time.Second))
		incr := full.Incremental()
		var fs, is []bench.Sample
		for i := range c.runs {
			quiet() // the previous run's requests are out of Apple's one-second window
			s, err := bench.RunInChild(ctx, a, full.Op)
			if err == nil {
				err = full.Check(s.Result, 0)
			}
			if err == nil {
				err = a.CheckStrict()
			}
			if err != nil {
				t.Fatalf("full sync, run %d: %v", i+1, err)
			}
			t.Logf("full sync run %d: %.2fs, %d requests, %d in flight at most, %.0f MB", i+1, s.Seconds, s.Counts.Total, s.Counts.MaxInFlight, s.RSSMB)
			fs = append(fs, s)
		}
		for i := range c.runs {
			quiet()
			s, err := bench.RunInChild(ctx, a, incr.Op)
			if err == nil {
				err = incr.Check(s.Result, 0)
			}
			if err == nil {
				err = a.CheckStrict()
			}
			if err != nil {
				t.Fatalf("incremental sync, run %d: %v", i+1, err)
			}
			is = append(is, s)
		}
		r.add(bench.Section{
			Title: fmt.Sprintf("3. Sync of %d books, %d users and %d assignments at %d requests/s", books, users, 2*users, rate),
			What: fmt.Sprintf("`SyncToken` of a location with %d books, %d VPP users of the engine and %d assignments (two books per user), "+
				"all known to the engine: a full sync (client config, every page of books, users and assignments, written to the store), "+
				"then an incremental sync with nothing changed at Apple.", books, users, 2*users),
			Command: c.command("sync", rate),
			Figures: []bench.Figure{
				{Name: "full sync: requests", Unit: "requests", Samples: values(fs, requests), Floor: float64(full.Floor.Requests), FloorName: "request floor", MaxRatio: 1.05},
				{Name: "full sync: wall time", Unit: "s", Samples: values(fs, seconds), Floor: full.Floor.Seconds(rate),
					FloorName: fmt.Sprintf("rate floor: %d ÷ %d/s", full.Floor.Limited, rate), MaxRatio: 1.15},
				{Name: "full sync: requests in flight at once", Unit: "requests", Samples: values(fs, inFlight), Max: 5, Worst: true},
				{Name: "full sync: HTTP 429 answers", Unit: "429s", Samples: values(fs, rateLimited), Worst: true},
				{Name: "full sync: peak RSS of the engine's process", Unit: "MB", Samples: values(fs, rss), Max: 250},
				{Name: "incremental sync, nothing changed: requests", Unit: "requests", Samples: values(is, requests), Max: 4, Worst: true},
				{Name: "incremental sync: wall time", Unit: "s", Samples: values(is, seconds), Floor: incr.Floor.Seconds(rate),
					FloorName: fmt.Sprintf("rate floor: %d ÷ %d/s", incr.Floor.Limited, rate), Note: "reported"},
			},
			Details: []string{floorDetail(full.Floor), "Incremental: " + floorDetail(incr.Floor), endpoints(fs)},
		})
	}
}

// requireTerraform fails the scenario when no CLI was found: make bench always passes one
// (scripts/terraform-cli.sh finds or builds it), and a scenario skipped would vanish from the report.
func requireTerraform(t *testing.T, c config) {
	t.Helper()
	if c.terraform == "" {
		t.Fatal("no terraform CLI: set BENCH_TERRAFORM (make bench finds or builds one with scripts/terraform-cli.sh)")
	}
}

// newTerraform builds the provider for a Terraform scenario into a new directory dir, where the
// scenario's working directories go, and returns the CLI that runs it and the revision it was
// built from (the tree as it is now).
func newTerraform(t *testing.T, c config) (tf *bench.Terraform, dir, rev string) {
	t.Helper()
	requireTerraform(t, c)
	dir = t.TempDir()
	rev = bench.Revision(moduleRoot(t))
	tf, err := bench.NewTerraform(context.Background(), c.terraform, moduleRoot(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	return tf, dir, rev
}

// terraformScenario measures scenario 4 against terraform_data, with the same CLI. It measures
// what Terraform and the provider cost to plan and refresh a large configuration; no license is
// delivered (terraformDeliveryScenario measures an apply that delivers).
func terraformScenario(t *testing.T, c config, r *report) {
	ctx := context.Background()
	tf, dir, rev := newTerraform(t, c)
	shape := bench.NewTerraformShape(c.size(1000))
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	settle := []string{"apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"}
	plan := []string{"plan", "-refresh-only", "-input=false", "-no-color"}
	type timing struct{ apply, plan []float64 }
	measure := func(name, config string) timing {
		var tm timing
		for i := range c.runs {
			ws, err := tf.Workspace(dir, name, config)
			if err != nil {
				t.Fatal(err)
			}
			a, _, err := tf.Run(ctx, ws, nil, apply...)
			if err != nil {
				t.Fatal(err)
			}
			// The groups' invitations appear once the assignments created the users: take them into
			// the state, so that the plan measured is the steady state (no changes).
			if _, _, err := tf.Run(ctx, ws, nil, settle...); err != nil {
				t.Fatal(err)
			}
			p, out, err := tf.Run(ctx, ws, nil, plan...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "No changes.") {
				t.Fatalf("%s: the refresh-only plan after apply has changes:\n%s", name, out)
			}
			t.Logf("%s run %d: apply %.2fs, refresh-only plan %.2fs", name, i+1, a, p)
			tm.apply, tm.plan = append(tm.apply, a), append(tm.plan, p)
			_ = os.RemoveAll(ws)
		}
		return tm
	}
	floor := measure("floor", shape.FloorConfig())
	vpp := measure("vpp", shape.VPPConfig())

	// One more apply with the provider's debug log, untimed, counts its requests to Apple.
	ws, err := tf.Workspace(dir, "count", shape.VPPConfig())
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "provider.log")
	if _, _, err := tf.Run(ctx, ws, []string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=" + logPath}, apply...); err != nil {
		t.Fatal(err)
	}
	total, svc, err := bench.CountAppleRequests(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox's simulator runs inside the provider, where strict mode cannot be switched on;
	// its saved state shows what a double spend would leave: a person with two VPP users, or a
	// license spent (this configuration spends none).
	sb, err := bench.ReadSandbox(filepath.Join(ws, ".vpp", "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := shape.Groups * shape.MembersPerGroup; sb.Users != want || sb.Assignments != 0 || len(sb.Shared) != 0 {
		t.Fatalf("the sandbox holds %d users (want %d, one per member), %d licenses spent (want 0) and %d addresses with two users %v (want none)",
			sb.Users, want, sb.Assignments, len(sb.Shared), sb.Shared)
	}
	limited := total - svc
	med := func(v []float64) float64 { return bench.Figure{Samples: v}.Median() }
	rateFloor := float64(limited) / bench.AppleRate
	applyFloor, applyFloorName := med(floor.apply), "terraform_data apply, median"
	if rateFloor > applyFloor {
		applyFloor, applyFloorName = rateFloor, fmt.Sprintf("rate floor of its %d requests", limited)
	}
	r.add(bench.Section{
		Title:    fmt.Sprintf("4. Terraform: %d vpp_ebook_assignment resources in sandbox mode (plan and refresh cost; no license delivered)", shape.Assignments),
		Revision: rev,
		What: fmt.Sprintf("**This scenario measures what Terraform and the provider cost to plan, refresh and record a large configuration. "+
			"It delivers no license**: the intent is `available` and the invited members never accept, so nothing is associated at Apple "+
			"(scenario 4b measures an apply that delivers). "+
			"A configuration of %d resources in sandbox mode (`sandbox = true`: the simulator runs inside the provider and keeps its "+
			"state in a file; `VPP_SANDBOX_PACE=instant`, so that it answers at once, without Apple's rate limit and processing time, "+
			"which scenario 4b measures): one `vpp_token`, %d `vpp_user_group` of %d invited members, and %d `vpp_ebook_assignment` (%d books per group, "+
			"intent `available`, invitations never accepted), against the same graph of `terraform_data` resources (same count, references "+
			"and expressions) applied and planned by the same terraform binary. Each run starts from an empty directory: `%s`, then `%s` "+
			"(untimed: it takes in the invitations the assignments created), then the measured `%s`.",
			shape.Resources(), shape.Groups, shape.MembersPerGroup, shape.Assignments, shape.BooksPerGroup,
			tf.Command(apply...), tf.Command(settle...), tf.Command(plan...)),
		Command: c.command("terraform", 0),
		Figures: []bench.Figure{
			{Name: "terraform_data: apply", Unit: "s", Samples: floor.apply, Note: "floor"},
			{Name: "terraform_data: refresh-only plan", Unit: "s", Samples: floor.plan, Note: "floor"},
			{Name: "vpp: refresh-only plan", Unit: "s", Samples: vpp.plan, Floor: med(floor.plan), FloorName: "terraform_data refresh-only plan, median", MaxRatio: 1.5},
			{Name: "vpp: apply", Unit: "s", Samples: vpp.apply, Floor: applyFloor, FloorName: applyFloorName, MaxRatio: 1.5},
		},
		Details: []string{
			fmt.Sprintf("The apply sent %d requests to Apple (counted in one more, untimed apply with TF_LOG_PROVIDER=DEBUG; %d of them GET /service/config, "+
				"which is not rate-limited): its rate floor is %.1f s at %d/s. None of them associates a license: the apply creates the "+
				"members' VPP users and their invitations, and records each assignment as waiting for them.", total, svc, rateFloor, bench.AppleRate),
			fmt.Sprintf("No double spend: the sandbox's simulator runs inside the provider, where the bench cannot switch strict mode on, so the "+
				"state it saved after that apply is checked instead: %d active users, one per member, no address shared by two users, and "+
				"no license spent.", sb.Users),
			"Terraform starts the provider once for the plan and once for the apply; each start opens the engine's database and the sandbox's state. " +
				"That fixed cost (a few tenths of a second per command) dominates at small sizes: compare figures at BENCH_SCALE=1.",
			"What remains above the terraform_data floor at full size is mostly the plugin protocol, which terraform_data, built into " +
				"Terraform, does without: per resource a gRPC ReadResource and UpgradeResourceState (plus PlanResourceChange and " +
				"ApplyResourceChange on apply), the state encoded and decoded on both sides, and the plugin framework's schema walk. The " +
				"provider's own share of a refresh is one read-only transaction per assignment, of three statements prepared once (the " +
				"delivery states are recomputed once per refresh at most, when a sync or an interrupted delivery changed them), and no " +
				"state write when nothing changed. With no TF_LOG* variable set the provider also switches off the plugin SDK's trace " +
				"logging, which Terraform would discard (it was most of the provider's CPU in this plan), and it collects garbage less " +
				"often while its heap is small (engine.TuneGC).",
		},
	})
}

// terraformDeliveryScenario is scenario 4b: a Terraform apply that delivers licenses. The provider
// talks to the bench's simulator on loopback (apple_api_url), in strict mode and limited to Apple's
// 15 requests per second, which counts every request; the groups are Managed Apple Accounts, so
// required assignments license every member in the apply itself.
func terraformDeliveryScenario(t *testing.T, c config, r *report) {
	ctx := context.Background()
	tf, dir, rev := newTerraform(t, c)
	const rate = bench.AppleRate
	shape := bench.NewDeliveryShape(c.size(200), 10)
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	plan := []string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}
	var floorApply, rateFloors []float64
	var ss []bench.Sample
	for i := range c.runs {
		// The same graph of terraform_data resources: what Terraform itself takes for this apply.
		ws, err := tf.Workspace(dir, "floor", shape.FloorConfig())
		if err != nil {
			t.Fatal(err)
		}
		fa, _, err := tf.Run(ctx, ws, nil, apply...)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.RemoveAll(ws)

		a := bench.NewApple(rate, c.pageSize)
		s, err := deliverThroughTerraform(ctx, tf, a, dir, shape, apply, plan)
		a.Close()
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		t.Logf("run %d: terraform_data apply %.2fs; vpp apply %.2fs, %d requests (%v), %d answered 429", i+1, fa, s.Seconds,
			s.Counts.Total, s.Counts.Requests, s.Counts.RateLimited)
		floorApply, ss = append(floorApply, fa), append(ss, s)
		rateFloors = append(rateFloors, float64(s.Counts.Limited())/rate)
	}
	rateFloor := bench.Figure{Samples: rateFloors}.Median()
	limited := ss[len(ss)-1].Counts.Limited()
	df := bench.TerraformDeliveryFloor(shape.Assignments, shape.Groups, shape.MembersPerGroup, c.pageSize, apple.DefaultLimits())
	r.add(bench.Section{
		Title: fmt.Sprintf("4b. Terraform delivering licenses: %d required assignments to %d Managed Apple Accounts at %d requests/s",
			shape.Assignments, shape.Groups*shape.MembersPerGroup, rate),
		Revision: rev,
		What: fmt.Sprintf("A `terraform apply` from an empty directory that delivers %d licenses: one `vpp_token`, %d `vpp_user_group` of %d "+
			"Managed Apple Accounts (associated at once, no invitation) and %d `vpp_ebook_assignment` (%d books per group, intent `required`). "+
			"The provider talks to the simulated Apple on loopback (`apple_api_url`) at Apple's %d requests/s, in strict mode. Each run checks "+
			"that Apple holds every license and the state every licensed member, that the simulator recorded no double spend, and that the "+
			"next `%s` has nothing to do (exit 0); the same graph of `terraform_data` resources is applied by the same binary for reference.",
			shape.Licenses(), shape.Groups, shape.MembersPerGroup, shape.Assignments, shape.BooksPerGroup, rate, tf.Command(plan...)),
		Command: c.command("terraform_delivery", 0),
		Figures: []bench.Figure{
			{Name: "requests", Unit: "requests", Samples: values(ss, requests), Floor: float64(df.Requests),
				FloorName: "request floor of the deliveries, one resource at a time", Note: "reported"},
			{Name: "wall time of the apply", Unit: "s", Samples: values(ss, seconds), Floor: rateFloor,
				FloorName: fmt.Sprintf("rate floor: its %d rate-limited requests ÷ %d/s", limited, rate), Note: "reported"},
			{Name: "HTTP 429 answers", Unit: "429s", Samples: values(ss, rateLimited), Worst: true},
			{Name: "terraform_data: apply of the same graph", Unit: "s", Samples: floorApply, Note: "reference"},
		},
		Details: []string{
			fmt.Sprintf("The wall time is that of the whole `%s`: Terraform's plan and apply, both provider starts, the token's upload "+
				"and sync, and the deliveries. Its floor is the time Apple's rate limit alone imposes on the requests the same run "+
				"sent: %d rate-limited requests (every request but GET /service/config and the catalog's GET /lookup) ÷ %d/s.",
				tf.Command(apply...), limited, rate),
			floorDetail(df) + " The rest of the requests upload and sync the token (client config, assets, users and assignments) " +
				"and read the catalog for the data source.",
			endpoints(ss),
		},
	})
}

// deliverThroughTerraform runs one apply of the delivering configuration against a, timed, and
// checks what it promises.
func deliverThroughTerraform(ctx context.Context, tf *bench.Terraform, a *bench.Apple, dir string, shape bench.TerraformShape, apply, plan []string) (bench.Sample, error) {
	uid, token, err := a.Location("Terraform delivery", bench.Books(1000000001, shape.BooksPerGroup, shape.LicensesPerBook()))
	if err != nil {
		return bench.Sample{}, err
	}
	ws, err := tf.WorkspaceWithToken(dir, "vpp", shape.DeliveryConfig(a.URL()), token)
	if err != nil {
		return bench.Sample{}, err
	}
	defer os.RemoveAll(ws)
	a.ResetCounts()
	secs, _, err := tf.Run(ctx, ws, nil, apply...)
	if err != nil {
		return bench.Sample{}, err
	}
	s := bench.Sample{Seconds: secs, Counts: a.Counts()}
	if err := a.CheckStrict(); err != nil {
		return s, err
	}
	if held := len(a.Sim.Assignments(uid)); held != shape.Licenses() {
		return s, fmt.Errorf("Apple holds %d licenses after the apply, want %d", held, shape.Licenses())
	}
	n, licensed, err := bench.StateCounts(ws)
	if err != nil {
		return s, err
	}
	if n != shape.Assignments || licensed != shape.Licenses() {
		return s, fmt.Errorf("the state holds %d assignments with %d licensed members, want %d with %d", n, licensed, shape.Assignments, shape.Licenses())
	}
	quiet() // the plan's provider starts a new pacer: let the apply's requests leave Apple's window
	if _, _, err := tf.Run(ctx, ws, nil, plan...); err != nil {
		return s, fmt.Errorf("the plan after the delivering apply is not empty (exit 2 means changes): %w", err)
	}
	return s, a.CheckStrict()
}

// storeScenario records the deliveries of scenario 1 on SQLite and PostgreSQL. Each backend runs as
// a subtest; one that cannot run (PostgreSQL that is not installed or does not start) fails the
// bench with storetest's reason, and its section says so in the report instead of vanishing.
func storeScenario(t *testing.T, c config, r *report) {
	members := c.size(100_000)
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		title := fmt.Sprintf("5. Store: recording the deliveries of scenario 1 (%d members) on %s", members, storeName(kind))
		var why string
		if !t.Run(string(kind), func(t *testing.T) { storeBackend(t, c, r, kind, members, title, &why) }) {
			if why == "" {
				why = fmt.Sprintf("the %s runs failed; the output of `go test` (TestBench/store/%s) says why", kind, kind)
			}
			r.add(bench.Section{Title: title, Command: c.command("store", 0), NotMeasured: why})
		}
	}
}

func storeBackend(t *testing.T, c config, r *report, kind store.Kind, members int, title string, why *string) {
	ctx := context.Background()
	var deliver, record []float64
	for i := range c.runs {
		url := storetest.URL(noSkip{TB: t, why: why}, kind)
		a := bench.NewApple(bench.AppleRate, c.pageSize)
		p, err := bench.PrepareDelivery(ctx, a, url, members, 1)
		if err != nil {
			a.Close()
			t.Fatal(err)
		}
		a.Unthrottled()
		op := p.Op
		op.Unthrottled = true
		s := bench.RunInProcess(ctx, a, op)
		err = p.Check(s.Result, members)
		if err == nil {
			err = a.CheckStrict()
		}
		if err != nil {
			a.Close()
			t.Fatalf("%s run %d: %v", kind, i+1, err)
		}
		// The states again, from the records alone: nothing to send, nothing changed to write.
		rec := bench.RunInProcess(ctx, a, bench.Op{Kind: bench.OpRecord, DB: op.DB, Apple: op.Apple, TokenID: op.TokenID, Unthrottled: true})
		strict := a.CheckStrict()
		a.Close()
		if rec.Result.Error != "" || rec.Counts.Limited() != 0 {
			t.Fatalf("%s run %d: recording: %s, %d requests", kind, i+1, rec.Result.Error, rec.Counts.Limited())
		}
		if strict != nil {
			t.Fatalf("%s run %d: recording: %v", kind, i+1, strict)
		}
		t.Logf("%s run %d: delivery %.2fs (%d requests), recording %.2fs", kind, i+1, s.Seconds, s.Counts.Total, rec.Seconds)
		deliver, record = append(deliver, s.Seconds), append(record, rec.Seconds)
	}
	r.add(bench.Section{
		Title: title,
		What: fmt.Sprintf("Scenario 1's `CreateAssignment` with Apple's rate limit lifted (simulator and client), on %s, in the test "+
			"process: what remains is the engine's and the store's own time (journal, %d users written twice, licenses, per-member "+
			"states; the simulator answers in the same process). Then the states are recomputed from the records alone (`Deliver` "+
			"with nothing due: one read of the token's work and %d states compared with the recorded ones, none written).", storeName(kind), members, members),
		Command: c.command("store", 0),
		Figures: []bench.Figure{
			{Name: "delivery without the rate limit", Unit: "s", Samples: deliver, Note: "reported"},
			{Name: "per member", Unit: "µs", Samples: scaled(deliver, 1e6/float64(members)), Note: "reported"},
			{Name: "recomputing every state, nothing due", Unit: "s", Samples: record, Note: "reported"},
		},
	})
}

// noSkip hands storetest a test that cannot be skipped: where storetest would skip the PostgreSQL
// runs (no server binaries, VPP_REQUIRE_POSTGRES unset) or fail them (the server does not start),
// the bench fails, saying why, and keeps the reason for the report.
type noSkip struct {
	testing.TB
	why *string
}

func (n noSkip) fail(msg string) {
	*n.why = "No PostgreSQL server could be used, so the store's figures on PostgreSQL were not taken: " + msg
	n.TB.Fatalf("%s\nmake bench measures the store on PostgreSQL too: install PostgreSQL's server (Debian: apt-get install postgresql; "+
		"initdb and postgres on PATH or under /usr/lib/postgresql/*/bin), and run as a user it accepts (as root, a 'postgres' user)", msg)
}

func (n noSkip) Fatal(args ...any)                 { n.fail(fmt.Sprint(args...)) }
func (n noSkip) Fatalf(format string, args ...any) { n.fail(fmt.Sprintf(format, args...)) }
func (n noSkip) Skip(args ...any)                  { n.fail(fmt.Sprint(args...)) }
func (n noSkip) Skipf(format string, args ...any)  { n.fail(fmt.Sprintf(format, args...)) }
func (n noSkip) SkipNow()                          { n.fail("storetest skipped the PostgreSQL runs") }
func (n noSkip) FailNow()                          { n.fail("storetest failed the PostgreSQL runs") }

func storeName(k store.Kind) string {
	if k == store.Postgres {
		return "PostgreSQL (a throwaway local server, storetest)"
	}
	return "SQLite (WAL, the embedded default)"
}

func scaled(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

// notes are the report's closing remarks: how to read it, and what the design cannot do better.
func notes() []string {
	return []string{
		"**How the figures are taken.** Each engine operation runs in a child process (the test binary, re-executed) that opens a fresh " +
			"engine on a database the parent prepared and runs the operation once, with the provider's garbage collector settings " +
			"(engine.TuneGC); wall time covers the operation, not opening the engine. The simulated Apple runs in the parent on a loopback HTTP server and counts every request it receives, 429s " +
			"included; it processes each event before answering the request that submitted it, so Apple's processing time is not part " +
			"of the figures and the counts do not depend on a race. Runs on a shared location start after a second's pause, outside " +
			"the previous run's rate window.",
		"**Strict mode.** The simulated Apple runs in strict mode (applesim's Strict): every double spend it processes (a license " +
			"associated to someone who holds it, a user created for a clientUserId that is active, a second user for one address) is " +
			"recorded, and every scenario fails on the first one, after its setup and after each run. Its check for a second user " +
			"looks up the new user's addresses in an index, so it costs the same per user at 100,000 members as at 100. The sandbox " +
			"of scenario 4 runs inside the provider, out of reach: its saved state is checked instead.",
		"**Peak RSS** is the child's VmHWM from /proc/self/status, read as it exits: the high-water mark of its own address space. " +
			"wait4's ru_maxrss would overstate it, because os/exec starts children with vfork and the kernel carries the parent's " +
			"high-water mark (here, the simulator's) into the child's at exec.",
		"**Floors.** The request floor is computed from the limits Apple documents (users/create at 100 users, associate at 25 " +
			"books × 1000 users, 5 pages in flight) and the simulator's page size in the same run; the rate floor is the floor's " +
			"rate-limited requests ÷ maxRequestPerSecond (GET /service/config needs no token and is not rate-limited); the Terraform " +
			"floor is the same graph of terraform_data resources, planned and applied by the same binary in the same run.",
		"**Pace.** The client sends at most maxRequestPerSecond requests per second, evenly spaced, and lets a request go only a " +
			"second after the answer to the one that many places before it: Apple's one-second window can never hold more, whatever " +
			"the network's jitter, and the pace stays within a round trip of the limit. A second process working the same token " +
			"cannot know what the first sent; it may meet a 429 in its first second, which the client retries.",
		"**Reading Apple first.** The engine's database is a cache that may be behind Apple (another runner's, a restored backup), so " +
			"a process's first delivery to a token reads what Apple holds before it sends anything: the location's users (every page " +
			"when the records' index of them is not complete, else those changed since it), so that members who already have a user " +
			"are adopted, not created again; and the licenses of the users it adopts (user by user when they are ten or fewer, else an " +
			"incremental sync) before it licenses them. Members with no user yet hold no license, so in scenarios 1 and 2 this is one " +
			"page of users, part of their floor.",
		"**Refresh of tokens.** Every refresh of a `vpp_token` asks Apple for its client config, so that another system's claim or a " +
			"revoked or expired token shows in the next plan: a plan that refreshes N tokens costs 2N requests (N GET /client/config, " +
			"and N GET /service/config, unauthenticated and not rate-limited, which each token's new client reads once), and a further " +
			"refresh in the same process N. Counted exactly by TestRefreshToken_oneRequestPerToken in `make test` " +
			"(`go test -run TestRefreshToken_oneRequestPerToken ./internal/engine`). Apple's rate limit is per token, so they do not queue behind each other.",
	}
}
