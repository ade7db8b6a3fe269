package bench_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/bench"
)

// Terraform commands of scenario 6.
var (
	tfApply  = []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	tfSettle = []string{"apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"}
	tfPlan   = []string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}
)

// groupRun is what one run of scenario 6 measured at one size.
type groupRun struct {
	// The terraform_data graph holding the same roster as a list (members attribute only).
	floorApply, floorPlan, floorAdd float64
	// The provider's commands: wall time and what Apple saw.
	create, plan, add bench.Sample
	rssMB             float64 // the largest peak RSS of the run's provider processes
	processes         int     // how many provider processes the run started
	wrapperMB         float64 // the wrapper's own high-water mark (see bench.RunProviderIfAsked)
	stateMB           float64 // the state file once the refresh took the delivery in
}

// groupSize is the runs of one size.
type groupSize struct {
	shape bench.GroupShape
	runs  []groupRun
}

// terraformGroupsScenario is scenario 6 (issue 13): one user group of many invited members and one
// required assignment, through the real CLI against the simulator at Apple's rate, with its members
// from a variable (beside terraform_data holding the same list) and from a roster file.
func terraformGroupsScenario(t *testing.T, c config, r *report) {
	ctx := context.Background()
	tf, dir, rev := newTerraform(t, c)
	self, err := os.Executable()
	if err == nil {
		err = tf.MeasureProviderRSS(self)
	}
	if err != nil {
		t.Fatal(err)
	}
	var members, roster []groupSize
	for _, n := range []int{c.size(1000), c.size(10_000)} {
		g := measureGroup(t, c, tf, dir, bench.GroupShape{Members: n})
		members = append(members, g)
		r.add(groupSection(c, rev, g, true))
	}
	if why := rosterMissing(t, ctx, tf, dir); why != "" {
		r.add(bench.Section{Title: "6b. Terraform: one user group from a roster file: not measured", Revision: rev,
			Command: c.command("terraform_groups", 0), NotMeasured: why})
	} else {
		sizes := []int{c.size(1000), c.size(10_000), c.size(100_000)}
		for _, n := range sizes {
			g := measureGroup(t, c, tf, dir, bench.GroupShape{Members: n, Roster: true})
			roster = append(roster, g)
			r.add(groupSection(c, rev, g, n == sizes[len(sizes)-1]))
		}
	}
	r.add(costSection(c, rev, members, roster))
}

