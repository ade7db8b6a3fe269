// Command soaksummary turns the `go test -json` events of a soak run into a short,
// machine-readable summary (see SOAK.md), so that the figures of a long run are kept rather than
// lost with the terminal's scrollback. `make soak` uses it twice:
//
//	go test -json ... | tee -a events.json | soaksummary -print
//	soaksummary -out soak-summary.json -started ... < events.json
//
// With -print it writes the tests' ordinary (-v) output to stdout as the events arrive and exits
// 1 when the stream reports a failure. With -out it writes the summary of every event read (from
// all the stages appended to one file) and exits 1 when the run failed, after writing it: a
// failed run has a summary too. Lines that are not JSON events are printed as they are (-print)
// or listed under "problems" (-out).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), including the build events of Go 1.24+.
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// Summary is the file written with -out. Its format is described in SOAK.md; Format changes when a
// field changes meaning or goes away.
type Summary struct {
	Format          int               `json:"format"`
	Result          string            `json:"result"` // pass or fail
	Partial         bool              `json:"partial"`
	Started         string            `json:"started"`
	Finished        string            `json:"finished"`
	DurationSeconds float64           `json:"duration_seconds"`
	GitCommit       string            `json:"git_commit"`
	GitDirty        *bool             `json:"git_dirty,omitempty"`
	GoVersion       string            `json:"go_version"`
	Platform        string            `json:"platform"`
	CPUs            int               `json:"cpus"`
	TerraformCLI    string            `json:"terraform_cli,omitempty"`
	RunFilter       string            `json:"run_filter,omitempty"`
	FuzzTime        string            `json:"fuzz_time,omitempty"`
	Settings        map[string]string `json:"settings,omitempty"`
	Counts          Counts            `json:"counts"`
	Packages        []Package         `json:"packages"`
	Tests           []Test            `json:"tests"`
	Problems        []string          `json:"problems,omitempty"`
}

// Counts counts the tests, subtests included, by result.
type Counts struct {
	Pass       int `json:"pass"`
	Fail       int `json:"fail"`
	Skip       int `json:"skip"`
	Incomplete int `json:"incomplete"`
}

// Package is one `go test` run of a package (the fuzz stage runs internal/apple once per target).
type Package struct {
	Package        string   `json:"package"`
	Result         string   `json:"result"` // pass, fail, skip (no test files or none matched), incomplete
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	Output         []string `json:"output,omitempty"` // for a failure: the package's own output (build errors, a timeout's panic)
}

// Test is one test or subtest.
type Test struct {
	Package        string   `json:"package"`
	Name           string   `json:"name"`
	Result         string   `json:"result"` // pass, fail, skip, incomplete (started, never finished: a timeout or a crash)
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	SkipReason     string   `json:"skip_reason,omitempty"`
	Figures        []Figure `json:"figures,omitempty"`
	Log            []string `json:"log,omitempty"` // for a failure: what the test logged
}

// Figure is a line a test logged that holds numbers, with the numbers it recognised by name.
type Figure struct {
	Line   string             `json:"line"`
	Values map[string]float64 `json:"values"`
}

const (
	maxFailureLines = 40
	maxLineLength   = 400
	maxFigures      = 200 // per test
)

