package bench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/bench"
)

// TestDevicesHarness runs scenario 7 at a small scale with Apple's rate limit lifted, and checks
// what does not depend on timing: every device licensed, then none, at Apple and in the records,
// nothing spent twice, the associate and disassociate requests and their status reads at the
// floor's counts, and the reclaim at its floor. (Whether the association's reads of Apple are at
// the floor is make bench's verdict, in BENCHMARKS.md.)
func TestDevicesHarness(t *testing.T) {
	for _, tc := range []struct {
		name              string
		devices, pageSize int
	}{{"2500 devices", 2500, 10}, {"3 devices", 3, 10}} {
		t.Run(tc.name, func(t *testing.T) {
			a := bench.NewApple(bench.AppleRate, tc.pageSize)
			defer a.Close()
			a.Unthrottled()
			sa, sr := runDevices(t, a, tc.devices)
			want := bench.DeviceRequests(tc.devices, apple.DefaultLimits())
			for what, got := range map[string]int{
				"associate requests":              sa.Counts.Requests["POST /assets/associate"],
				"status reads of the association": sa.Counts.Requests["GET /status"],
				"disassociate requests":           sr.Counts.Requests["POST /assets/disassociate"],
				"status reads of the reclaim":     sr.Counts.Requests["GET /status"],
			} {
				if got != want {
					t.Errorf("%s: %d, want %d (association %v, reclaim %v)", what, got, want, sa.Counts.Requests, sr.Counts.Requests)
				}
			}
			if n := sa.Counts.Requests["POST /users/create"]; n != 0 {
				t.Errorf("%d users/create requests for devices, want none", n)
			}
		})
	}
}

// runDevices sets scenario 7 up against a for devices devices and runs its two operations in this
// process (Apple's rate limit lifted), checking each; it returns their samples.
func runDevices(t *testing.T, a *bench.Apple, devices int) (assoc, reclaim bench.Sample) {
	t.Helper()
	ctx := context.Background()
	p, err := bench.PrepareDevices(ctx, a, filepath.Join(t.TempDir(), "engine.db"), devices)
	if err != nil {
		t.Fatal(err)
	}
	run := func(p bench.Prepared, held int) bench.Sample {
		t.Helper()
		a.Unthrottled()
		op := p.Op
		op.Unthrottled = true
		s := bench.RunInProcess(ctx, a, op)
		if err := p.Check(s.Result, devices); err != nil {
			t.Fatal(err)
		}
		if err := bench.CheckDeviceLicenses(ctx, a, p, held); err != nil {
			t.Fatal(err)
		}
		if err := a.CheckStrict(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	assoc = run(p, devices)
	rp := p.Reclaim(assoc.Result, devices)
	reclaim = run(rp, 0)
	if reclaim.Counts.Total != rp.Floor.Requests {
		t.Errorf("reclaim: %d requests (%v), want the floor's %d: %v", reclaim.Counts.Total, reclaim.Counts.Requests, rp.Floor.Requests, rp.Floor.Parts)
	}
	if assoc.Counts.Total < p.Floor.Requests {
		t.Errorf("association: %d requests (%v), below the floor's %d: the floor counts a request the work does not need: %v",
			assoc.Counts.Total, assoc.Counts.Requests, p.Floor.Requests, p.Floor.Parts)
	}
	return assoc, reclaim
}

// TestDeviceFloors checks scenario 7's floors at 10,000 devices, term by term.
func TestDeviceFloors(t *testing.T) {
	lim := apple.DefaultLimits()
	// The limits; one GET /assignments page; 10 associates of 1000 serial numbers; 10 confirmations.
	if f := bench.DeviceAssociateFloor(10_000, 1000, lim); f.Requests != 22 || f.Limited != 21 {
		t.Errorf("association floor %d requests (%d limited), want 22 (21): %v", f.Requests, f.Limited, f.Parts)
	}
	// The limits; 10 disassociates of 1000 serial numbers; 10 status reads.
	if f := bench.DeviceReclaimFloor(10_000, lim); f.Requests != 21 || f.Limited != 20 {
		t.Errorf("reclaim floor %d requests (%d limited), want 21 (20): %v", f.Requests, f.Limited, f.Parts)
	}
	if n := bench.DeviceRequests(10_001, lim); n != 11 {
		t.Errorf("DeviceRequests(10,001) = %d, want 11", n)
	}
}
