package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// deviceGroup stores a device group of the serials.
func (e *env) deviceGroup(name string, serials ...string) engine.DeviceGroup {
	e.t.Helper()
	g, err := e.eng.CreateDeviceGroup(context.Background(), engine.DeviceGroupInput{Name: name, SerialNumbers: serials})
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// assignToDevices assigns the app adamID to device group g with the intent.
func (e *env) assignToDevices(tokenID, adamID, intent string, g engine.DeviceGroup) (engine.Assignment, error) {
	return e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{Kind: engine.KindApp,
		BookID: engine.AssetID(tokenID, adamID, "STDQ"), GroupID: g.ID, Devices: true, Intent: intent})
}

// deviceHolders lists the serial numbers that hold Pages at Apple, once per license.
func (e *env) deviceHolders() []string {
	var out []string
	for _, a := range e.sim.Assignments(e.loc.UID) {
		if a.AdamID == appPages && a.SerialNumber != "" {
			out = append(out, a.SerialNumber)
		}
	}
	sort.Strings(out)
	return out
}

// An app assigned to a device group is licensed to each device's serial number, in one associate
// request, with no VPP user created: whatever the intent, since a device accepts no invitation.
// Devices added later get it; devices removed give it back; removing the assignment reclaims the
// rest. Apple's counts and the records' follow each step, and nothing is spent twice.
func TestDevices_licensedByGroupAndReclaimed(t *testing.T) {
	for _, intent := range []string{engine.IntentRequired, engine.IntentAvailable} {
		t.Run(intent, func(t *testing.T) {
			each(t, func(t *testing.T, kind store.Kind) {
				e := newEnv(t, kind, applesim.Options{})
				ctx := context.Background()
				e.addApps()
				tok := e.addToken()
				g := e.deviceGroup("Carts", "c02aaaaa0001", "C02AAAAA0002", "C02AAAAA0003")
				e.sim.ResetStats()
				a, err := e.assignToDevices(tok.ID, appPages, intent, g)
				if err != nil || a.Licensed != 3 || !a.Devices || a.Kind != engine.KindApp || a.Status != engine.StatusComplete {
					t.Fatalf("assign to devices = %+v, %v; want 3 licensed, complete", a, err)
				}
				want := []string{"C02AAAAA0001", "C02AAAAA0002", "C02AAAAA0003"}
				if got := e.deviceHolders(); !slices.Equal(got, want) {
					t.Fatalf("devices holding Pages = %v, want %v", got, want)
				}
				st := e.sim.Stats()
				if n := st.Requests["POST /assets/associate"]; n != 1 {
					t.Errorf("%d associate requests, want 1", n)
				}
				if n := st.Requests["POST /users/create"]; n != 0 {
					t.Errorf("%d users/create requests for devices, want none", n)
				}
				if n := e.pagesAvailable(tok.ID); n != 47 {
					t.Errorf("available = %d, want 47", n)
				}

				// One device in, one out.
				in := engine.DeviceGroupInput{Name: "Carts", SerialNumbers: []string{"C02AAAAA0002", "C02AAAAA0003", "C02AAAAA0004"}}
				if f, err := e.eng.DeviceGroupRemovalImpact(ctx, g.ID, in.SerialNumbers); err != nil || f.LicensesReclaimed != 1 {
					t.Fatalf("DeviceGroupRemovalImpact = %+v, %v; want 1 reclaimed", f, err)
				}
				if err := e.eng.ForecastDeviceGroup(ctx, g.ID, in.SerialNumbers, nil); err != nil {
					t.Fatalf("ForecastDeviceGroup: %v", err)
				}
				_, change, err := e.eng.UpdateDeviceGroup(ctx, g.ID, in)
				if err != nil || change.LicensesReclaimed != 1 {
					t.Fatalf("UpdateDeviceGroup = %+v, %v; want 1 reclaimed", change, err)
				}
				want = []string{"C02AAAAA0002", "C02AAAAA0003", "C02AAAAA0004"}
				if got := e.deviceHolders(); !slices.Equal(got, want) {
					t.Fatalf("devices holding Pages after the change = %v, want %v", got, want)
				}
				if got, err := e.eng.RefreshAssignment(ctx, a.ID); err != nil || got.Licensed != 3 || got.Pending != 0 {
					t.Errorf("assignment after the change = %+v, %v; want 3 licensed", got, err)
				}

				rep, err := e.eng.DeleteAssignment(ctx, a.ID)
				if err != nil || rep.LicensesReclaimed != 3 {
					t.Fatalf("DeleteAssignment = %+v, %v; want 3 reclaimed", rep, err)
				}
				if got := e.deviceHolders(); len(got) != 0 {
					t.Errorf("devices holding Pages after the removal = %v, want none", got)
				}
				if asset, _ := e.sim.Asset(e.loc.UID, appPages, "STDQ"); asset.AssignedCount != 0 {
					t.Errorf("Apple's assignedCount = %d, want 0", asset.AssignedCount)
				}
				if n := e.pagesAvailable(tok.ID); n != 50 {
					t.Errorf("available = %d in the records, want 50", n)
				}
				if open := e.openJournal(tok.ID); len(open) != 0 {
					t.Errorf("open journal entries = %+v, want none", open)
				}
				e.noDoubleSpend()
			})
		})
	}
}

