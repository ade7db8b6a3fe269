package bench_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/bench"
)

// devicesScenario is scenario 7 (issue 15): one app licensed to a device group of 10,000 devices,
// then reclaimed, each by the engine in a new process at Apple's rate.
func devicesScenario(t *testing.T, c config, r *report) {
	ctx := context.Background()
	devices := c.size(10_000)
	var assoc, reclaim bench.Prepared
	var as, rs []bench.Sample
	for i := range c.runs {
		a := bench.NewApple(bench.AppleRate, c.pageSize)
		var sa, sr bench.Sample
		var err error
		assoc, reclaim, sa, sr, err = devicesRun(ctx, a, filepath.Join(t.TempDir(), "engine.db"), devices)
		a.Close()
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		logSample(t, fmt.Sprintf("run %d, association", i+1), sa)
		logSample(t, fmt.Sprintf("run %d, reclaim", i+1), sr)
		as, rs = append(as, sa), append(rs, sr)
	}
	r.add(devicesSection(c, devices, assoc, reclaim, as, rs))
}

// devicesRun sets scenario 7 up against a, then measures the association and the reclaim, each
// checked at Apple and in the engine's records: every device licensed, then none.
func devicesRun(ctx context.Context, a *bench.Apple, db string, devices int) (assoc, reclaim bench.Prepared, sa, sr bench.Sample, err error) {
	if assoc, err = bench.PrepareDevices(ctx, a, db, devices); err == nil {
		err = a.CheckStrict()
	}
	if err != nil {
		return assoc, reclaim, sa, sr, fmt.Errorf("setting up: %w", err)
	}
	holding := func(held int) func(bench.Prepared, bench.Sample) error {
		return func(p bench.Prepared, s bench.Sample) error {
			if err := p.Check(s.Result, devices); err != nil {
				return err
			}
			return bench.CheckDeviceLicenses(ctx, a, p, held)
		}
	}
	if sa, err = measure(ctx, a, assoc, holding(devices)); err != nil {
		return assoc, reclaim, sa, sr, fmt.Errorf("association: %w", err)
	}
	reclaim = assoc.Reclaim(sa.Result, devices)
	quiet() // the reclaim's process starts a new pacer
	if sr, err = measure(ctx, a, reclaim, holding(0)); err != nil {
		return assoc, reclaim, sa, sr, fmt.Errorf("reclaim: %w", err)
	}
	return assoc, reclaim, sa, sr, nil
}

func devicesSection(c config, devices int, assoc, reclaim bench.Prepared, as, rs []bench.Sample) bench.Section {
	const rate = bench.AppleRate
	figs := append(floorFigures("association: ", assoc, as, rate, 1), floorFigures("reclaim: ", reclaim, rs, rate, 1)...)
	figs = append(figs,
		bench.Figure{Name: "association: peak RSS of the engine's process", Unit: "MB", Samples: values(as, rss), Note: "reported"},
		bench.Figure{Name: "reclaim: peak RSS of the engine's process", Unit: "MB", Samples: values(rs, rss), Note: "reported"})
	return bench.Section{
		Title: fmt.Sprintf("7. Device licensing: one app to %d devices and reclaimed, at %d requests/s", devices, rate),
		What: fmt.Sprintf("One app (device-assignable and revocable, with a license per device) assigned, intent `required`, to a device "+
			"group of %d serial numbers: `CreateAssignment` (what `terraform apply` of a `vpp_app_assignment` with `device_group_id` "+
			"runs), then `DeleteAssignment` (its removal, which reclaims every license), each in a new process at Apple's %d "+
			"requests/s. Each run checks, after the association, that Apple holds the app for every device and the records count "+
			"them; after the reclaim, that Apple's assignedCount is back to 0 and the app's availableCount to its totalCount, at "+
			"Apple and in the engine's records; and, after each, that the simulator (strict mode) recorded no double spend.", devices, rate),
		Command: c.command("devices", 0),
		Figures: figs,
		Details: []string{
			"Association: " + floorDetail(assoc.Floor) + " The read before the associate requests is what the engine's design " +
				"needs (see Reading Apple first below): the database is a cache that may be behind Apple, and a device that holds " +
				"the app already must not be licensed again; one page of GET /assignments (the app's, or those changed since the " +
				"records' last read) tells it, as none holds it yet. A device needs no VPP user and takes no invitation.",
			"Association: " + endpoints(as),
			"Reclaim: " + floorDetail(reclaim.Floor) + " Each disassociate is journaled and closed from its own event's " +
				"outcome (GET /status): the status reads the design needs. No read comes first: the records name the devices the " +
				"engine licensed, and a disassociate spends nothing. (One page of the app's remaining assignments would show every " +
				"device gone once Apple processed every event, but could not tell a pending event from a failed one: not counted.)",
			"Reclaim: " + endpoints(rs),
			fmt.Sprintf("Both floors: associate and disassociate carry at most maxSerialNumbers (%d) serial numbers and one app "+
				"each; GET /service/config needs no token and is not rate-limited. The simulator serves pages of %d records and "+
				"processes each event before it answers the request that submitted it.", apple.DefaultLimits().MaxSerialNumbers, c.pageSize),
		},
	}
}
