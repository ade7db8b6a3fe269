package applesim

import (
	"github.com/google/uuid"
)

// pageInfo is the pagination and versioning part of the Get responses.
type pageInfo struct {
	CurrentPageIndex int    `json:"currentPageIndex"`
	NextPageIndex    *int   `json:"nextPageIndex,omitempty"`
	Size             int    `json:"size"`
	TotalPages       int    `json:"totalPages"`
	VersionID        string `json:"versionId"`
}

// paginate picks the page q asks for out of n records. Page 0 is always served, even for an
// empty result set.
func (s *Server) paginate(q *query, n int) (start, end int, p pageInfo, _ *apiError) {
	index, _ := q.integer("pageIndex")
	if q.err != nil {
		return 0, 0, p, q.err
	}
	size := s.opts.PageSize
	total := (n + size - 1) / size
	if total == 0 && !s.opts.Quirks.EmptyTotalPagesZero {
		total = 1
	}
	emptyFirst := index == 0 && n == 0
	if index < 0 || index >= total && !emptyFirst {
		return 0, 0, p, errorFor(9650)
	}
	start = min(index*size, n)
	end = min(start+size, n)
	p = pageInfo{CurrentPageIndex: index, Size: end - start, TotalPages: total}
	if index+1 < total {
		next := index + 1
		p.NextPageIndex = &next
	}
	return start, end, p, nil
}

// listing describes a Get list endpoint for serveList.
type listing[R any] struct {
	dataset dataset                                       // whose versionId every page carries
	since   string                                        // the sinceVersionId asked for, if any
	records func(loc *location) []R                       // the dataset's records, in order
	skip    func(loc *location, r R, sinceSeq int64) bool // whether the query leaves r out
	answer  func(p listPage[R]) any                       // the response for one page
}

// listPage is one page of the records a Get list endpoint matched, with what its response needs.
type listPage[R any] struct {
	loc      *location
	records  []R
	pageInfo pageInfo
	envelope envelope
}

// serveList serves a Get list endpoint in Apple's order of checks: the query parameters the
// handler read into q (the first malformed one fails with 9602), the session, l.since (9721),
// then the page q asks for (9602, 9650) out of the records l.skip keeps, given the sequence
// number l.since resolved to (0 without one); l.answer makes the response. All but the reading of
// q runs under s.mu.
func serveList[R any](s *Server, c *call, q *query, l listing[R]) (any, *apiError) {
	if q.err != nil {
		return nil, q.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	var sinceSeq int64
	if l.since != "" {
		if sinceSeq, aerr = s.sinceLocked(loc, l.dataset, l.since); aerr != nil {
			return nil, aerr
		}
	}
	var matched []R
	for _, r := range l.records(loc) {
		if !l.skip(loc, r, sinceSeq) {
			matched = append(matched, r)
		}
	}
	start, end, page, aerr := s.paginate(q, len(matched))
	if aerr != nil {
		return nil, aerr
	}
	page.VersionID = loc.Versions[l.dataset].ID
	return l.answer(listPage[R]{loc: loc, records: matched[start:end], pageInfo: page, envelope: s.envelopeLocked(tok, loc)}), nil
}

// bumpLocked gives a dataset of loc a new version and returns its sequence number.
func (s *Server) bumpLocked(loc *location, ds dataset) int64 {
	s.w.Seq++
	id := newVersionID()
	loc.Versions[ds] = versionState{ID: id, Seq: s.w.Seq}
	s.w.Versions[id] = versionRef{UID: loc.UID, Dataset: ds, Seq: s.w.Seq}
	return s.w.Seq
}

// sinceLocked resolves a sinceVersionId of one dataset to its sequence number.
func (s *Server) sinceLocked(loc *location, ds dataset, versionID string) (int64, *apiError) {
	ref, ok := s.w.Versions[versionID]
	if !ok || ref.UID != loc.UID || ref.Dataset != ds {
		return 0, errorFor(9721)
	}
	if ds == dsAssignments && s.opts.Quirks.InvalidateSinceOnRemoval && ref.Seq < loc.AssignmentsRemovedSeq {
		return 0, errorFor(9721)
	}
	return ref.Seq, nil
}

// changes bumps each dataset at most once per operation, so that every record an operation
// touches carries the same version.
type changes struct {
	s    *Server
	loc  *location
	seqs map[dataset]int64
}

func (s *Server) changesLocked(loc *location) *changes {
	return &changes{s: s, loc: loc, seqs: map[dataset]int64{}}
}

func (c *changes) seq(ds dataset) int64 {
	if v, ok := c.seqs[ds]; ok {
		return v
	}
	v := c.s.bumpLocked(c.loc, ds)
	c.seqs[ds] = v
	return v
}

// newVersionID returns an opaque, time-based UUID, like Apple's versionIds.
func newVersionID() string {
	id, err := uuid.NewUUID()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
