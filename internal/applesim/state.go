package applesim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// SaveState writes the whole simulated service (locations, tokens, assets, users, assignments,
// client configs, events, versions, catalog) as JSON. Stats, faults and rate-limit windows are
// not part of it.
func (s *Server) SaveState(w io.Writer) error {
	s.mu.Lock()
	for _, loc := range s.w.Locations {
		loc.compact()
	}
	data, err := json.Marshal(s.w)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("applesim: encode state: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// LoadState replaces the whole state with one written by SaveState. Events still pending are
// scheduled again after ProcessingDelay.
func (s *Server) LoadState(r io.Reader) error {
	w := newWorld()
	if err := json.NewDecoder(r).Decode(w); err != nil {
		return fmt.Errorf("applesim: decode state: %w", err)
	}
	if w.Format != stateFormat {
		return fmt.Errorf("applesim: unsupported state format %d", w.Format)
	}
	fresh := newWorld()
	if w.Locations == nil {
		w.Locations = fresh.Locations
	}
	if w.Tokens == nil {
		w.Tokens = fresh.Tokens
	}
	if w.Catalog == nil {
		w.Catalog = fresh.Catalog
	}
	if w.Versions == nil {
		w.Versions = fresh.Versions
	}
	var pending []*event
	for uid, loc := range w.Locations {
		if loc == nil || loc.UID != uid {
			return fmt.Errorf("applesim: corrupt state: location %q", uid)
		}
		loc.reindex()
		for _, ev := range loc.Events {
			if ev.Status == EventPending {
				pending = append(pending, ev)
			}
		}
	}
	for secret, tok := range w.Tokens {
		if tok == nil || tok.Secret != secret || w.Locations[tok.UID] == nil {
			return fmt.Errorf("applesim: corrupt state: token of location %q", tokUID(tok))
		}
	}
	// Replay pending events in the order they were accepted.
	slices.SortFunc(pending, func(a, b *event) int { return cmp.Compare(a.Order, b.Order) })
	s.mu.Lock()
	due := s.clock().Add(s.opts.ProcessingDelay)
	s.w = w
	s.queue = s.queue[:0]
	for _, ev := range pending {
		s.queue = append(s.queue, queued{uid: ev.UID, id: ev.ID, due: due})
	}
	clear(s.windows)
	s.mu.Unlock()
	s.signal()
	return nil
}

func tokUID(t *token) string {
	if t == nil {
		return ""
	}
	return t.UID
}