func main() {
	printMode := flag.Bool("print", false, "print the tests' output as the events arrive, and exit 1 on a failure")
	out := flag.String("out", "", "write the summary of the events to this file")
	started := flag.String("started", "", "when the run started (RFC 3339; default: the first event's time)")
	cli := flag.String("cli", "", "the Terraform CLI the tests used (its version is recorded)")
	runFilter := flag.String("run", "", "the -run filter of the tests (recorded)")
	fuzzTime := flag.String("fuzztime", "", "the -fuzztime of the fuzz stage (recorded)")
	partial := flag.Bool("partial", false, "the run was narrowed (another -run filter, fewer packages or fuzz targets)")
	flag.Parse()
	if *printMode == (*out != "") {
		fmt.Fprintln(os.Stderr, "soaksummary: give exactly one of -print and -out")
		os.Exit(2)
	}
	if *printMode {
		if !printEvents(os.Stdin, os.Stdout) {
			os.Exit(1)
		}
		return
	}
	s := summarize(os.Stdin)
	s.Partial = *partial
	s.RunFilter, s.FuzzTime = *runFilter, *fuzzTime
	finished := time.Now().UTC()
	start := s.firstEvent
	if *started != "" {
		t, err := time.Parse(time.RFC3339, *started)
		if err != nil {
			fmt.Fprintf(os.Stderr, "soaksummary: -started: %v\n", err)
			os.Exit(2)
		}
		start = t
	}
	if !start.IsZero() {
		s.Started = start.UTC().Format(time.RFC3339)
		s.DurationSeconds = round(finished.Sub(start).Seconds())
	}
	s.Finished = finished.Format(time.RFC3339)
	s.GitCommit, s.GitDirty = gitState()
	s.GoVersion = runtime.Version()
	s.Platform = runtime.GOOS + "/" + runtime.GOARCH
	s.CPUs = runtime.NumCPU()
	if *cli != "" {
		s.TerraformCLI = cliVersion(*cli)
	}
	s.Settings = settings()
	b, err := json.MarshalIndent(s.Summary, "", "  ")
	if err == nil {
		err = os.WriteFile(*out, append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "soaksummary: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("soak summary: %s, %d passed, %d failed, %d skipped, %d incomplete, in %s; written to %s\n",
		s.Result, s.Counts.Pass, s.Counts.Fail, s.Counts.Skip, s.Counts.Incomplete,
		time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second), *out)
	if s.Result != "pass" {
		os.Exit(1)
	}
}

// printEvents copies the tests' output to w and reports whether nothing failed.
func printEvents(r io.Reader, w io.Writer) bool {
	ok := true
	sc := newScanner(r)
	for sc.Scan() {
		e, isEvent := parse(sc.Bytes())
		switch {
		case !isEvent:
			_, _ = fmt.Fprintf(w, "%s\n", sc.Bytes())
		case e.Action == "output" || e.Action == "build-output":
			_, _ = io.WriteString(w, e.Output)
		case e.Action == "fail" || e.Action == "build-fail":
			ok = false
		}
	}
	return ok && sc.Err() == nil
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return sc
}

func parse(line []byte) (event, bool) {
	var e event
	if len(bytes.TrimSpace(line)) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
		return event{}, false
	}
	return e, true
}

type summary struct {
	Summary
	firstEvent time.Time
}

type testState struct {
	Test
	started, last time.Time
	lastLog       string  // the last log message's first line (a skip's reason)
	fuzz          *Figure // the fuzzer's last progress line
}

type pkgState struct {
	Package
	started time.Time
	output  []string
	done    bool
	tests   map[string]*testState
	order   []string
}

