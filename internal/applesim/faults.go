package applesim

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// FaultKind is a failure the simulator can inject in place of normal service.
type FaultKind string

// Fault kinds.
const (
	// FaultRateLimited answers HTTP 429 with errorNumber 9646; Retry-After only if set.
	FaultRateLimited FaultKind = "rate_limited"
	// FaultInternalError answers HTTP 500 with errorNumber 9603 and Retry-After.
	FaultInternalError FaultKind = "internal_error"
	// FaultUnavailable answers HTTP 503 with errorNumber 9729 and Retry-After.
	FaultUnavailable FaultKind = "unavailable"
	// FaultErrorBody answers HTTP 200 with an ErrorResponse body (Fault.ErrorNumber).
	FaultErrorBody FaultKind = "error_body"
	// FaultResetBefore closes the connection without applying the request.
	FaultResetBefore FaultKind = "reset_before"
	// FaultResetAfter applies the request fully, then closes the connection without a response:
	// the client cannot know the outcome.
	FaultResetAfter FaultKind = "reset_after"
	// FaultInternalErrorAfter applies the request fully (an accepted POST queues its event as
	// normal), then answers HTTP 500 with errorNumber 9603 and Retry-After: Apple did the work
	// but the client is told it failed. Not among the default RandomFaults kinds.
	FaultInternalErrorAfter FaultKind = "internal_error_after"
	// FaultUnavailableAfter applies the request fully (an accepted POST queues its event as
	// normal), then answers HTTP 503 with errorNumber 9729 and Retry-After, although a 503
	// usually means nothing was done. Not among the default RandomFaults kinds.
	FaultUnavailableAfter FaultKind = "unavailable_after"
	// FaultSlow waits Fault.Delay (or until the client gives up) before serving normally.
	FaultSlow FaultKind = "slow"
)

// Defaults of a Fault's optional fields.
const (
	DefaultRetryAfter       = "1"
	DefaultFaultErrorNumber = 9603
	DefaultSlowDelay        = 2 * time.Second
)

// Fault is a scripted fault rule.
type Fault struct {
	// Endpoint is the endpoint key the rule matches, such as "POST /assets/associate",
	// "GET /service/config" or "GET /lookup"; "" matches every request.
	Endpoint string
	Kind     FaultKind
	// Count is how many matching requests the rule intercepts; 0 means 1.
	Count int
	// RetryAfter is the Retry-After header of 429, 500 and 503 faults (the "after" kinds
	// included): seconds ("1") or an HTTP-date (see RetryAfterDate). Default "1" on 500 and 503,
	// and on 429 Quirks.RateLimitRetryAfter.
	RetryAfter string
	// ErrorNumber is the errorNumber of FaultErrorBody; default 9603.
	ErrorNumber int
	// Delay is the wait of FaultSlow; default 2 s.
	Delay time.Duration
}

// RandomFaults injects faults at random, reproducibly for a given seed.
type RandomFaults struct {
	// Rate is the probability in [0,1] that a request is faulted; 0 disables random faults.
	Rate float64
	// Kinds to draw from uniformly; default 429, 500 and 503 (FaultRateLimited,
	// FaultInternalError, FaultUnavailable). Any kind may be listed, the "after" kinds included.
	Kinds []FaultKind
	// Seed of the generator; 0 uses Options.Seed.
	Seed int64
	// Endpoint limits random faults to one endpoint key; "" means every request.
	Endpoint string
	// RetryAfter, ErrorNumber and Delay are as in Fault.
	RetryAfter  string
	ErrorNumber int
	Delay       time.Duration
}

// RetryAfterDate formats t as an HTTP-date for a Retry-After header.
func RetryAfterDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// faults holds the scripted rules and the random generator.
type faults struct {
	mu     sync.Mutex
	seed   int64
	rules  []*Fault
	random RandomFaults
	rng    *rand.Rand
}

func (f *faults) init(seed int64, rf RandomFaults) {
	f.seed = seed
	f.setRandom(rf)
}

func (f *faults) setRandom(rf RandomFaults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(rf.Kinds) == 0 {
		rf.Kinds = []FaultKind{FaultRateLimited, FaultInternalError, FaultUnavailable}
	}
	seed := rf.Seed
	if seed == 0 {
		seed = f.seed
	}
	f.random = rf
	f.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

// next returns the fault for a request, if one fires: scripted rules first, in the order given.
func (f *faults) next(key string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Endpoint != "" && r.Endpoint != key {
			continue
		}
		fired := *r
		r.Count--
		if r.Count <= 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		return fired, true
	}
	rf := f.random
	if rf.Rate <= 0 || (rf.Endpoint != "" && rf.Endpoint != key) || f.rng.Float64() >= rf.Rate {
		return Fault{}, false
	}
	return Fault{
		Kind:        rf.Kinds[f.rng.IntN(len(rf.Kinds))],
		RetryAfter:  rf.RetryAfter,
		ErrorNumber: rf.ErrorNumber,
		Delay:       rf.Delay,
	}, true
}

// InjectFault adds a scripted rule. Rules fire in the order they were added.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = append(s.faults.rules, &f)
}

// SetRandomFaults replaces the random fault configuration and reseeds its generator.
func (s *Server) SetRandomFaults(rf RandomFaults) { s.faults.setRandom(rf) }

// ClearFaults removes every scripted rule and turns random faults off.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.rules = nil
	s.faults.mu.Unlock()
	s.faults.setRandom(RandomFaults{})
}

// serveFault answers a request with an injected fault.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	retryAfter := f.RetryAfter
	if retryAfter == "" {
		retryAfter = DefaultRetryAfter
	}
	switch f.Kind {
	case FaultRateLimited:
		e := errorFor(9646)
		e.retryAfter = f.RetryAfter
		if e.retryAfter == "" {
			e.retryAfter = s.opts.Quirks.RateLimitRetryAfter
		}
		s.writeError(w, e)
	case FaultInternalError:
		e := errorFor(9603)
		e.retryAfter = retryAfter
		s.writeError(w, e)
	case FaultUnavailable:
		e := errorFor(9729)
		e.retryAfter = retryAfter
		s.writeError(w, e)
	case FaultErrorBody:
		n := f.ErrorNumber
		if n == 0 {
			n = DefaultFaultErrorNumber
		}
		writeJSON(w, http.StatusOK, errorFor(n).body())
	case FaultResetBefore:
		resetConn(w)
	case FaultResetAfter:
		s.serve(discardWriter{header: http.Header{}}, r, f.Kind)
		resetConn(w)
	case FaultInternalErrorAfter, FaultUnavailableAfter:
		s.serve(discardWriter{header: http.Header{}}, r, f.Kind)
		e := errorFor(9603)
		if f.Kind == FaultUnavailableAfter {
			e = errorFor(9729)
		}
		e.retryAfter = retryAfter
		s.writeError(w, e)
	case FaultSlow:
		delay := f.Delay
		if delay <= 0 {
			delay = DefaultSlowDelay
		}
		if !s.sleep(r.Context(), delay) {
			return // the client gave up or the server closed: apply nothing
		}
		s.serve(w, r, "")
	default:
		s.serve(w, r, "")
	}
}

// sleep waits d unless ctx ends or the server closes first; it reports whether d elapsed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// resetConn drops the client connection with a TCP reset and no response.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a wrapped writer: aborting the handler resets the stream instead.
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

// discardWriter swallows the response of a request whose connection will be reset.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