// An app Apple does not license to devices (deviceAssignable false), and any book, is refused for
// a device group before anything is stored or sent; a user group given as a device group, and a
// device group given as a user group, are not found.
func TestDevices_refusals(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		g := e.deviceGroup("Kiosks", "C02AAAAA0001")
		users := e.group("Staff", true, "ann@corp.example.com")
		e.sim.ResetStats()
		var dle *engine.DeviceLicensingError
		if _, err := e.assignToDevices(tok.ID, appCard, engine.IntentRequired, g); !errors.As(err, &dle) || dle.Title != "Library Card" {
			t.Fatalf("a user-only app to devices = %v; want a DeviceLicensingError naming Library Card", err)
		}
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Devices: true, Intent: engine.IntentRequired}); !errors.As(err, &dle) {
			t.Fatalf("a book to devices = %v; want a DeviceLicensingError", err)
		}
		var nf *engine.NotFoundError
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{Kind: engine.KindApp, BookID: engine.AssetID(tok.ID, appPages, "STDQ"), GroupID: users.ID, Devices: true, Intent: engine.IntentRequired}); !errors.As(err, &nf) || nf.Kind != engine.KindDeviceGroup {
			t.Fatalf("a user group as a device group = %v; want a device group not found", err)
		}
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{Kind: engine.KindApp, BookID: engine.AssetID(tok.ID, appPages, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); !errors.As(err, &nf) || nf.Kind != engine.KindGroup {
			t.Fatalf("a device group as a user group = %v; want a group not found", err)
		}
		if _, err := e.eng.GetGroup(ctx, g.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("GetGroup(a device group) = %v; want not found", err)
		}
		if n := e.sim.Stats().Requests["POST /assets/associate"]; n != 0 {
			t.Errorf("associate sent %d times for refused assignments", n)
		}
	})
}

// A runner whose engine database is lost (a new CI runner with the same Terraform state) rebuilds
// the device group and the assignment from the state; delivering again reads Apple's records first
// and sends nothing: every device holds its license already. A device licensed by another system
// before the take-over is not licensed again either.
func TestDevices_lostDatabaseSendsNothingAgain(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		if err := e.sim.AssignDevice(e.loc.UID, appPages, "STDQ", "C02AAAAA0009"); err != nil {
			t.Fatal(err)
		}
		tok := e.addToken()
		serials := []string{"C02AAAAA0001", "C02AAAAA0002", "C02AAAAA0009"}
		g := e.deviceGroup("Carts", serials...)
		a, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g)
		if err != nil || a.Licensed != 3 {
			t.Fatalf("assign = %+v, %v", a, err)
		}
		if got := e.deviceHolders(); !slices.Equal(got, serials) {
			t.Fatalf("devices holding Pages = %v, want each once: %v", got, serials)
		}
		// A new runner: an empty database, the same state.
		e.dbURL = storetest.URL(t, kind)
		e.reopen(nil)
		e.addToken()
		if _, _, err := e.eng.RestoreDeviceGroup(ctx, g.ID, engine.DeviceGroupInput{Name: "Carts", SerialNumbers: serials}); err != nil {
			t.Fatal(err)
		}
		in := engine.AssignmentInput{Kind: engine.KindApp, BookID: a.BookID, GroupID: g.ID, Devices: true, Intent: engine.IntentRequired}
		if _, err := e.eng.RestoreAssignment(ctx, a.ID, in); err != nil {
			t.Fatal(err)
		}
		e.sim.ResetStats()
		got, err := e.eng.UpdateAssignment(ctx, a.ID, in)
		if err != nil || got.Licensed != 3 {
			t.Fatalf("UpdateAssignment on the new runner = %+v, %v; want 3 licensed", got, err)
		}
		if n := e.sim.Stats().Requests["POST /assets/associate"]; n != 0 {
			t.Errorf("the new runner sent %d associate requests, want none", n)
		}
		e.noDoubleSpend()
	})
}

