package engine

import (
	"context"
	"math"
	"strings"
	"time"
)

// DefaultProgressInterval is how often a long phase of a delivery logs how far it has come.
const DefaultProgressInterval = 5 * time.Second

// progress reports at INFO how far one long phase of a delivery has come (creating users,
// associating licenses, ...): done of total in its unit, the rate and the time left, at most once
// per progress interval, so that a delivery of hours shows it is moving. A phase that ends within
// the interval logs nothing; one that logged ends with one final record. Its cost is a counter and
// a clock reading per add, whatever the size of what was added. One goroutine uses it.
type progress struct {
	e       *Engine
	ctx     context.Context
	tokenID string
	phase   string // the message of its records, e.g. "Associating licenses"
	unit    string // what done and total count, e.g. "licenses"
	total   int
	done    int
	start   time.Time
	last    time.Time // when progress was last logged, or start
	logged  bool
}

// startProgress starts reporting a phase of total units of work on a token.
func (e *Engine) startProgress(ctx context.Context, tokenID, phase string, total int, unit string) *progress {
	now := e.now()
	return &progress{e: e, ctx: ctx, tokenID: tokenID, phase: phase, unit: unit, total: total, start: now, last: now}
}

func (e *Engine) progressInterval() time.Duration {
	if e.cfg.ProgressInterval > 0 {
		return e.cfg.ProgressInterval
	}
	return DefaultProgressInterval
}

// add counts n more units done (0 counts nothing, but may log that the phase is still going), and
// logs the progress when the interval has passed since the last record.
func (p *progress) add(n int) {
	p.done += n
	now := p.e.now()
	if now.Sub(p.last) < p.e.progressInterval() {
		return
	}
	p.report(now)
}

// report logs done of total, the rate since the phase started, and the time left at that rate.
func (p *progress) report(now time.Time) {
	p.last, p.logged = now, true
	elapsed := now.Sub(p.start)
	done := min(p.done, p.total) // a walk may hand over a record twice
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	left := "unknown"
	if rate > 0 {
		left = roundedDuration(time.Duration(float64(p.total-done) / rate * float64(time.Second)))
	}
	percent := 100
	if p.total > 0 {
		percent = done * 100 / p.total
	}
	p.e.info(p.ctx, p.phase, "token_id", p.tokenID, "done", done, "total", p.total, "unit", p.unit,
		"percent", percent, "rate_per_second", math.Round(rate*10)/10, "time_left", left)
}

// finish logs the phase's end (done of total and the time it took) when it logged progress.
func (p *progress) finish() {
	if !p.logged {
		return
	}
	msg := p.phase + " finished"
	if p.done < p.total {
		msg = p.phase + " stopped"
	}
	p.e.info(p.ctx, msg, "token_id", p.tokenID, "done", min(p.done, p.total), "total", p.total, "unit", p.unit,
		"elapsed", roundedDuration(p.e.now().Sub(p.start)))
}

// roundedDuration writes d for people: to the minute from an hour ("1h23m"), else to the second
// ("4m10s", "42s").
func roundedDuration(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	s := d.String() // "1h23m0s", "1h0m0s", "4m10s", "2m0s", "42s"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