// summarize reads every event and returns the summary, without the run's surroundings.
func summarize(r io.Reader) *summary {
	s := &summary{Summary: Summary{Format: 1, Packages: []Package{}, Tests: []Test{}}}
	var runs []*pkgState
	current := map[string]*pkgState{} // package -> its current run
	get := func(e event) *pkgState {
		name := e.Package
		if name == "" {
			name = e.ImportPath
		}
		p := current[name]
		if p == nil || p.done {
			p = &pkgState{Package: Package{Package: name}, started: e.Time, tests: map[string]*testState{}}
			current[name] = p
			runs = append(runs, p)
		}
		return p
	}
	sc := newScanner(r)
	for sc.Scan() {
		e, ok := parse(sc.Bytes())
		if !ok {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				s.Problems = append(s.Problems, clip("not a go test event: "+line))
			}
			continue
		}
		if s.firstEvent.IsZero() && !e.Time.IsZero() {
			s.firstEvent = e.Time
		}
		if e.Action == "build-output" || e.Action == "build-fail" {
			// Build events name the package being built (ImportPath, "pkg [pkg.test]" for a test
			// build); its failure shows in the package's fail event (FailedBuild) as well.
			if e.Action == "build-output" {
				name := strings.TrimSuffix(strings.Fields(e.ImportPath + " ?")[0], ".test")
				p := get(event{Package: name, Time: e.Time})
				p.output = append(p.output, strings.TrimRight(e.Output, "\n"))
			}
			continue
		}
		p := get(e)
		if e.Test == "" {
			switch e.Action {
			case "output":
				p.output = append(p.output, strings.TrimRight(e.Output, "\n"))
			case "pass", "fail", "skip":
				p.Result, p.ElapsedSeconds, p.done = e.Action, round(e.Elapsed), true
				if e.FailedBuild != "" {
					p.output = append(p.output, "build failed: "+e.FailedBuild)
				}
			}
			continue
		}
		t := p.tests[e.Test]
		if t == nil {
			t = &testState{Test: Test{Package: p.Package.Package, Name: e.Test}, started: e.Time}
			p.tests[e.Test] = t
			p.order = append(p.order, e.Test)
		}
		t.last = e.Time
		switch e.Action {
		case "output":
			t.addOutput(e.Output)
		case "pass", "fail", "skip":
			t.Result, t.ElapsedSeconds = e.Action, round(e.Elapsed)
		}
	}
	if err := sc.Err(); err != nil {
		s.Problems = append(s.Problems, "reading the events: "+err.Error())
	}

	failed := len(s.Problems) > 0 && len(runs) == 0
	for _, p := range runs {
		if p.Result == "" {
			p.Result = "incomplete"
		}
		if p.Result != "pass" && p.Result != "skip" {
			failed = true
			p.Output = tail(p.output, maxFailureLines)
		}
		s.Packages = append(s.Packages, p.Package)
		for _, name := range p.order {
			t := p.tests[name]
			switch t.Result {
			case "pass":
				s.Counts.Pass++
			case "skip":
				s.Counts.Skip++
				t.SkipReason = t.lastLog
			case "fail":
				s.Counts.Fail++
				failed = true
			default:
				// Started and never finished: the time until its last sign of life, or its
				// subtests' (a parent's result only comes when its subtests end).
				t.Result = "incomplete"
				s.Counts.Incomplete++
				failed = true
				last := t.last
				for _, other := range p.tests {
					if strings.HasPrefix(other.Name, t.Name+"/") && other.last.After(last) {
						last = other.last
					}
				}
				if !t.started.IsZero() && !last.IsZero() {
					t.ElapsedSeconds = round(last.Sub(t.started).Seconds())
				}
			}
			if t.fuzz != nil {
				t.Figures = append(t.Figures, *t.fuzz)
			}
			if t.Result == "fail" || t.Result == "incomplete" {
				t.Log = tail(t.Log, maxFailureLines)
			} else {
				t.Log = nil
			}
			s.Tests = append(s.Tests, t.Test)
		}
	}
	s.Result = "pass"
	if failed || len(runs) == 0 {
		s.Result = "fail"
	}
	return s
}

// fuzzLine matches the fuzzer's progress line, e.g. "fuzz: elapsed: 3s, execs: 7658 (2552/sec),
// new interesting: 16 (total: 29)".
var fuzzLine = regexp.MustCompile(`^fuzz: elapsed: (\S+), execs: (\d+) \(\d+/sec\), new interesting: (\d+) \(total: (\d+)\)`)

// logLine matches the first line of a message a test logged (t.Log, t.Error, ...): indented,
// then file.go:line:.
var logLine = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)

