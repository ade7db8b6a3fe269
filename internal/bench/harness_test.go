package bench_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/bench"
)

// TestHarness runs every engine scenario at a tiny scale with Apple's rate limit lifted, and
// checks what does not depend on timing: the work is done, with exactly the floor's requests, and
// the report renders. It runs in make test; the timed runs are make bench's.
func TestHarness(t *testing.T) {
	ctx := context.Background()
	const pageSize = 10 // small pages, so that the walks have several
	unthrottled := func(t *testing.T, a *bench.Apple, p bench.Prepared) bench.Sample {
		t.Helper()
		a.Unthrottled()
		op := p.Op
		op.Unthrottled = true
		return bench.RunInProcess(ctx, a, op)
	}
	var sections []bench.Section
	for _, tc := range []struct {
		name           string
		members, books int
	}{{"one book", 250, 1}, {"many books", 120, 30}} {
		t.Run(tc.name, func(t *testing.T) {
			a := bench.NewApple(bench.AppleRate, pageSize)
			defer a.Close()
			p, err := bench.PrepareDelivery(ctx, a, filepath.Join(t.TempDir(), "engine.db"), tc.members, tc.books)
			if err != nil {
				t.Fatal(err)
			}
			s := unthrottled(t, a, p)
			if err := p.Check(s.Result, tc.members); err != nil {
				t.Fatal(err)
			}
			if err := a.CheckStrict(); err != nil {
				t.Fatal(err)
			}
			if s.Counts.Total != p.Floor.Requests {
				t.Errorf("%d requests (%v), want the floor's %d: %v", s.Counts.Total, s.Counts.Requests, p.Floor.Requests, p.Floor.Parts)
			}
			if n := len(a.Sim.Assignments(locationOf(t, a))); n != tc.members*tc.books {
				t.Errorf("Apple holds %d assignments, want %d", n, tc.members*tc.books)
			}
			sections = append(sections, bench.Section{Title: tc.name, Figures: []bench.Figure{
				{Name: "requests", Unit: "requests", Samples: []float64{float64(s.Counts.Total)}, Floor: float64(p.Floor.Requests), MaxRatio: 1.05},
			}})
		})
	}
	t.Run("sync", func(t *testing.T) {
		a := bench.NewApple(bench.AppleRate, pageSize)
		defer a.Close()
		const books, users = 25, 60
		full, err := bench.PrepareSync(ctx, a, filepath.Join(t.TempDir(), "engine.db"), books, users, 2)
		if err != nil {
			t.Fatal(err)
		}
		s := unthrottled(t, a, full)
		if err := full.Check(s.Result, 0); err != nil {
			t.Fatal(err)
		}
		if s.Counts.Total != full.Floor.Requests {
			t.Errorf("full sync: %d requests (%v), want the floor's %d: %v", s.Counts.Total, s.Counts.Requests, full.Floor.Requests, full.Floor.Parts)
		}
		if s.Counts.MaxInFlight > 5 {
			t.Errorf("full sync: %d requests at once, want at most 5", s.Counts.MaxInFlight)
		}
		incr := full.Incremental()
		s = unthrottled(t, a, incr)
		if err := incr.Check(s.Result, 0); err != nil {
			t.Fatal(err)
		}
		if s.Counts.Total > 4 || s.Counts.Total != incr.Floor.Requests {
			t.Errorf("incremental sync with nothing changed: %d requests (%v), want %d", s.Counts.Total, s.Counts.Requests, incr.Floor.Requests)
		}
		if err := a.CheckStrict(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("report", func(t *testing.T) {
		var buf bytes.Buffer
		m := bench.DescribeMachine("")
		m.Revision = "abc1234-dirty"
		m.Finish()
		measured := time.Date(2026, 12, 2, 13, 6, 0, 0, time.UTC)
		for i := range sections {
			sections[i].Revision, sections[i].Measured = "abc1234", measured
		}
		missing := bench.Section{Title: "5. Store on PostgreSQL", NotMeasured: "No PostgreSQL server could be used.", Revision: "abc1234", Measured: measured}
		if missing.Pass() {
			t.Error("a section that was not measured passes")
		}
		if err := bench.Render(&buf, m, "`make bench`", append(sections, missing), []string{"A note."}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# Benchmarks", "## Machine", "| cores |", "| commit | abc1234-dirty |", "## one book",
			"Measured on 2026-12-02 13:06 UTC at commit `abc1234`.", "| requests (requests) |", "≤ 1.05 × floor",
			"| [5. Store on PostgreSQL](#5-store-on-postgresql) | **FAIL**: not measured |", "**FAIL: not measured.** No PostgreSQL server could be used.",
			"A note."} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, buf.String())
			}
		}
	})
}

// locationOf returns the uId of the simulator's only location.
func locationOf(t *testing.T, a *bench.Apple) string {
	t.Helper()
	locs := a.Sim.Locations()
	if len(locs) != 1 {
		t.Fatalf("%d locations, want 1", len(locs))
	}
	return locs[0].UID
}
