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
