package applesim

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSaveLoadState(t *testing.T) {
	e := newEnv(t, testOptions())
	if err := e.sim.AddBook(e.uid, BookSpec{AdamID: "100", Title: "Moby-Dick", Author: "Melville", Licenses: 5}); err != nil {
		t.Fatal(err)
	}
	e.mustAddApp("200", 5)
	e.mustCreateUsers("u1", "u2")
	e.run("/users/create", map[string]any{"users": []map[string]string{{"clientUserId": "m1", "managedAppleId": "m1@corp.example"}}})
	e.submit("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	done := e.submit("/assets/associate", map[string]any{"assets": assets("100", "200"), "clientUserIds": ids{"u1", "m1"}})
	e.sim.ProcessPendingEvents()
	e.post("/client/config", map[string]any{"mdmInfo": map[string]string{"id": "engine", "name": "tf", "metadata": "v1"}}, nil)
	pending := e.submit("/users/create", users("u9"))

	paths := []string{"/users", "/assignments?includeUserState=true", "/assets", "/client/config", "/status?eventId=" + done, "/status?eventId=" + pending}
	before := map[string]string{}
	for _, p := range paths {
		r := e.do("GET", p, e.token, nil)
		e.ok(r, nil)
		before[p] = string(r.body)
	}
	var users0 wireUsers
	e.get("/users", &users0)

	var buf bytes.Buffer
	if err := e.sim.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.String()

	sim2 := New(testOptions())
	t.Cleanup(sim2.Close)
	if err := sim2.LoadState(strings.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(sim2)
	t.Cleanup(ts2.Close)
	e2 := &env{t: t, sim: sim2, ts: ts2, uid: e.uid, token: e.token}
	for _, p := range paths {
		r := e2.do("GET", p, e.token, nil)
		e2.ok(r, nil)
		if string(r.body) != before[p] {
			t.Errorf("%s differs after load:\n%s\n%s", p, before[p], r.body)
		}
	}
	// The pending event finishes in the new process; incremental sync continues.
	sim2.ProcessPendingEvents()
	if st := e2.status(pending); st.EventStatus != EventComplete {
		t.Fatalf("pending event after load: %+v", st)
	}
	var delta wireUsers
	e2.get("/users?sinceVersionId="+users0.VersionID, &delta)
	if len(delta.Users) != 1 || delta.Users[0].ClientUserID != "u9" {
		t.Fatalf("delta after load %+v", delta.Users)
	}
	if a, ok := sim2.Asset(e.uid, "100", "STDQ"); !ok || a.AssignedCount != 2 {
		t.Fatalf("asset after load %+v", a)
	}
	if locs := sim2.Locations(); len(locs) != 1 || locs[0].Name != "PS01" {
		t.Fatalf("locations %+v", locs)
	}

	// Saving the loaded state again gives the same locations and catalog.
	var again bytes.Buffer
	if err := sim2.SaveState(&again); err != nil || !strings.Contains(again.String(), "Moby-Dick") {
		t.Fatalf("second save: %v", err)
	}
	if err := sim2.LoadState(strings.NewReader("{")); err == nil {
		t.Fatal("garbage state loaded")
	}
	if err := sim2.LoadState(strings.NewReader(`{"format":99}`)); err == nil {
		t.Fatal("unknown format loaded")
	}
}
