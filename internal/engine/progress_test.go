package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// captured is a slog.Handler keeping every record, each as its message and fields.
type captured struct {
	mu   sync.Mutex
	recs []logged
}

type logged struct {
	msg    string
	level  slog.Level
	fields map[string]any
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }

func (c *captured) Handle(_ context.Context, r slog.Record) error {
	l := logged{msg: r.Message, level: r.Level, fields: map[string]any{}}
	r.Attrs(func(a slog.Attr) bool {
		l.fields[a.Key] = a.Value.Resolve().Any()
		return true
	})
	c.mu.Lock()
	c.recs = append(c.recs, l)
	c.mu.Unlock()
	return nil
}

func (c *captured) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captured) WithGroup(string) slog.Handler      { return c }

// records returns the records with message msg.
func (c *captured) records(msg string) []logged {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logged
	for _, l := range c.recs {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time          { return f.t }
func (f *fakeClock) advance(d time.Duration) { f.t = f.t.Add(d) }

// progressEngine is an engine with only a fake clock, a capturing logger and a progress interval
// of 5 s: enough for the reporter.
func progressEngine() (*Engine, *fakeClock, *captured) {
	clock := &fakeClock{t: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)}
	logs := &captured{}
	return &Engine{cfg: Config{Now: clock.now, Logger: slog.New(logs), ProgressInterval: 5 * time.Second}}, clock, logs
}

// addEachSecond adds n to p each second for so many seconds.
func addEachSecond(p *progress, clock *fakeClock, seconds, n int) {
	for range seconds {
		clock.advance(time.Second)
		p.add(n)
	}
}

// A 2-hour delivery to 100,000 members, half done after an hour: its record says so.
func TestProgress_reportsRateAndTimeLeft(t *testing.T) {
	e, clock, logs := progressEngine()
	p := e.startProgress(t.Context(), "tok-1", "Associating licenses", 100_000, "licenses")
	clock.advance(time.Hour)
	p.add(50_000)
	recs := logs.records("Associating licenses")
	if len(recs) != 1 {
		t.Fatalf("records = %v, want one", logs.recs)
	}
	want := map[string]any{"token_id": "tok-1", "done": int64(50_000), "total": int64(100_000), "unit": "licenses",
		"percent": int64(50), "rate_per_second": 13.9, "time_left": "1h"}
	if got := recs[0].fields; fmt.Sprint(got) != fmt.Sprint(want) || recs[0].level != slog.LevelInfo {
		t.Errorf("record = %v at %v, want %v at INFO", got, recs[0].level, want)
	}
	clock.advance(20 * time.Minute)
	p.add(10_000) // 60,000 in 80 minutes: 12.5 a second, 40,000 left
	if recs = logs.records("Associating licenses"); len(recs) != 2 {
		t.Fatalf("records = %v, want two", logs.recs)
	}
	if got := recs[1].fields; got["time_left"] != "53m20s" || got["rate_per_second"] != 12.5 || got["percent"] != int64(60) {
		t.Errorf("second record = %v, want 53m20s left at 12.5/s, 60%%", got)
	}
}

// At most one record per interval, whatever the number of adds; an add of nothing still shows
// that a phase is going on once the interval has passed.
func TestProgress_throttlesToTheInterval(t *testing.T) {
	e, clock, logs := progressEngine()
	p := e.startProgress(t.Context(), "tok-1", "Creating VPP users", 1200, "users")
	addEachSecond(p, clock, 12, 100)
	var done []any
	for _, r := range logs.records("Creating VPP users") {
		done = append(done, r.fields["done"])
	}
	if fmt.Sprint(done) != "[500 1000]" {
		t.Errorf("done of the records = %v, want [500 1000] (at 5 s and 10 s)", done)
	}
	clock.advance(5 * time.Second)
	p.add(0)
	recs := logs.records("Creating VPP users")
	if len(recs) != 3 || recs[2].fields["done"] != int64(1200) {
		t.Errorf("after an add of none 5 s later: %v, want a third record, done 1200", recs)
	}
}

// A phase that logged progress ends with one record of done, total and the time it took; one
// stopped short says so.
func TestProgress_finishLogsTheEnd(t *testing.T) {
	e, clock, logs := progressEngine()
	p := e.startProgress(t.Context(), "tok-1", "Associating licenses", 3000, "licenses")
	clock.advance(6 * time.Second)
	p.add(1000)
	clock.advance(84 * time.Minute)
	p.add(2000)
	p.finish()
	end := logs.records("Associating licenses finished")
	if len(end) != 1 || fmt.Sprint(end[0].fields) != fmt.Sprint(map[string]any{"token_id": "tok-1", "done": int64(3000), "total": int64(3000), "unit": "licenses", "elapsed": "1h24m"}) {
		t.Errorf("final records = %v, want one: 3000 of 3000 licenses in 1h24m", end)
	}

	q := e.startProgress(t.Context(), "tok-1", "Creating VPP users", 500, "users")
	clock.advance(10 * time.Second)
	q.add(100)
	q.finish()
	if end := logs.records("Creating VPP users stopped"); len(end) != 1 || end[0].fields["done"] != int64(100) {
		t.Errorf("records of a phase stopped at 100 of 500 = %v, want one 'stopped' record", end)
	}
}

// A phase shorter than the interval logs nothing at all, not even its end.
func TestProgress_shortPhaseLogsNothing(t *testing.T) {
	e, clock, logs := progressEngine()
	p := e.startProgress(t.Context(), "tok-1", "Creating VPP users", 300, "users")
	addEachSecond(p, clock, 3, 100)
	p.finish()
	if len(logs.recs) != 0 {
		t.Errorf("records of a 3-second phase = %v, want none", logs.recs)
	}
}

// A walk may hand over more records than the phase's total: done and percent stop at the total.
func TestProgress_doneStopsAtTotal(t *testing.T) {
	e, clock, logs := progressEngine()
	p := e.startProgress(t.Context(), "tok-1", "Reading", 10, "users")
	clock.advance(10 * time.Second)
	p.add(12)
	recs := logs.records("Reading")
	if len(recs) != 1 {
		t.Fatalf("records = %v, want one", logs.recs)
	}
	if f := recs[0].fields; f["done"] != int64(10) || f["percent"] != int64(100) || f["time_left"] != "0s" {
		t.Errorf("record = %v, want done 10, 100%%, 0s left", f)
	}
}

func TestRoundedDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		83*time.Minute + 20*time.Second:       "1h23m",
		59*time.Minute + 59*time.Second:       "59m59s",
		time.Hour + 20*time.Second:            "1h",
		4*time.Minute + 10*time.Second:        "4m10s",
		2 * time.Minute:                       "2m",
		42*time.Second + 400_000_000:          "42s",
		300 * time.Millisecond:                "0s",
		26*time.Hour + 30*time.Second:         "26h1m",
		10*time.Minute + 500*time.Millisecond: "10m1s",
	} {
		if got := roundedDuration(d); got != want {
			t.Errorf("roundedDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// A real delivery of one book to 3,000 invited members reports, at INFO, the creation of their
// users and the association of their licenses, done growing to the total, and no record holds a
// secret: not the token file, the token in it, an invitation URL or code.
func TestDeliver_logsProgress(t *testing.T) {
	const members, adamID = 3000, "1000000009"
	sim := applesim.New(applesim.Options{DisableRateLimit: true, ProcessingDelay: 2 * time.Millisecond, ProgressSteps: 2})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: "Springfield District", AccountType: applesim.AccountBusiness})
	if err != nil {
		t.Fatal(err)
	}
	file, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: adamID, Title: "Readers", Language: "en", Licenses: 2 * members}); err != nil {
		t.Fatal(err)
	}
	logs := &captured{}
	ctx := t.Context()
	e, err := Open(ctx, Config{
		Database: storetest.URL(t, store.SQLite), AppleBaseURL: srv.URL + "/mdm/v2",
		PollInterval: 5 * time.Millisecond, FirstPoll: time.Millisecond, EventTimeout: 10 * time.Second,
		Logger: slog.New(logs), ProgressInterval: time.Nanosecond,
		TuneClient: func(c *apple.Config) { c.RequestsPerSecond = 10000 },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	tok, err := e.AddToken(ctx, TokenInput{Contents: file, AccountType: AccountBusiness, DisplayName: "Main"})
	if err != nil {
		t.Fatal(err)
	}
	emails := make([]string, members)
	for i := range emails {
		emails[i] = fmt.Sprintf("student%05d@example.com", i)
	}
	g, err := e.CreateGroup(ctx, GroupInput{Name: "District", Members: emails})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAssignment(ctx, AssignmentInput{BookID: BookID(tok.ID, adamID, PricingStandard), GroupID: g.ID, Intent: IntentRequired}); err != nil {
		t.Fatal(err)
	}

	for phase, unit := range map[string]string{"Creating VPP users": "users", "Associating licenses": "licenses"} {
		wantGrowingToTotal(t, logs.records(phase), tok.ID, unit, members)
		if end := logs.records(phase + " finished"); len(end) != 1 || end[0].fields["done"] != int64(members) {
			t.Errorf("%s: final records = %v, want one with done %d", phase, end, members)
		}
	}
	wantNoSecret(t, logs, secretsOfDelivery(t, e, sim, loc.UID, g.ID, file))
}

// wantGrowingToTotal checks that a phase's records are INFO, of the token, in unit, with total
// members and done growing to it.
func wantGrowingToTotal(t *testing.T, recs []logged, tokenID, unit string, total int) {
	t.Helper()
	if len(recs) < 2 {
		t.Fatalf("progress records = %v, want several", recs)
	}
	prev := int64(0)
	for _, r := range recs {
		f := r.fields
		done, _ := f["done"].(int64)
		if r.level != slog.LevelInfo || f["token_id"] != tokenID || f["unit"] != unit || f["total"] != int64(total) || done <= prev {
			t.Fatalf("record %v at %v after done %d, want INFO, token %s, %s, total %d, done growing", f, r.level, prev, tokenID, unit, total)
		}
		prev = done
	}
	if prev != int64(total) {
		t.Errorf("last record's done = %d, want %d", prev, total)
	}
}

// secretsOfDelivery lists what no log may hold: the token file, the token in it, and the group's
// invitation URLs and codes.
func secretsOfDelivery(t *testing.T, e *Engine, sim *applesim.Server, uid, groupID, file string) []string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(file)
	var doc struct {
		Token string `json:"token"`
	}
	if err != nil || json.Unmarshal(raw, &doc) != nil || doc.Token == "" {
		t.Fatalf("token file: %v", err)
	}
	g, err := e.GetGroup(t.Context(), groupID)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Invitations) == 0 {
		t.Fatal("the group has no invitations to look for")
	}
	secrets := []string{file, doc.Token}
	for _, url := range g.Invitations {
		secrets = append(secrets, url)
	}
	for _, u := range sim.Users(uid) {
		if u.InviteCode != "" {
			secrets = append(secrets, u.InviteCode)
		}
	}
	return secrets
}

func wantNoSecret(t *testing.T, logs *captured, secrets []string) {
	t.Helper()
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, r := range logs.recs {
		text := r.msg + " " + fmt.Sprint(r.fields)
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("record %q holds a secret", text)
			}
		}
	}
}
