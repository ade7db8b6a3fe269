package apple

import (
	"context"
	"sync"
	"time"
)

// pacer keeps one token's requests within Apple's maxRequestPerSecond: at most n requests may
// reach Apple in any one-second window (the simulator enforces exactly that; Apple documents
// only the number). It spaces requests evenly at n per second, and lets a request go only once
// the request n places before it was answered at least a second ago. A request reaches Apple
// somewhere between its sending and its answer, so no one-second window can hold more than n of
// them whatever the network's jitter, and the pace stays within one round trip of n per second.
// A fixed safety margin would cost a tenth of the throughput and still not be safe against a
// slow request.
type pacer struct {
	mu       sync.Mutex
	perSec   float64
	interval time.Duration
	next     time.Time // when the next request may start, by the even spacing
	window   []*paced  // the last n requests, oldest at head
	head     int       // the oldest entry of window
}

// paced is one request that went through the pacer.
type paced struct {
	once sync.Once
	done chan struct{} // closed when the request has been answered (or failed)
	end  time.Time     // when; valid once done is closed
}

func (r *paced) finish() {
	r.once.Do(func() {
		r.end = time.Now()
		close(r.done)
	})
}

func newPacer(perSecond float64) *pacer {
	p := &pacer{}
	p.SetRate(perSecond)
	return p
}

// SetRate changes the pace to perSecond requests per second.
func (p *pacer) SetRate(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if perSecond == p.perSec {
		return
	}
	p.perSec = perSecond
	p.interval = time.Duration(float64(time.Second) / perSecond)
	n := max(1, int(perSecond))
	// Keep the most recent requests: they still count in the window.
	old := make([]*paced, 0, len(p.window))
	for i := range p.window {
		if r := p.window[(p.head+i)%len(p.window)]; r != nil {
			old = append(old, r)
		}
	}
	p.window, p.head = make([]*paced, n), 0
	if len(old) > n {
		old = old[len(old)-n:]
	}
	copy(p.window[n-len(old):], old)
}

// Rate reports the pace in requests per second.
func (p *pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.perSec
}

// Wait blocks until a request may be sent, and returns the function to call once its answer has
// arrived or it failed.
func (p *pacer) Wait(ctx context.Context) (func(), error) {
	r := &paced{done: make(chan struct{})}
	p.mu.Lock()
	at := time.Now()
	if p.next.After(at) {
		at = p.next
	}
	p.next = at.Add(p.interval)
	prev := p.window[p.head]
	p.window[p.head] = r
	p.head = (p.head + 1) % len(p.window)
	p.mu.Unlock()

	if err := sleepUntil(ctx, at); err != nil {
		r.finish()
		return nil, err
	}
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
			r.finish()
			return nil, ctx.Err()
		}
		if err := sleepUntil(ctx, prev.end.Add(time.Second)); err != nil {
			r.finish()
			return nil, err
		}
	}
	return r.finish, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
