package applesim

import "time"

// window remembers when the last n admitted requests of a location arrived. A request is admitted
// if fewer than n were admitted in the second before it: a sliding one-second window.
type window struct {
	times []time.Time // ring buffer of admission times
	next  int         // oldest entry once the ring is full
}

func (w *window) admit(now time.Time, n int) bool {
	if len(w.times) < n {
		w.times = append(w.times, now)
		return true
	}
	if now.Sub(w.times[w.next]) < time.Second {
		return false
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % n
	return true
}

// admitLocked applies maxRequestPerSecond to an authenticated request of a location. Rejected
// requests are not recorded, so a client that backs off gets through after a second.
func (s *Server) admitLocked(uid string) bool {
	n := s.limits[LimitMaxRequestPerSecond]
	if s.opts.DisableRateLimit || n <= 0 {
		return true
	}
	w := s.windows[uid]
	if w == nil || cap(w.times) != n {
		w = &window{times: make([]time.Time, 0, n)}
		s.windows[uid] = w
	}
	return w.admit(s.clock(), n)
}
