package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFigures(t *testing.T) {
	for line, want := range map[string]map[string]float64{
		"uninterrupted apply: 10000 members, 4211 requests to Apple, 1m2.5s": {"members": 10000, "requests": 4211, "seconds": 62.5},
		"kill 3: provider killed at request 812 of 4211, after-answer (12ms later): Error: Plugin did not respond": {
			"kill": 3, "request": 812, "request_of": 4211, "later_seconds": 0.012},
		"kill 4: request 4211 of 4211 was the apply's last; it finished before the kill": {"kill": 4, "request": 4211, "request_of": 4211},
		"delivered after 7 runs; 5433 requests, 1103 faults injected map[error_body:160 slow:174]": {
			"runs": 7, "requests": 5433, "faults": 1103, "faults.error_body": 160, "faults.slow": 174},
		"delivered after 2 runs; 10 requests, 3 faults injected map[internal_error:2 slow:1]": {
			"runs": 2, "requests": 10, "faults": 3, "faults.internal_error": 2, "faults.slow": 1},
		"converged after 3 applies; 900 requests, 40 faults map[reset_after:40]": {"applies": 3, "requests": 900, "faults": 40, "faults.reset_after": 40},
		"Morning: applied in 2.345s": {"applied_seconds": 2.345},
		"Evening: refused after 30.1s, the database being busy: Error: database is locked": {"refused_seconds": 30.1},
		"refused after 30s:": {"refused_seconds": 30},
		"after the first run: 30 licensed, 0 pending, 2 failed (partial); Apple holds 32": {"licensed": 30, "pending": 0, "failed": 2, "holds": 32},
		"searched the saved plan's entry tfplan (11638 bytes)":                            {"bytes": 11638},
		"POST /assets/associate down: apple: error 9603 \"Internal error.\" (HTTP 500)":   nil,
		"  2x reading assignments (GET /assignments): Apple API GET /assignments: 503":    nil,
		"no numbers here":        nil,
		"2 requests, 3 requests": {"requests": 2, "requests_2": 3},
	} {
		if got := Figures(line); !reflect.DeepEqual(got, want) {
			t.Errorf("Figures(%q)\n got  %v\n want %v", line, got, want)
		}
	}
}