// A disassociate of devices whose answer is lost after Apple did the work is not sent again; a
// removal cut off by the process dying resumes in a new process without resending.
func TestDevices_reclaimSurvivesLostAnswersAndKills(t *testing.T) {
	for _, fault := range []applesim.FaultKind{applesim.FaultResetAfter, applesim.FaultInternalErrorAfter} {
		t.Run(string(fault), func(t *testing.T) {
			each(t, func(t *testing.T, kind store.Kind) {
				e := newEnv(t, kind, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
				e.reopen(nil)
				e.addApps()
				tok := e.addToken()
				g := e.deviceGroup("Carts", "C02AAAAA0001", "C02AAAAA0002")
				a, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g)
				if err != nil {
					t.Fatal(err)
				}
				e.sim.ResetStats()
				e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/disassociate", Kind: fault, Count: 1, RetryAfter: "0"})
				rep, err := e.eng.DeleteAssignment(context.Background(), a.ID)
				if err != nil || rep.LicensesReclaimed != 2 {
					t.Fatalf("DeleteAssignment with a lost answer = %+v, %v; want 2 reclaimed", rep, err)
				}
				e.sim.ProcessPendingEvents()
				if got := e.deviceHolders(); len(got) != 0 {
					t.Errorf("devices holding Pages = %v, want none", got)
				}
				if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
					t.Errorf("disassociate sent %d times; Apple had done the work of the first", n)
				}
				if n := e.pagesAvailable(tok.ID); n != 50 {
					t.Errorf("available = %d, want 50", n)
				}
				if open := e.openJournal(tok.ID); len(open) != 0 {
					t.Errorf("open journal entries = %+v, want none", open)
				}
			})
		})
	}
	t.Run("killed", func(t *testing.T) {
		each(t, func(t *testing.T, kind store.Kind) {
			e := newEnv(t, kind, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
			e.reopen(nil)
			e.addApps()
			tok := e.addToken()
			g := e.deviceGroup("Carts", "C02AAAAA0001", "C02AAAAA0002")
			a, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g)
			if err != nil {
				t.Fatal(err)
			}
			e.sim.ResetStats()
			// The disassociate reaches Apple; the process dies before the answer.
			ctx, cancel := context.WithCancel(context.Background())
			e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
				resp, err := next(r)
				if strings.HasSuffix(r.URL.Path, "/assets/disassociate") {
					cancel()
					return nil, context.Canceled
				}
				return resp, err
			})
			if _, err := e.eng.DeleteAssignment(ctx, a.ID); err == nil {
				t.Fatal("DeleteAssignment cut off returned no error")
			}
			e.setInterpose(nil)
			e.reopen(nil) // a new process
			e.sim.ProcessPendingEvents()
			if rep, err := e.eng.DeleteAssignment(context.Background(), a.ID); err != nil {
				t.Fatalf("second DeleteAssignment = %+v, %v", rep, err)
			}
			if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
				t.Errorf("disassociate sent %d times in all, want 1", n)
			}
			if got := e.deviceHolders(); len(got) != 0 {
				t.Errorf("devices holding Pages = %v, want none", got)
			}
			if open := e.openJournal(tok.ID); len(open) != 0 {
				t.Errorf("open journal entries = %+v, want none", open)
			}
		})
	})
}