func (t *testState) addOutput(out string) {
	line := strings.TrimRight(out, "\n")
	// Kept for a failure: what the test logged (indented: a message's first and further lines)
	// and a panic's first line, not the goroutine dump that follows it; the last lines only.
	if (strings.HasPrefix(line, "    ") && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "--- ")) ||
		strings.HasPrefix(line, "panic: ") {
		t.Log = append(t.Log, clip(strings.TrimSpace(line)))
		if len(t.Log) > 2*maxFailureLines {
			t.Log = append(t.Log[:0], t.Log[len(t.Log)-maxFailureLines:]...)
		}
	}
	if f := fuzzLine.FindStringSubmatch(line); f != nil {
		d, _ := time.ParseDuration(f[1])
		execs, _ := strconv.ParseFloat(f[2], 64)
		interesting, _ := strconv.ParseFloat(f[3], 64)
		total, _ := strconv.ParseFloat(f[4], 64)
		t.fuzz = &Figure{Line: clip(line), Values: map[string]float64{
			"fuzz_seconds": round(d.Seconds()), "execs": execs, "new_interesting": interesting, "corpus_total": total}}
		return
	}
	m := logLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	msg := strings.TrimSpace(m[1])
	t.lastLog = clip(msg)
	if values := Figures(msg); len(values) > 0 && len(t.Figures) < maxFigures {
		t.Figures = append(t.Figures, Figure{Line: clip(msg), Values: values})
	}
}

var (
	numberRE   = regexp.MustCompile(`^\d+(\.\d+)?$`)
	durationRE = regexp.MustCompile(`^(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|us|ms|s)$`)
	wordRE     = regexp.MustCompile(`^[a-z][a-z_-]*$`)
	mapEntryRE = regexp.MustCompile(`([A-Za-z][\w.-]*):(\d+(?:\.\d+)?)`)
	stopWords  = map[string]bool{"a": true, "an": true, "and": true, "are": true, "at": true, "by": true, "for": true,
		"from": true, "in": true, "is": true, "of": true, "on": true, "or": true, "the": true, "to": true, "was": true, "with": true}
	// errorMarker starts the part of a log line that quotes an error: numbers there are not figures.
	errorMarker = regexp.MustCompile(`(?:^|[\s(\[])(?:[Ee]rror[: ]|panic:)`)
)

