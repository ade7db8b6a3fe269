package applesim

import (
	"bytes"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// useFakeClock replaces the server's real clock (ProcessingDelay, rate limiter) with clock.
func (e *env) useFakeClock(clock *fakeClock) {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	e.sim.clock = clock.Now
}

// processDue applies what is due on the server's clock, as the background worker would.
func (e *env) processDue() {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	e.sim.processDueLocked()
}

func (e *env) assignmentsList(query string) []wireAssignment {
	e.t.Helper()
	var page wireAssignments
	e.get("/assignments"+query, &page)
	return page.Assignments
}

func progressOptions() Options {
	opts := strictOptions() // strict: a task applied twice would show as a reassociate / recreate
	opts.ProcessingDelay = time.Second
	opts.ProgressSteps = 3
	return opts
}

// An event's tasks land in ProgressSteps steps, one per ProcessingDelay: numCompleted grows while
// the event stays PENDING, and each step's assignments and users show in the Get endpoints.
func TestProgressSteps(t *testing.T) {
	e := newEnv(t, progressOptions())
	clock := newFakeClock()
	e.useFakeClock(clock)
	e.mustAddApp("200", 10)
	e.mustCreateUsers("u1", "u2", "u3", "u4", "u5", "u6")

	id := e.submit("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1", "u2", "u3", "u4", "u5", "u6"}})
	type seen struct {
		status      string
		completed   int
		assignments int
	}
	observe := func() seen {
		st := e.status(id)
		if st.NumRequested != 6 {
			t.Fatalf("numRequested %d", st.NumRequested)
		}
		return seen{st.EventStatus, st.NumCompleted, len(e.assignmentsList(""))}
	}
	var got []seen
	got = append(got, observe())
	clock.Advance(999 * time.Millisecond)
	e.processDue()
	got = append(got, observe()) // not due yet
	for range 4 {
		clock.Advance(time.Second)
		e.processDue()
		e.processDue() // a second pass applies nothing more
		got = append(got, observe())
	}
	want := []seen{
		{EventPending, 0, 0},
		{EventPending, 0, 0},
		{EventPending, 2, 2},
		{EventPending, 4, 4},
		{EventComplete, 6, 6},
		{EventComplete, 6, 6},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("progress %+v\nwant     %+v", got, want)
	}
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 6 {
		t.Fatalf("asset %+v", a)
	}
	e.wantViolations() // no task was applied twice
	if n := e.sim.AppliedSteps(); n < 3 {
		t.Fatalf("AppliedSteps %d", n)
	}

	// Users appear step by step too; an event with fewer tasks than steps takes one per task.
	create := e.submit("/users/create", users("n1", "n2"))
	var counts []int
	for range 3 {
		clock.Advance(time.Second)
		e.processDue()
		counts = append(counts, len(e.usersList("?clientUserId=n1"))+len(e.usersList("?clientUserId=n2")))
	}
	if !slices.Equal(counts, []int{1, 2, 2}) || e.status(create).EventStatus != EventComplete {
		t.Fatalf("users per step %v, status %+v", counts, e.status(create))
	}
}