// A plan's forecast of a group's new members covers its app assignments as apps (and its book
// assignments as books): before, it named every assignment a book, and an app's was refused.
func TestForecastGroup_appAssignmentsOfTheGroup(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		e.addApps()
		tok := e.addToken()
		g := e.group("Staff", true, "ann@corp.example.com")
		e.assignApp(tok.ID, appPages, g)
		if err := e.eng.ForecastGroup(context.Background(), g.ID, []string{"ann@corp.example.com", "bob@corp.example.com"}, nil); err != nil {
			t.Fatalf("ForecastGroup with an app assignment: %v", err)
		}
	})
}

// Removing a token releasing its app licenses takes back those of the devices of the engine's
// device groups too; a device licensed by another system, in none of them, keeps its license.
func TestDevices_tokenRemovalReleasesTheEnginesDevices(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		if err := e.sim.AssignDevice(e.loc.UID, appPages, "STDQ", "C02OTHER0001"); err != nil {
			t.Fatal(err)
		}
		tok := e.addToken()
		g := e.deviceGroup("Carts", "C02AAAAA0001", "C02AAAAA0002")
		if _, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g); err != nil {
			t.Fatal(err)
		}
		release := engine.RemoveTokenOptions{ReleaseAppLicenses: true}
		if f, err := e.eng.ForecastTokenRemoval(ctx, tok.ID, release); err != nil || f.LicensesReclaimed != 2 || f.LicensesKept != 1 {
			t.Fatalf("ForecastTokenRemoval = %+v, %v; want 2 released, 1 kept", f, err)
		}
		rep, err := e.eng.RemoveToken(ctx, tok.ID, release)
		if err != nil || rep.LicensesReclaimed != 2 || rep.LicensesKept != 1 {
			t.Fatalf("RemoveToken = %+v, %v; want 2 released, 1 kept", rep, err)
		}
		if got := e.deviceHolders(); !slices.Equal(got, []string{"C02OTHER0001"}) {
			t.Errorf("devices holding Pages = %v, want the other system's only", got)
		}
		e.noDoubleSpend()
	})
}

// A process's first delivery to many devices reads what Apple holds of the app (its assignments,
// a page) rather than syncing users and assets: a device another system licensed since the last
// sync is not licensed again.
func TestDevices_firstDeliveryReadsTheAppAtApple(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		e.addApps()
		tok := e.addToken()
		serials := make([]string, 12)
		for i := range serials {
			serials[i] = fmt.Sprintf("C02BBBBB%04d", i)
		}
		if err := e.sim.AssignDevice(e.loc.UID, appPages, "STDQ", serials[5]); err != nil {
			t.Fatal(err)
		}
		e.reopen(nil) // a new process: its first delivery to the token
		g := e.deviceGroup("Lab", serials...)
		e.sim.ResetStats()
		a, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g)
		if err != nil || a.Licensed != len(serials) {
			t.Fatalf("assign = %+v, %v; want %d licensed", a, err, len(serials))
		}
		st := e.sim.Stats()
		if st.Requests["GET /assignments"] != 1 || st.Requests["GET /users"] != 0 || st.Requests["POST /assets/associate"] != 1 {
			t.Errorf("requests %v; want one read of the app's assignments, no read of users, one associate", st.Requests)
		}
		if got := e.deviceHolders(); !slices.Equal(got, serials) {
			t.Errorf("devices holding Pages = %v, want each once", got)
		}
		e.noDoubleSpend()
	})
}

// More devices than licenses is a shortage before anything is sent, worded for devices.
func TestDevices_shortage(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		e.addApps()
		tok := e.addToken()
		serials := make([]string, 51) // Pages has 50 licenses
		for i := range serials {
			serials[i] = fmt.Sprintf("C02CCCCC%04d", i)
		}
		g := e.deviceGroup("Gym", serials...)
		e.sim.ResetStats()
		var short *engine.ShortageError
		_, err := e.assignToDevices(tok.ID, appPages, engine.IntentRequired, g)
		if !errors.As(err, &short) || short.Short() != 1 || !strings.Contains(err.Error(), `but device group "Gym" needs 51 now`) {
			t.Fatalf("51 devices for 50 licenses = %v; want a shortage of 1 naming device group Gym", err)
		}
		if n := e.sim.Stats().Requests["POST /assets/associate"]; n != 0 {
			t.Errorf("%d associate requests for a shortage, want none", n)
		}
	})
}
