package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Figure is one measured quantity of a scenario: its samples (one per run), the floor it is
// compared with, and its target.
type Figure struct {
	Name    string
	Unit    string // "requests", "s", "MB", "429s"
	Samples []float64
	// Floor is the floor measured or computed in the same run; 0 means the figure has none and
	// Max, if set, is an absolute limit instead.
	Floor     float64
	FloorName string
	// MaxRatio is the target on the median over Floor; Max the target on the median itself
	// (or, with Worst, on the largest sample). Zero means no target.
	MaxRatio float64
	// Plus is added to MaxRatio × Floor in the target: a fixed allowance such as the start of a
	// Terraform command, or a rate floor of requests the Floor (Terraform's own time) leaves out.
	Plus  float64
	Max   float64
	Worst bool   // judge the largest sample, not the median (e.g. zero 429s in every run)
	Note  string // e.g. why a figure has no target
}

// Median, Min and MaxSample summarise the samples.
func (f Figure) Median() float64 {
	s := append([]float64(nil), f.Samples...)
	sort.Float64s(s)
	n := len(s)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return s[n/2]
	default:
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// Min is the smallest sample.
func (f Figure) Min() float64 { return extreme(f.Samples, math.Min) }

// MaxSample is the largest sample.
func (f Figure) MaxSample() float64 { return extreme(f.Samples, math.Max) }

func extreme(s []float64, pick func(a, b float64) float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	v := s[0]
	for _, x := range s[1:] {
		v = pick(v, x)
	}
	return v
}

// Ratio is the median over the floor (NaN without a floor).
func (f Figure) Ratio() float64 {
	if f.Floor == 0 {
		return math.NaN()
	}
	return f.Median() / f.Floor
}

// HasTarget reports whether the figure is judged.
func (f Figure) HasTarget() bool { return f.MaxRatio > 0 || f.Max > 0 || f.Worst }

// Pass reports whether the figure meets its target.
func (f Figure) Pass() bool {
	v := f.Median()
	if f.Worst {
		v = f.MaxSample()
	}
	switch {
	case len(f.Samples) == 0:
		return false
	case f.MaxRatio > 0 && f.Plus != 0:
		return f.Floor > 0 && f.Median() <= f.MaxRatio*f.Floor+f.Plus
	case f.MaxRatio > 0:
		return f.Ratio() <= f.MaxRatio
	default:
		return v <= f.Max
	}
}

// Target describes the target in words.
func (f Figure) Target() string {
	switch {
	case f.MaxRatio > 0 && f.Plus != 0:
		return fmt.Sprintf("≤ %.2f × floor + %s %s = %s %s", f.MaxRatio, num(f.Plus), f.Unit, num(f.MaxRatio*f.Floor+f.Plus), f.Unit)
	case f.MaxRatio > 0:
		return fmt.Sprintf("≤ %.2f × floor", f.MaxRatio)
	case f.Worst:
		return fmt.Sprintf("≤ %s in every run", num(f.Max))
	case f.Max > 0:
		return fmt.Sprintf("≤ %s %s", num(f.Max), f.Unit)
	}
	return "—"
}

// Section is one scenario, or one variant of it (a rate, a backend), in the report.
type Section struct {
	Title   string
	What    string   // what is measured, in a sentence or two
	Command string   // the command that produced every figure of the section
	Details []string // how the operation ran, floors' composition, caveats
	Figures []Figure
	// Revision is the commit of the code measured (Revision()), and Measured when its figures were
	// taken: set by the report as the section is added.
	Revision string
	Measured time.Time
	// NotMeasured, when set, says why the section has no figures: the scenario failed or could not
	// run (no PostgreSQL server, say). The section then fails, so that it cannot vanish from the
	// report unnoticed.
	NotMeasured string
}

// Pass reports whether every judged figure passes.
func (s Section) Pass() bool {
	if s.NotMeasured != "" {
		return false
	}
	for _, f := range s.Figures {
		if f.HasTarget() && !f.Pass() {
			return false
		}
	}
	return true
}

// Machine describes where the benchmarks ran.
type Machine struct {
	CPU        string
	Cores      int
	MemoryGB   float64
	OS         string
	Go         string
	Terraform  string
	LoadStart  string // /proc/loadavg when the run started
	LoadEnd    string
	Started    time.Time
	Elapsed    time.Duration
	Revision   string // the commit measured, as Revision reports it when the run started
	Scale      float64
	QuickScale float64 // the scale of the runs at rates above Apple's
	Runs       int
	Rates      []int
}

// DescribeMachine reads the machine's CPU, cores, memory and OS, and the terraform CLI's version.
func DescribeMachine(terraform string) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Started: time.Now()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemoryGB = kb / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", kernel " + strings.TrimSpace(string(b))
	}
	m.LoadStart = loadAverage()
	if terraform != "" {
		if out, err := exec.Command(terraform, "version").Output(); err == nil {
			m.Terraform = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Finish records the end of the run.
func (m *Machine) Finish() {
	m.LoadEnd = loadAverage()
	m.Elapsed = time.Since(m.Started)
}

// Render writes the report as Markdown.
func Render(w io.Writer, m Machine, reproduce string, sections []Section, notes []string) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (%s): every figure below was measured in that one run, floors included. "+
		"Each figure is the median of %d runs, with the smallest and largest; the ratio is median ÷ floor, and the "+
		"result compares it with the target of issue 6.\n\n", reproduce, m.Runs)
	p("## Machine\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s |\n| cores | %d |\n| memory | %.1f GiB |\n| OS | %s |\n| Go | %s |\n| terraform | %s |\n",
		orUnknown(m.CPU), m.Cores, m.MemoryGB, m.OS, m.Go, orUnknown(m.Terraform))
	p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.LoadStart, m.LoadEnd)
	p("| commit | %s |\n", orUnknown(m.Revision))
	p("| started | %s, took %s |\n", m.Started.UTC().Format("2006-01-02 15:04 MST"), m.Elapsed.Round(time.Second))
	p("| scale | BENCH_SCALE=%g; the simulator's maxRequestPerSecond %s (runs above Apple's 15 at scale %g) |\n\n",
		m.Scale, joinInts(m.Rates), m.QuickScale)

	p("## Summary\n\n| scenario | result |\n|---|---|\n")
	for _, s := range sections {
		res := "pass"
		switch {
		case s.NotMeasured != "":
			res = "**FAIL**: not measured"
		case !s.Pass():
			res = "**FAIL**: " + strings.Join(failing(s), "; ")
		}
		p("| [%s](#%s) | %s |\n", s.Title, anchor(s.Title), res)
	}
	p("\n")
	for _, s := range sections {
		p("## %s\n\n", s.Title)
		p("Measured %s at commit `%s`.\n\n", measuredAt(s.Measured), orUnknown(s.Revision))
		if s.What != "" {
			p("%s\n\n", s.What)
		}
		if s.Command != "" {
			p("Command: `%s`\n\n", s.Command)
		}
		if s.NotMeasured != "" {
			p("**FAIL: not measured.** %s\n\n", s.NotMeasured)
		}
		if len(s.Figures) > 0 {
			p("| figure | median | min | max | floor | ratio | target | result |\n|---|---:|---:|---:|---|---:|---|---|\n")
		}
		for _, f := range s.Figures {
			floor, ratio := "—", "—"
			if f.Floor > 0 {
				floor, ratio = fmt.Sprintf("%s (%s)", num(f.Floor), f.FloorName), fmt.Sprintf("%.3f", f.Ratio())
			}
			res := "—"
			if f.HasTarget() {
				res = "pass"
				if !f.Pass() {
					res = "**FAIL**"
				}
			} else if f.Note != "" {
				res = f.Note
			}
			p("| %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", f.Name, f.Unit, num(f.Median()), num(f.Min()), num(f.MaxSample()),
				floor, ratio, f.Target(), res)
		}
		if len(s.Figures) > 0 {
			p("\n")
		}
		for _, d := range s.Details {
			p("- %s\n", d)
		}
		if len(s.Details) > 0 {
			p("\n")
		}
	}
	if len(notes) > 0 {
		p("## Notes\n\n")
		for _, n := range notes {
			p("%s\n\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func failing(s Section) []string {
	var out []string
	for _, f := range s.Figures {
		if f.HasTarget() && !f.Pass() {
			out = append(out, f.Name)
		}
	}
	return out
}

func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func measuredAt(t time.Time) string {
	if t.IsZero() {
		return "at an unknown date"
	}
	return "on " + t.UTC().Format("2006-01-02 15:04 MST")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " and ")
}

// num prints a figure with sensible precision.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