// Failures show while the event is still PENDING, and ProcessPendingEvents applies only the tasks
// still left.
func TestProgressFailuresAndProcessPending(t *testing.T) {
	e := newEnv(t, progressOptions())
	clock := newFakeClock()
	e.useFakeClock(clock)
	e.mustAddApp("200", 10)
	e.mustCreateUsers("u1", "u2")
	id := e.submit("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"ghost", "u1", "u2"}})
	clock.Advance(time.Second)
	e.processDue()
	st := e.status(id)
	if st.EventStatus != EventPending || st.NumCompleted != 0 || len(st.Failures) != 1 || st.Failures[0].ErrorNumber != 9609 {
		t.Fatalf("after step 1: %+v", st)
	}
	e.sim.ProcessPendingEvents()
	st = e.status(id)
	if st.EventStatus != EventFailed || st.NumCompleted != 2 || len(st.Failures) != 1 ||
		!slices.Equal(st.Failures[0].ErrorInfo.ClientUserIDs, []string{"ghost"}) {
		t.Fatalf("after ProcessPendingEvents: %+v", st)
	}
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 2 {
		t.Fatalf("asset %+v", a)
	}
	clock.Advance(time.Hour)
	e.processDue() // the worker's queue no longer holds it
	if st := e.status(id); st.NumCompleted != 2 {
		t.Fatalf("%+v", st)
	}
	e.wantViolations()

	// Revoke and retire progress target by target as well.
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1", "S2"}})
	rev := e.submit("/assets/revoke", map[string]any{"clientUserIds": ids{"u1"}, "serialNumbers": ids{"S1", "S2"}})
	clock.Advance(time.Second)
	e.processDue()
	if st := e.status(rev); st.EventStatus != EventPending || st.NumCompleted != 1 || len(e.sim.Assignments(e.uid)) != 3 {
		t.Fatalf("revoke step 1: %+v %+v", st, e.sim.Assignments(e.uid))
	}
	e.sim.ProcessPendingEvents()
	if got := e.sim.Assignments(e.uid); !slices.Equal(got, []Assignment{{"200", "STDQ", "u2", ""}}) {
		t.Fatalf("after revoke %+v", got)
	}
}

// A partially processed event survives SaveState and LoadState: the new process applies only the
// remaining tasks, and its failure groups go on listing each id once.
func TestProgressSaveLoad(t *testing.T) {
	e := newEnv(t, progressOptions())
	clock := newFakeClock()
	e.useFakeClock(clock)
	e.mustAddApp("200", 10)
	e.mustAddApp("300", 10)
	e.mustCreateUsers("u1", "u2")
	// Tasks: (200,u1) (200,ghost) | (200,u2) (300,u1) | (300,ghost) (300,u2).
	id := e.submit("/assets/associate", map[string]any{"assets": assets("200", "300"), "clientUserIds": ids{"u1", "ghost", "u2"}})
	clock.Advance(time.Second)
	e.processDue()
	if st := e.status(id); st.EventStatus != EventPending || st.NumCompleted != 1 || len(st.Failures) != 1 {
		t.Fatalf("before save %+v", st)
	}
	var buf bytes.Buffer
	if err := e.sim.SaveState(&buf); err != nil {
		t.Fatal(err)
	}

	sim2 := New(progressOptions())
	t.Cleanup(sim2.Close)
	clock2 := newFakeClock()
	sim2.mu.Lock()
	sim2.clock = clock2.Now
	sim2.mu.Unlock()
	if err := sim2.LoadState(&buf); err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(sim2)
	t.Cleanup(ts2.Close)
	e2 := &env{t: t, sim: sim2, ts: ts2, uid: e.uid, token: e.token}
	if st := e2.status(id); st.EventStatus != EventPending || st.NumCompleted != 1 {
		t.Fatalf("after load %+v", st)
	}
	// The steps resume where they stopped: step 2 of 3 after one delay, then step 3.
	clock2.Advance(time.Second)
	e2.processDue()
	if st := e2.status(id); st.EventStatus != EventPending || st.NumCompleted != 3 {
		t.Fatalf("step 2 after load %+v", st)
	}
	clock2.Advance(time.Second)
	e2.processDue()
	st := e2.status(id)
	if st.EventStatus != EventFailed || st.NumCompleted != 4 || len(st.Failures) != 1 {
		t.Fatalf("done after load %+v", st)
	}
	f := st.Failures[0]
	if !slices.Equal(f.ErrorInfo.ClientUserIDs, []string{"ghost"}) || !slices.Equal(f.ErrorInfo.Assets, []assetRef{{"200", "STDQ"}, {"300", "STDQ"}}) {
		t.Fatalf("failure %+v", f)
	}
	for _, adamID := range []string{"200", "300"} {
		if a, _ := sim2.Asset(e.uid, adamID, ""); a.AssignedCount != 2 {
			t.Fatalf("asset %+v", a)
		}
	}
	if got := sim2.Violations(); len(got) != 0 {
		t.Fatalf("violations after load %+v", got)
	}
}

// The background worker runs the steps on the real clock.
func TestProgressInBackground(t *testing.T) {
	opts := Options{DisableRateLimit: true, ProcessingDelay: 40 * time.Millisecond, ProgressSteps: 3, Strict: true}
	e := newEnv(t, opts)
	e.mustAddApp("200", 10)
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "u2"}); err != nil {
		t.Fatal(err)
	}
	id := e.submit("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1", "u2"}, "serialNumbers": ids{"S1"}})
	var partial []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.status(id)
		if st.EventStatus != EventPending {
			if st.EventStatus != EventComplete || st.NumCompleted != 3 {
				t.Fatalf("%+v", st)
			}
			break
		}
		if st.NumCompleted > 0 && !slices.Contains(partial, st.NumCompleted) {
			partial = append(partial, st.NumCompleted)
		}
		if time.Now().After(deadline) {
			t.Fatal("event still pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(partial) == 0 {
		t.Fatal("numCompleted never seen between 0 and 3 while PENDING")
	}
	e.wantViolations()
}
