package bench

import (
	"context"
	"fmt"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// deviceApp is the adamId of scenario 7's app: device-assignable and revocable, as Pages is.
const deviceApp = "1600000001"

// Serial is the serial number of the i-th device of a benchmark device group: 12 letters and
// digits, as Apple's devices have.
func Serial(i int) string { return fmt.Sprintf("BENCH%07d", i) }

// Serials returns Serial(0) … Serial(n-1).
func Serials(n int) []string { return numbered(n, Serial) }

// PrepareDevices sets up scenario 7 in db: a location whose one app, device-assignable and
// revocable, holds a license per device, the token uploaded, and a device group of devices serial
// numbers. The operation creates the required assignment of the app to the group, which licenses
// every device; Reclaim turns its result into the removal that takes the licenses back.
func PrepareDevices(ctx context.Context, a *Apple, db string, devices int) (Prepared, error) {
	app := applesim.AppSpec{AdamID: deviceApp, Name: "Pages", Developer: "Apple", Licenses: devices, BundleID: "com.apple.Pages",
		DeviceFamilies: []string{"iphone", "ipad"}, Version: "14.1"}
	e, tok, err := setupLocation(ctx, a, db, "Devices", nil, app)
	if err != nil {
		return Prepared{}, err
	}
	defer a.Throttled()
	defer e.Close()
	g, err := e.CreateDeviceGroup(ctx, engine.DeviceGroupInput{Name: "Carts", SerialNumbers: Serials(devices)})
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{
		Op: Op{Kind: OpCreateAssignment, DB: db, Apple: a.URL(), TokenID: tok.ID, BookID: engine.AssetID(tok.ID, deviceApp, "STDQ"),
			GroupID: g.ID, Devices: true},
		Floor: DeviceAssociateFloor(devices, a.PageSize, apple.DefaultLimits()),
	}, nil
}

// Reclaim returns the removal of the assignment that the association p measured created (r is its
// result), with its floor.
func (p Prepared) Reclaim(r OpResult, devices int) Prepared {
	p.Op.Kind, p.Op.AssignmentID = OpDeleteAssignment, r.Assignment
	p.Floor = DeviceReclaimFloor(devices, apple.DefaultLimits())
	return p
}

// CheckDeviceLicenses checks that the app of scenario 7 is licensed to held devices, at Apple
// (assignedCount, availableCount, and its device assignments) and in the engine's records of db
// (assigned and available counts): after the association every device, after the reclaim none.
func CheckDeviceLicenses(ctx context.Context, a *Apple, p Prepared, held int) error {
	locs := a.Sim.Locations()
	if len(locs) != 1 {
		return fmt.Errorf("the simulator holds %d locations, want scenario 7's one", len(locs))
	}
	asset, ok := a.Sim.Asset(locs[0].UID, deviceApp, "STDQ")
	if !ok {
		return fmt.Errorf("the simulator has no app %s", deviceApp)
	}
	devices := 0
	for _, as := range a.Sim.Assignments(locs[0].UID) {
		if as.AdamID == deviceApp && as.SerialNumber != "" {
			devices++
		}
	}
	if asset.AssignedCount != held || asset.AvailableCount != asset.TotalCount-held || devices != held {
		return fmt.Errorf("the simulated Apple's app has assignedCount %d, availableCount %d of %d, and %d device assignments; want %d assigned, %d available",
			asset.AssignedCount, asset.AvailableCount, asset.TotalCount, devices, held, asset.TotalCount-held)
	}
	e, err := OpenEngine(ctx, p.Op.DB, a.URL(), nil)
	if err != nil {
		return err
	}
	defer e.Close()
	rec, err := e.GetApp(ctx, p.Op.BookID)
	if err != nil {
		return err
	}
	if rec.Assigned != held || rec.Available != rec.Total-held || rec.Total != asset.TotalCount {
		return fmt.Errorf("the engine's records of the app: %d assigned, %d available of %d; want %d assigned, %d available of Apple's %d",
			rec.Assigned, rec.Available, rec.Total, held, asset.TotalCount-held, asset.TotalCount)
	}
	return nil
}

// DeviceRequests is how many associate (or disassociate) requests license one app to devices
// devices, or take it back: maxSerialNumbers serial numbers each, and one asset.
func DeviceRequests(devices int, lim apple.Limits) int { return ceilDiv(devices, lim.MaxSerialNumbers) }

// DeviceAssociateFloor is the floor of licensing one app to the devices devices of a device group,
// none of which holds it, by a process that has not read the location yet (each Terraform apply is
// a new process): read the limits once; read what Apple holds of the app's device licenses, since
// the engine's records are a cache that may be behind Apple (a lost database, another system that
// licensed a device) and a device that holds the app must not be licensed again: one page of
// GET /assignments, of the app's assignments or of those changed since the records' last read,
// since there are none; then associate at maxSerialNumbers serial numbers per request (a device
// needs no VPP user, and takes no invitation), and confirm the associations (see confirm).
func DeviceAssociateFloor(devices, pageSize int, lim apple.Limits) Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	f.add(1, true, "GET /assignments page of what Apple holds of the app's device licenses (none yet)")
	assoc := DeviceRequests(devices, lim)
	f.add(assoc, true, fmt.Sprintf("POST /assets/associate (1 app × %d serial numbers each)", lim.MaxSerialNumbers))
	f.confirm(assoc, devices, pageSize)
	return f
}

// DeviceReclaimFloor is the floor of taking one app back from the devices devices its assignment
// licensed, by a new process: read the limits once; disassociate at maxSerialNumbers serial
// numbers per request, journaled; and close each journaled event from its own outcome, one
// GET /status per event (the status reads the design needs, as issue 15 counts them). No read
// comes first: the records name the devices this engine licensed, and a disassociate spends
// nothing.
func DeviceReclaimFloor(devices int, lim apple.Limits) Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	n := DeviceRequests(devices, lim)
	f.add(n, true, fmt.Sprintf("POST /assets/disassociate (1 app × %d serial numbers each)", lim.MaxSerialNumbers))
	f.add(n, true, "GET /status, one per disassociate event")
	return f
}
