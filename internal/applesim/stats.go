package applesim

import (
	"maps"
	"sync"
)

// Stats counts the traffic a Server has seen since it started or since ResetStats.
type Stats struct {
	// Requests counts every request received per endpoint key ("GET /assets",
	// "POST /users/create", "GET /lookup"), including rejected and faulted ones.
	Requests map[string]int
	// TotalRequests is the sum of Requests.
	TotalRequests int
	// RateLimited counts HTTP 429 responses served, by the rate limiter or by injection.
	RateLimited int
	// Faults counts injected faults per kind.
	Faults map[FaultKind]int
	// FaultsInjected is the sum of Faults.
	FaultsInjected int
}

type statsCounter struct {
	mu sync.Mutex
	s  Stats
}

func (c *statsCounter) request(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Requests = countIn(c.s.Requests, key)
	c.s.TotalRequests++
}

func (c *statsCounter) rateLimited() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.RateLimited++
}

func (c *statsCounter) fault(k FaultKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Faults = countIn(c.s.Faults, k)
	c.s.FaultsInjected++
}

// countIn counts one more k in counts, which it makes on the first count.
func countIn[K comparable](counts map[K]int, k K) map[K]int {
	if counts == nil {
		counts = map[K]int{}
	}
	counts[k]++
	return counts
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := s.stats.s
	out.Requests = maps.Clone(out.Requests)
	out.Faults = maps.Clone(out.Faults)
	if out.Requests == nil {
		out.Requests = map[string]int{}
	}
	if out.Faults == nil {
		out.Faults = map[FaultKind]int{}
	}
	return out
}

// ResetStats sets every counter to zero.
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.s = Stats{}
}