// Figures returns the numbers of a log line, named after the words around them:
//
//	"10000 members, 523 requests to Apple, 12.3s" -> members=10000 requests=523 seconds=12.3
//	"kill 2: provider killed at request 5 of 100" -> kill=2 request=5 request_of=100
//	"applied in 1.5s", "refused after 30s"         -> applied_seconds=1.5, refused_seconds=30
//	"(12ms later)"                                 -> later_seconds=0.012
//	"12 faults injected map[slow:3 reset_after:9]" -> faults=12 faults.slow=3 faults.reset_after=9
//	"Apple holds 30"                               -> holds=30
//
// Durations are in seconds. A name that recurs in the line gets _2, _3... Text from an error
// marker on ("Error:", "error ...", "panic:", at the start of a word) is left out, and so is a line that starts with "<n>x ".
func Figures(line string) map[string]float64 {
	if loc := errorMarker.FindStringIndex(line); loc != nil {
		line = line[:loc[0]]
	}
	values := map[string]float64{}
	put := func(key string, v float64) {
		k := key
		for n := 2; ; n++ {
			if _, taken := values[k]; !taken {
				break
			}
			k = key + "_" + strconv.Itoa(n)
		}
		values[k] = v
	}
	fields := strings.Fields(line)
	if len(fields) > 0 && strings.HasSuffix(fields[0], "x") && numberRE.MatchString(strings.TrimSuffix(fields[0], "x")) {
		return nil // "3x <error>": a count of an error message, not a figure
	}
	type tok struct{ text, trail string }
	toks := make([]tok, len(fields))
	for i, f := range fields {
		core := strings.TrimLeft(f, "(\"'[")
		trimmed := strings.TrimRight(core, ",;:)\"'.")
		if durationRE.MatchString(core) { // "1.5s." keeps its unit
			trimmed = strings.TrimRight(core, ",;:)\"'")
			trimmed = strings.TrimSuffix(trimmed, ".")
		}
		toks[i] = tok{trimmed, core[len(trimmed):]}
	}
	word := func(i int) string {
		if i < 0 || i >= len(toks) || !wordRE.MatchString(toks[i].text) || stopWords[toks[i].text] {
			return ""
		}
		return toks[i].text
	}
	lastNoun := ""
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case strings.HasPrefix(fields[i], "map["):
			var entries []string
			for ; i < len(toks); i++ {
				entries = append(entries, strings.TrimPrefix(strings.TrimLeft(fields[i], "("), "map["))
				if strings.Contains(fields[i], "]") {
					break
				}
			}
			prefix := lastNoun
			if prefix == "" {
				prefix = "map"
			}
			for _, m := range mapEntryRE.FindAllStringSubmatch(strings.Join(entries, " "), -1) {
				v, _ := strconv.ParseFloat(m[2], 64)
				put(prefix+"."+m[1], v)
			}
		case durationRE.MatchString(t.text) && !numberRE.MatchString(t.text):
			d, err := time.ParseDuration(t.text)
			if err != nil {
				continue
			}
			key := "seconds"
			if i >= 2 && (toks[i-1].text == "in" || toks[i-1].text == "after") && word(i-2) != "" {
				key = word(i-2) + "_seconds"
			} else if w := word(i + 1); w != "" && t.trail == "" {
				key = w + "_seconds"
			}
			put(key, round(d.Seconds()))
		case numberRE.MatchString(t.text):
			v, _ := strconv.ParseFloat(t.text, 64)
			switch {
			case i+2 < len(toks) && toks[i+1].text == "of" && t.trail == "" && numberRE.MatchString(toks[i+2].text):
				name := word(i - 1)
				if name == "" {
					name = "n"
				}
				of, _ := strconv.ParseFloat(toks[i+2].text, 64)
				put(name, v)
				put(name+"_of", of)
				i += 2
			case strings.HasPrefix(t.trail, ":") && word(i-1) != "":
				put(word(i-1), v)
			case t.trail == "" && word(i+1) != "":
				lastNoun = word(i + 1)
				put(lastNoun, v)
				i++
			case word(i-1) != "":
				put(word(i-1), v)
			}
		}
	}
	if len(values) == 0 {
		return nil
	}
	return values
}

// gitState returns the commit checked out and whether tracked files differ from it, without
// writing anything to the repository (no index refresh).
func gitState() (string, *bool) {
	commit, err := command("git", "rev-parse", "HEAD")
	if err != nil {
		return "unknown", nil
	}
	status, err := command("git", "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return commit, nil
	}
	dirty := status != ""
	return commit, &dirty
}

func cliVersion(path string) string {
	v, err := command(path, "version")
	if err != nil || v == "" {
		return path
	}
	return path + " (" + strings.SplitN(v, "\n", 2)[0] + ")"
}

func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), err
}

// settings records the environment variables that change what the soak tests do.
func settings() map[string]string {
	out := map[string]string{}
	for _, name := range []string{"VPP_SOAK", "VPP_REQUIRE_POSTGRES", "VPP_CRASH_SEED", "VPP_CRASH_MEMBERS", "VPP_CRASH_KILLS", "VPP_FAULT_SEED", "VPP_TEST_CLI"} {
		if v, ok := os.LookupEnv(name); ok {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func tail(lines []string, n int) []string {
	var kept []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			kept = append(kept, clip(l))
		}
	}
	if len(kept) > n {
		kept = append([]string{fmt.Sprintf("(%d lines before)", len(kept)-n)}, kept[len(kept)-n:]...)
	}
	return kept
}

func clip(s string) string {
	if len(s) <= maxLineLength {
		return s
	}
	cut := maxLineLength
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func round(x float64) float64 { return math.Round(x*1000) / 1000 }
