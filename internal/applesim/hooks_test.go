package applesim

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLocationsAndTokens(t *testing.T) {
	e := newEnv(t, testOptions())
	school, err := e.sim.CreateLocation(LocationSpec{Name: "School", AccountType: AccountEducation})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(school.UID); n < 16 || n > 18 || !isDigits(school.UID) || school.DefaultPlatform != "volumestore" || school.WebsiteURL != "https://school.apple.com" {
		t.Fatalf("location %+v", school)
	}
	tok, err := e.sim.MintToken(school.UID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var cfg wireClientConfig
	e.ok(e.do("GET", "/client/config", tok, nil), &cfg)
	if cfg.DefaultPlatform != "volumestore" || cfg.WebsiteURL != "https://school.apple.com" || cfg.UID != school.UID || cfg.CountryISO2ACode != "US" {
		t.Fatalf("config %+v", cfg)
	}

	for _, spec := range []LocationSpec{{AccountType: "government"}, {UID: "12ab"}, {UID: testUID}} {
		if _, err := e.sim.CreateLocation(spec); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExists) {
			t.Errorf("CreateLocation(%+v) = %v", spec, err)
		}
	}
	if _, err := e.sim.MintToken("1", time.Now()); !errors.Is(err, ErrUnknownLocation) {
		t.Errorf("MintToken on unknown location: %v", err)
	}
	if err := e.sim.RevokeToken("garbage"); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("RevokeToken garbage: %v", err)
	}
	if err := e.sim.AcceptInvitation(e.uid, "nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("AcceptInvitation: %v", err)
	}
	if err := e.sim.Purchase(e.uid, "42", "STDQ", 1); !errors.Is(err, ErrUnknownAsset) {
		t.Errorf("Purchase: %v", err)
	}
	if len(e.sim.Locations()) != 2 {
		t.Errorf("locations %+v", e.sim.Locations())
	}
}

// Updating a Registered user with a Managed Apple Account associates it at once.
func TestUpdateAssociatesManagedAccount(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustCreateUsers("u1", "u2")
	st := e.run("/users/update", map[string]any{"users": []map[string]string{
		{"clientUserId": "u1", "managedAppleId": "u1@corp.example"},
		{"clientUserId": "u2", "managedAppleId": "u1@corp.example"},
	}})
	if st.EventStatus != EventFailed || st.NumCompleted != 1 || st.Failures[0].ErrorNumber != 9641 {
		t.Fatalf("%+v", st)
	}
	list := e.usersList("")
	if list[0].Status != StatusAssociated || len(list[0].IDHash) != 28 || list[1].Status != StatusRegistered {
		t.Fatalf("%+v", list)
	}
}

// Large removals compact the assignment list without disturbing order or counts.
func TestLargeDisassociate(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddApp("200", 2000)
	serials := make([]string, 1000)
	for i := range serials {
		serials[i] = fmt.Sprintf("S%04d", i)
	}
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"KEEP"}})
	for range 2 { // the second round leaves more than 1024 removed entries: compaction runs
		e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": serials})
		st := e.run("/assets/disassociate", map[string]any{"assets": assets("200"), "serialNumbers": serials})
		if st.NumCompleted != 1000 {
			t.Fatalf("%+v", st)
		}
	}
	e.sim.mu.Lock()
	if dead := e.sim.w.Locations[e.uid].dead; dead != 0 {
		t.Errorf("%d removed entries left", dead)
	}
	e.sim.mu.Unlock()
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": serials[:1]})
	got := e.sim.Assignments(e.uid)
	if len(got) != 2 || got[0].SerialNumber != "KEEP" || got[1].SerialNumber != "S0000" {
		t.Fatalf("%+v", got)
	}
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 2 || a.AvailableCount != 1998 {
		t.Fatalf("%+v", a)
	}
}