// events renders test2json events, one a line.
func events(t *testing.T, es ...event) string {
	t.Helper()
	var b strings.Builder
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, e := range es {
		e.Time = at.Add(time.Duration(i) * time.Second)
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestSummarize(t *testing.T) {
	const eng, prov = "example.com/m/engine", "example.com/m/provider"
	in := events(t,
		event{Action: "start", Package: eng},
		event{Action: "run", Package: eng, Test: "TestFaults_x"},
		event{Action: "output", Package: eng, Test: "TestFaults_x", Output: "=== RUN   TestFaults_x\n"},
		event{Action: "output", Package: eng, Test: "TestFaults_x", Output: "    faults_test.go:250: delivered after 7 runs; 5433 requests\n"},
		event{Action: "output", Package: eng, Test: "TestFaults_x", Output: "--- PASS: TestFaults_x (1.50s)\n"},
		event{Action: "pass", Package: eng, Test: "TestFaults_x", Elapsed: 1.5},
		event{Action: "run", Package: eng, Test: "TestProcess_y"},
		event{Action: "output", Package: eng, Test: "TestProcess_y", Output: "    process_test.go:10: no terraform CLI\n"},
		event{Action: "skip", Package: eng, Test: "TestProcess_y"},
		event{Action: "run", Package: eng, Test: "TestConcurrency_z"},
		event{Action: "output", Package: eng, Test: "TestConcurrency_z", Output: "    concurrency_test.go:20: round 2: 430 deliveries\n"},
		event{Action: "output", Package: eng, Test: "TestConcurrency_z", Output: "        more detail\n"},
		event{Action: "output", Package: eng, Test: "TestConcurrency_z", Output: "--- FAIL: TestConcurrency_z (0.25s)\n"},
		event{Action: "fail", Package: eng, Test: "TestConcurrency_z", Elapsed: 0.25},
		event{Action: "fail", Package: eng, Elapsed: 3},
		event{Action: "start", Package: prov},
		event{Action: "run", Package: prov, Test: "TestProcess_crash"},
		event{Action: "run", Package: prov, Test: "TestProcess_crash/sqlite"},
		event{Action: "output", Package: prov, Test: "TestProcess_crash/sqlite", Output: "panic: test timed out after 10m0s\n"},
		event{Action: "output", Package: prov, Test: "TestProcess_crash/sqlite", Output: "goroutine 1 [running]:\n"},
		event{Action: "output", Package: prov, Output: "FAIL\texample.com/m/provider\t600.0s\n"},
		event{Action: "fail", Package: prov, Elapsed: 600},
		event{Action: "run", Package: "example.com/m/apple", Test: "FuzzParse"},
		event{Action: "output", Package: "example.com/m/apple", Test: "FuzzParse", Output: "fuzz: elapsed: 3s, execs: 7658 (2552/sec), new interesting: 16 (total: 29)\n"},
		event{Action: "output", Package: "example.com/m/apple", Test: "FuzzParse", Output: "fuzz: elapsed: 60s, execs: 422621 (7210/sec), new interesting: 28 (total: 41)\n"},
		event{Action: "pass", Package: "example.com/m/apple", Test: "FuzzParse", Elapsed: 60.1},
		event{Action: "pass", Package: "example.com/m/apple", Elapsed: 60.2},
	)
	s := summarize(strings.NewReader(in + "not json\n"))
	if s.Result != "fail" || s.Counts != (Counts{Pass: 2, Fail: 1, Skip: 1, Incomplete: 2}) {
		t.Fatalf("result %s, counts %+v", s.Result, s.Counts)
	}
	if len(s.Packages) != 3 || s.Packages[0].Result != "fail" || s.Packages[1].ElapsedSeconds != 600 ||
		!reflect.DeepEqual(s.Packages[1].Output, []string{"FAIL\texample.com/m/provider\t600.0s"}) {
		t.Errorf("packages = %+v", s.Packages)
	}
	byName := map[string]Test{}
	for _, tt := range s.Tests {
		byName[tt.Name] = tt
	}
	if f := byName["TestFaults_x"]; f.Result != "pass" || f.ElapsedSeconds != 1.5 || len(f.Figures) != 1 ||
		!reflect.DeepEqual(f.Figures[0].Values, map[string]float64{"runs": 7, "requests": 5433}) || f.Log != nil {
		t.Errorf("TestFaults_x = %+v", f)
	}
	if sk := byName["TestProcess_y"]; sk.Result != "skip" || sk.SkipReason != "no terraform CLI" {
		t.Errorf("TestProcess_y = %+v", sk)
	}
	if f := byName["TestConcurrency_z"]; f.Result != "fail" ||
		!reflect.DeepEqual(f.Log, []string{"concurrency_test.go:20: round 2: 430 deliveries", "more detail"}) {
		t.Errorf("TestConcurrency_z = %+v", f)
	}
	if in := byName["TestProcess_crash/sqlite"]; in.Result != "incomplete" || in.ElapsedSeconds != 2 ||
		!reflect.DeepEqual(in.Log, []string{"panic: test timed out after 10m0s"}) {
		t.Errorf("TestProcess_crash/sqlite = %+v", in)
	}
	if fz := byName["FuzzParse"]; len(fz.Figures) != 1 || !reflect.DeepEqual(fz.Figures[0].Values,
		map[string]float64{"fuzz_seconds": 60, "execs": 422621, "new_interesting": 28, "corpus_total": 41}) {
		t.Errorf("FuzzParse = %+v", fz)
	}
	if len(s.Problems) != 1 {
		t.Errorf("problems = %v", s.Problems)
	}

	var out bytes.Buffer
	if printEvents(strings.NewReader(in), &out) {
		t.Error("printEvents reported success for a failed run")
	}
	if !strings.Contains(out.String(), "--- FAIL: TestConcurrency_z") || strings.Contains(out.String(), `"Action"`) {
		t.Errorf("printed:\n%s", out.String())
	}
	pass := events(t, event{Action: "run", Package: eng, Test: "TestA"}, event{Action: "pass", Package: eng, Test: "TestA"}, event{Action: "pass", Package: eng})
	if !printEvents(strings.NewReader(pass), &out) || summarize(strings.NewReader(pass)).Result != "pass" {
		t.Error("a passing run is reported failed")
	}
	if summarize(strings.NewReader("")).Result != "fail" {
		t.Error("a run without events passes")
	}
}