// rosterMissing says why the roster file cannot be measured ("" when it can): `terraform validate`
// of the roster configuration refuses the argument.
func rosterMissing(t *testing.T, ctx context.Context, tf *bench.Terraform, dir string) string {
	t.Helper()
	shape := bench.GroupShape{Members: 1, Roster: true}
	ws, err := tf.Workspace(dir, "validate", shape.Config("http://127.0.0.1:1/mdm/v2"))
	if err == nil {
		err = shape.WriteMembers(ws, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(ws)
	_, _, err = tf.Run(ctx, ws, nil, "validate", "-no-color")
	ok, err := bench.HasRosterAttribute(err)
	if err != nil {
		t.Fatalf("the roster configuration does not validate: %v", err)
	}
	if !ok {
		return "vpp_user_group has no roster attribute (`terraform validate`: " + bench.RosterMissing + "), so the members of a roster file were not measured."
	}
	return ""
}

// measureGroup runs one size c.runs times: the terraform_data graph (members attribute only), then
// the provider's, each against a fresh simulator.
func measureGroup(t *testing.T, c config, tf *bench.Terraform, dir string, shape bench.GroupShape) groupSize {
	t.Helper()
	ctx := context.Background()
	g := groupSize{shape: shape}
	for i := range c.runs {
		var run groupRun
		if !shape.Roster {
			var err error
			if run.floorApply, run.floorPlan, run.floorAdd, err = groupFloorRun(ctx, tf, dir, shape.Members); err != nil {
				t.Fatalf("%d members, run %d: terraform_data: %v", shape.Members, i+1, err)
			}
		}
		a := bench.NewApple(bench.AppleRate, c.pageSize)
		err := groupRunVPP(ctx, tf, a, dir, shape, &run)
		a.Close()
		if err != nil {
			t.Fatalf("%s, run %d: %v", groupName(shape), i+1, err)
		}
		if !shape.Roster {
			t.Logf("%s run %d: terraform_data apply %.2fs, plan %.2fs, add one %.2fs", groupName(shape), i+1, run.floorApply, run.floorPlan, run.floorAdd)
		}
		t.Logf("%s run %d: vpp create %.2fs (%d requests), plan %.2fs (%d), add one %.2fs (%d); %d 429s; provider peak RSS %.0f MB over %d processes; "+
			"state %.2f MB", groupName(shape), i+1, run.create.Seconds, run.create.Counts.Total, run.plan.Seconds, run.plan.Counts.Total,
			run.add.Seconds, run.add.Counts.Total, run.rateLimited(), run.rssMB, run.processes, run.stateMB)
		g.runs = append(g.runs, run)
	}
	return g
}

func groupName(s bench.GroupShape) string {
	if s.Roster {
		return fmt.Sprintf("roster file of %d members", s.Members)
	}
	return fmt.Sprintf("%d members", s.Members)
}

// groupFloorRun applies, plans and grows by one member the terraform_data graph holding n members.
func groupFloorRun(ctx context.Context, tf *bench.Terraform, dir string, n int) (apply, plan, add float64, err error) {
	shape := bench.GroupShape{Members: n}
	ws, err := tf.Workspace(dir, "floor", shape.FloorConfig())
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(ws)
	if err := shape.WriteMembers(ws, n); err != nil {
		return 0, 0, 0, err
	}
	if apply, _, err = tf.Run(ctx, ws, nil, tfApply...); err != nil {
		return 0, 0, 0, err
	}
	if plan, _, err = tf.Run(ctx, ws, nil, tfPlan...); err != nil {
		return 0, 0, 0, fmt.Errorf("the plan after the apply is not empty (exit 2 means changes): %w", err)
	}
	if err := shape.WriteMembers(ws, n+1); err != nil {
		return 0, 0, 0, err
	}
	add, _, err = tf.Run(ctx, ws, nil, tfApply...)
	return apply, plan, add, err
}

// groupRunVPP runs the provider's commands of one run against a and checks what they promise:
// the create, the untimed refresh that takes the invitations into the state, the plan with
// nothing changed, and the apply of one more member.
func groupRunVPP(ctx context.Context, tf *bench.Terraform, a *bench.Apple, dir string, shape bench.GroupShape, run *groupRun) error {
	uid, token, err := a.Location("District", shape.Books())
	if err != nil {
		return err
	}
	ws, err := tf.WorkspaceWithToken(dir, "vpp", shape.Config(a.URL()), token)
	if err != nil {
		return err
	}
	defer os.RemoveAll(ws)
	rss := bench.ProviderRSS(filepath.Join(ws, "provider-rss"))
	if err := shape.WriteMembers(ws, shape.Members); err != nil {
		return err
	}
	if run.create, err = groupCommand(ctx, tf, a, ws, rss, tfApply); err != nil {
		return err
	}
	if err := checkLicensed(a, uid, ws, shape.Members); err != nil {
		return fmt.Errorf("after the first apply: %w", err)
	}
	if _, err := groupCommand(ctx, tf, a, ws, rss, tfSettle); err != nil {
		return err
	}
	if run.stateMB, err = bench.StateSizeMB(ws); err != nil {
		return err
	}
	if run.plan, err = groupCommand(ctx, tf, a, ws, rss, tfPlan); err != nil {
		return fmt.Errorf("the plan after the apply is not empty (exit 2 means changes): %w", err)
	}
	if err := shape.WriteMembers(ws, shape.Members+1); err != nil {
		return err
	}
	if run.add, err = groupCommand(ctx, tf, a, ws, rss, tfApply); err != nil {
		return err
	}
	// The assignment's licensed_count in the state stays as it was until the next refresh: Terraform
	// applied the group, not the assignment. Apple's licenses are the check.
	if held := len(a.Sim.Assignments(uid)); held != shape.Members+1 {
		return fmt.Errorf("after the apply adding one member, Apple holds %d licenses, want %d", held, shape.Members+1)
	}
	run.rssMB, run.processes, run.wrapperMB, err = rss.Peak()
	return err
}

// groupCommand runs one Terraform command against a, timed, once Apple's window is clear of the
// previous command's requests, and returns its wall time and what Apple saw.
func groupCommand(ctx context.Context, tf *bench.Terraform, a *bench.Apple, ws string, rss bench.ProviderRSS, args []string) (bench.Sample, error) {
	quiet() // each command's provider starts a new pacer
	a.ResetCounts()
	secs, _, err := tf.Run(ctx, ws, rss.Env(), args...)
	s := bench.Sample{Seconds: secs, Counts: a.Counts()}
	if err == nil {
		err = a.CheckStrict()
	}
	return s, err
}

// checkLicensed checks that Apple holds a license for each of the n members and that the state's
// assignment counts them licensed.
func checkLicensed(a *bench.Apple, uid, ws string, n int) error {
	if held := len(a.Sim.Assignments(uid)); held != n {
		return fmt.Errorf("Apple holds %d licenses, want %d", held, n)
	}
	assignments, licensed, err := bench.StateCounts(ws)
	if err != nil {
		return err
	}
	if assignments != 1 || licensed != n {
		return fmt.Errorf("the state holds %d assignments with %d licensed members, want 1 with %d", assignments, licensed, n)
	}
	return nil
}

func (r groupRun) rateLimited() int {
	return r.create.Counts.RateLimited + r.plan.Counts.RateLimited + r.add.Counts.RateLimited
}

// field collects one value of every run.
func (g groupSize) field(f func(groupRun) float64) []float64 {
	out := make([]float64, len(g.runs))
	for i, r := range g.runs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 { return bench.Figure{Samples: v}.Median() }

// groupFloors are the request floors of scenario 6's three commands.
func groupFloors(c config, members int) (create, plan, add bench.Floor) {
	lim := apple.DefaultLimits()
	return bench.TerraformGroupCreateFloor(members, c.pageSize, lim), bench.TokenRefreshFloor(), bench.TerraformGroupAddFloor(c.pageSize, lim)
}

// groupSection reports one size. judged says whether the roster file's targets apply (they are
// set for its largest size); the members attribute's apply at every size.
func groupSection(c config, rev string, g groupSize, judged bool) bench.Section {
	const rate = bench.AppleRate
	n := g.shape.Members
	createFloor, planFloor, addFloor := groupFloors(c, n)
	createRate, addRate := createFloor.Seconds(rate), addFloor.Seconds(rate)
	seconds := func(s func(groupRun) bench.Sample) []float64 {
		return g.field(func(r groupRun) float64 { return s(r).Seconds })
	}
	requests := func(s func(groupRun) bench.Sample) []float64 {
		return g.field(func(r groupRun) float64 { return float64(s(r).Counts.Total) })
	}
	create, plan, add := func(r groupRun) bench.Sample { return r.create }, func(r groupRun) bench.Sample { return r.plan },
		func(r groupRun) bench.Sample { return r.add }
	var figs []bench.Figure
	if g.shape.Roster {
		figs = rosterTargets(n, judged, seconds(create), seconds(plan), seconds(add), createFloor, addFloor)
	} else {
		figs = membersTargets(g, seconds(create), seconds(plan), seconds(add), createFloor, addFloor)
	}
	rssFig := bench.Figure{Name: "peak RSS of the provider process", Unit: "MB", Samples: g.field(func(r groupRun) float64 { return r.rssMB }), Note: "reported"}
	if g.shape.Roster && judged {
		rssFig.Max, rssFig.Note = 300, ""
	}
	figs = append(figs,
		bench.Figure{Name: "requests of the create", Unit: "requests", Samples: requests(create), Floor: float64(createFloor.Requests), FloorName: "request floor", Note: "reported"},
		bench.Figure{Name: "requests of the plan", Unit: "requests", Samples: requests(plan), Floor: float64(planFloor.Requests), FloorName: "request floor", Note: "reported"},
		bench.Figure{Name: "requests of the apply adding one member", Unit: "requests", Samples: requests(add), Floor: float64(addFloor.Requests), FloorName: "request floor", Note: "reported"},
		bench.Figure{Name: "HTTP 429 answers, all three commands", Unit: "429s", Samples: g.field(func(r groupRun) float64 { return float64(r.rateLimited()) }), Worst: true},
		rssFig,
		bench.Figure{Name: "state file after the refresh", Unit: "MB", Samples: g.field(func(r groupRun) float64 { return r.stateMB }), Note: "reported"},
	)
	last := g.runs[len(g.runs)-1]
	return bench.Section{
		Title:    groupTitle(g.shape),
		Revision: rev,
		What:     groupWhat(g.shape),
		Command:  c.command("terraform_groups", 0),
		Figures:  figs,
		Details: []string{
			fmt.Sprintf("Create: %s The rate floor is its %d rate-limited requests ÷ %d/s = %s s.", floorDetail(createFloor), createFloor.Limited, rate, fmtSeconds(createRate)),
			fmt.Sprintf("Plan: %s", floorDetail(planFloor)),
			fmt.Sprintf("Add one member: %s The rate floor is its %d rate-limited requests ÷ %d/s = %s s.", floorDetail(addFloor), addFloor.Limited, rate, fmtSeconds(addRate)),
			"Create: " + endpoints([]bench.Sample{last.create}),
			"Plan: " + endpoints([]bench.Sample{last.plan}),
			"Add one member: " + endpoints([]bench.Sample{last.add}),
			fmt.Sprintf("Peak RSS is the largest of the %d provider processes Terraform started in the run (create, the untimed "+
				"refresh, plan, add one): a wrapper in the provider's place starts each and reads wait4's ru_maxrss when it exits. "+
				"The wrapper's own high-water mark (%.0f MB) is carried into that figure at exec, so a figure above it is the provider's own.",
				last.processes, last.wrapperMB),
		},
	}
}

func fmtSeconds(v float64) string { return fmt.Sprintf("%.2f", v) }

// membersTargets are the figures of the members attribute, each beside the terraform_data graph
// holding the same list (issue 13's targets).
func membersTargets(g groupSize, create, plan, add []float64, createFloor, addFloor bench.Floor) []bench.Figure {
	fa, fp, fadd := g.field(func(r groupRun) float64 { return r.floorApply }), g.field(func(r groupRun) float64 { return r.floorPlan }),
		g.field(func(r groupRun) float64 { return r.floorAdd })
	createRate, addRate := createFloor.Seconds(bench.AppleRate), addFloor.Seconds(bench.AppleRate)
	floor, floorName := median(fa), "terraform_data apply, median"
	if createRate > floor {
		floor, floorName = createRate, fmt.Sprintf("Apple's rate floor: %d requests ÷ %d/s", createFloor.Limited, bench.AppleRate)
	}
	return []bench.Figure{
		{Name: "terraform_data: apply (create)", Unit: "s", Samples: fa, Note: "floor"},
		{Name: "terraform_data: plan, nothing changed", Unit: "s", Samples: fp, Note: "floor"},
		{Name: "terraform_data: apply adding one member", Unit: "s", Samples: fadd, Note: "floor"},
		{Name: "vpp: create (apply from an empty directory)", Unit: "s", Samples: create, Floor: floor,
			FloorName: "max(Apple's rate floor, terraform_data apply): " + floorName, MaxRatio: 1.15, Plus: 1},
		{Name: "vpp: plan, nothing changed", Unit: "s", Samples: plan, Floor: median(fp), FloorName: "terraform_data plan, median", MaxRatio: 1.5, Plus: 1},
		{Name: "vpp: apply adding one member", Unit: "s", Samples: add, Floor: median(fadd),
			FloorName: fmt.Sprintf("terraform_data apply adding one member, median; the target adds Apple's rate floor of its %d requests (%s s) and 1 s",
				addFloor.Limited, fmtSeconds(addRate)), MaxRatio: 1.5, Plus: addRate + 1},
	}
}

// rosterTargets are the figures of the roster file, judged at its largest size (issue 13's
// targets are for 100,000 members) and reported at the others.
func rosterTargets(n int, judged bool, create, plan, add []float64, createFloor, addFloor bench.Floor) []bench.Figure {
	createRate, addRate := createFloor.Seconds(bench.AppleRate), addFloor.Seconds(bench.AppleRate)
	figs := []bench.Figure{
		{Name: "vpp: create (apply from an empty directory)", Unit: "s", Samples: create, Floor: createRate,
			FloorName: fmt.Sprintf("Apple's rate floor: %d requests ÷ %d/s", createFloor.Limited, bench.AppleRate), MaxRatio: 1.15},
		{Name: "vpp: plan, nothing changed", Unit: "s", Samples: plan, Max: 5},
		{Name: "vpp: apply adding one member (a row appended)", Unit: "s", Samples: add, Floor: addRate,
			FloorName: fmt.Sprintf("Apple's rate floor: %d requests ÷ %d/s", addFloor.Limited, bench.AppleRate), MaxRatio: 1, Plus: 5},
	}
	if !judged {
		for i := range figs {
			figs[i].MaxRatio, figs[i].Plus, figs[i].Max = 0, 0, 0
			figs[i].Note = fmt.Sprintf("reported (the targets are for the largest roster; this is %d members)", n)
		}
	}
	return figs
}

func groupTitle(s bench.GroupShape) string {
	if s.Roster {
		return fmt.Sprintf("6b. Terraform: one user group of %d members from a roster file and one required assignment, through the real CLI at %d requests/s",
			s.Members, bench.AppleRate)
	}
	return fmt.Sprintf("6. Terraform: one user group of %d members (`members`) and one required assignment, through the real CLI at %d requests/s",
		s.Members, bench.AppleRate)
}

func groupWhat(s bench.GroupShape) string {
	source := fmt.Sprintf("`members = var.members`, from a generated `%s`", "members.auto.tfvars.json")
	beside := " Beside it, in the same run and by the same binary, the same graph of `terraform_data` resources holding the same " +
		"roster as a list from the same variable is applied, planned with nothing changed, and applied again with one more member: " +
		"Terraform's own cost, the floor."
	if s.Roster {
		source = "`roster = { file = \"${path.module}/users.csv\", column = \"email\" }`: a CSV file with a header row " +
			"(`sourcedId,email,role`) and a row per member, which only the provider reads"
		beside = " No `terraform_data` list is applied beside it: at 100,000 members a plain list costs Terraform itself minutes " +
			"(issue 13); the sizes 1,000, 10,000 and 100,000 give the cost per member instead (6c)."
	}
	return fmt.Sprintf("A `%s` from an empty directory creates one `vpp_token`, one `vpp_user_group` of %d invited members "+
		"(`managed_apple_accounts = false`; %s) and one `vpp_ebook_assignment` of the location's one book to it, intent `required`: "+
		"the apply creates every member's VPP user and licenses them all (the invitations are never accepted, so every run repeats the "+
		"same work). The provider talks to the simulated Apple on loopback (`apple_api_url`) at Apple's %d requests/s, in strict mode, "+
		"with its engine on SQLite. Then, untimed, `%s` takes into the state what the delivery changed (a `members` group's "+
		"invitations, the assignment's counts); then `%s` with nothing changed (exit 0 "+
		"required); then one member more and `%s` again. Each run starts from a fresh simulator and checks after each apply that "+
		"Apple holds a license for every member, that the state's assignment counts them licensed, and that the simulator recorded "+
		"no double spend.%s",
		"terraform "+strings.Join(tfApply, " "), s.Members, source, bench.AppleRate, "terraform "+strings.Join(tfSettle, " "),
		"terraform "+strings.Join(tfPlan, " "), "terraform "+strings.Join(tfApply, " "), beside)
}

// costSection reports the cost per member across sizes: wall time of the create per member, the
// time it spends above Apple's rate floor per member, and the plan per member. Flat or falling
// from one size to the next is the target, on the time above the rate floor (the provider's and
// Terraform's own work, which must be O(n log n) or better).
func costSection(c config, rev string, modes ...[]groupSize) bench.Section {
	var figs []bench.Figure
	var sizes []string
	for _, gs := range modes {
		var prev []float64
		for _, g := range gs {
			n := g.shape.Members
			createFloor, _, _ := groupFloors(c, n)
			rate := createFloor.Seconds(bench.AppleRate)
			name := groupName(g.shape)
			sizes = append(sizes, name)
			above := g.field(func(r groupRun) float64 { return (r.create.Seconds - rate) / float64(n) * 1e3 })
			figs = append(figs,
				bench.Figure{Name: name + ": create, per member", Unit: "ms", Samples: g.field(func(r groupRun) float64 { return r.create.Seconds / float64(n) * 1e3 }), Note: "reported"},
				bench.Figure{Name: name + ": create above Apple's rate floor, per member", Unit: "ms", Samples: above, Note: "reported"},
				bench.Figure{Name: name + ": plan, per member", Unit: "ms", Samples: g.field(func(r groupRun) float64 { return r.plan.Seconds / float64(n) * 1e3 }), Note: "reported"},
			)
			if prev != nil {
				ratio := make([]float64, len(above))
				for i := range above {
					ratio[i] = above[i] / prev[i]
				}
				figs = append(figs, bench.Figure{Name: name + ": create above the rate floor per member ÷ the size before (flat or falling)", Unit: "×",
					Samples: ratio, Max: 1})
			}
			prev = above
		}
	}
	return bench.Section{
		Title:    "6c. Terraform: cost per member of one user group and one required assignment",
		Revision: rev,
		What: "The cost per member of scenario 6's sections, from the smallest size measured to the largest: the create's wall time, " +
			"the part of it above Apple's rate floor (Terraform's and the provider's own work, including their fixed start-up costs), and " +
			"the plan with nothing changed, each divided by the number of members. Measured: " + strings.Join(sizes, ", ") + ".",
		Command: c.command("terraform_groups", 0),
		Figures: figs,
		Details: []string{"The target is issue 13's \"flat or falling\": the create's time above the rate floor per member, at each size " +
			"over the size before, median of the runs' ratios, at most 1."},
	}
}
