package apple

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/sync/errgroup"
)

const (
	// maxWalkRestarts bounds how often a walk starts over because the list
	// changed under it.
	maxWalkRestarts = 5
	// pagesPerRound bounds the goroutines of one walk, and how many pages
	// arrive before they are handed on; the shared semaphore bounds the
	// requests actually in flight (maxInFlight, the same number).
	pagesPerRound = maxInFlight
	// maxPages stops a server that never stops announcing a next page.
	maxPages = 100_000
)

// lister is a decoded page of a list endpoint.
type lister interface{ page() *pageFields }

// restartError means the list changed during the walk.
type restartError struct{ reason string }

func (e restartError) Error() string { return e.reason }

// walk reads every page of a list endpoint and returns them in order (none
// when the list is empty). All pages share page 0's versionId: when a page
// shows another versionId, or says it is out of range (9650), the list changed
// and the walk starts over, at most maxWalkRestarts times.
func walk[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values) ([]*T, error) {
	pages, _, err := walkUnlessAt[T, PT](ctx, c, path, query, "")
	return pages, err
}

// walkUnlessAt is walk for a caller that already holds the list as of versionId known: when
// page 0 still shows that versionId, nothing changed, and it returns page 0 alone with
// unchanged set. An empty known always walks.
func walkUnlessAt[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values, known string) (pages []*T, unchanged bool, err error) {
	unchanged, err = walkRounds[T, PT](ctx, c, path, query, known, func(index int, p *T) error {
		if index == 0 {
			pages = pages[:0] // the walk started over
		}
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return pages, unchanged, nil
}

// walkEach hands every page of a list endpoint to fn, in order, while the walk goes on: fn runs
// in its own goroutine, so that a caller working through the pages does not hold the next ones
// back, and no more than a few rounds of pages are in memory at once. fn sees index 0 again when
// the list changed under the walk and it started over; it must then forget the pages it saw.
// It returns page 0 (nil for an empty list). A known versionId stops the walk at an unchanged
// page 0, as in walkUnlessAt.
func walkEach[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values, known string, fn func(index int, p *T) error) (first *T, unchanged bool, err error) {
	type item struct {
		index int
		page  *T
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan item, pagesPerRound)
	done := make(chan error, 1)
	go func() {
		var err error
		for it := range pages {
			if err == nil {
				if err = fn(it.index, it.page); err != nil {
					cancel()
				}
			}
		}
		done <- err
	}()
	unchanged, err = walkRounds[T, PT](ctx, c, path, query, known, func(index int, p *T) error {
		if index == 0 {
			first = p
		}
		select {
		case pages <- item{index, p}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(pages)
	if ferr := <-done; ferr != nil {
		return nil, false, ferr
	}
	if err != nil {
		return nil, false, err
	}
	return first, unchanged, nil
}

// walkRounds runs walkOnce, starting over when the list changed, at most maxWalkRestarts times.
func walkRounds[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values, known string, emit func(index int, p *T) error) (bool, error) {
	var why restartError
	for range maxWalkRestarts + 1 {
		unchanged, err := walkOnce[T, PT](ctx, c, path, query, known, emit)
		if !errors.As(err, &why) {
			return unchanged, err
		}
	}
	return false, fmt.Errorf("apple: GET %s: %w: gave up after %d restarts (last: %s)", path, ErrListUnstable, maxWalkRestarts, why.reason)
}

// walkOnce fetches page 0, then the following pages in parallel rounds until
// a page has no nextPageIndex, and emits them in order, each round once all its
// pages arrived. totalPages may grow while walking: the walk follows
// nextPageIndex past it. When page 0's versionId is known (not empty), it
// stops there.
func walkOnce[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values, known string, emit func(index int, p *T) error) (bool, error) {
	first, err := fetchPage[T, PT](ctx, c, path, query, 0)
	if errors.Is(err, CodePageOutOfRange) {
		return false, nil // an empty list may have no page 0 (totalPages 0)
	}
	if err != nil {
		return false, err
	}
	version := PT(first).page().VersionID
	if err := emit(0, first); err != nil {
		return false, err
	}
	if known != "" && string(version) == known {
		return true, nil
	}
	last := PT(first).page()
	for from := 1; last.NextPageIndex != nil; {
		to := max(from, *last.NextPageIndex)
		if last.TotalPages != nil {
			to = max(to, *last.TotalPages-1)
		}
		to = min(to, from+pagesPerRound-1)
		if to >= maxPages {
			return false, fmt.Errorf("apple: GET %s: more than %d pages", path, maxPages)
		}

		batch := make([]*T, to-from+1)
		g, gctx := errgroup.WithContext(ctx)
		for i := range batch {
			index := from + i
			g.Go(func() error {
				p, err := fetchPage[T, PT](gctx, c, path, query, index)
				switch {
				case errors.Is(err, CodePageOutOfRange):
					return restartError{fmt.Sprintf("page %d is out of range", index)}
				case err != nil:
					return err
				case PT(p).page().VersionID != version:
					return restartError{fmt.Sprintf("versionId changed at page %d", index)}
				}
				batch[i] = p
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return false, err
		}
		for i, p := range batch[:len(batch)-1] {
			if PT(p).page().NextPageIndex == nil {
				return false, restartError{fmt.Sprintf("page %d ended the list before page %d", from+i, to)}
			}
		}
		for i, p := range batch {
			if err := emit(from+i, p); err != nil {
				return false, err
			}
		}
		last = PT(batch[len(batch)-1]).page()
		from = to + 1
	}
	return false, nil
}

// fetchPage reads one page, counting against the Client's in-flight cap, and
// checks its envelope.
func fetchPage[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values, index int) (*T, error) {
	if err := c.inFlight.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer c.inFlight.Release(1)
	q := maps.Clone(query)
	if q == nil {
		q = url.Values{}
	}
	q.Set("pageIndex", strconv.Itoa(index))
	p := PT(new(T))
	if err := c.call(ctx, http.MethodGet, path, q, nil, p); err != nil {
		return nil, err
	}
	if err := c.checkEnvelope(p.page().envelope()); err != nil {
		return nil, err
	}
	return (*T)(p), nil
}

// listHead returns what a list result takes from its first page.
func listHead(p *pageFields) (Envelope, string) {
	return p.envelope(), string(p.VersionID)
}

// itemList is the whole result of a list endpoint with one array of items.
type itemList[I any] struct {
	Envelope
	VersionID string // page 0's versionId
	Items     []I
}

// walkItems walks every page of a list endpoint, as walk does, and returns the items the pages
// carry in order, as items picks them from a page, with page 0's envelope and versionId (zero for
// an empty list).
func walkItems[T any, PT interface {
	*T
	lister
}, I any](ctx context.Context, c *Client, path string, query url.Values, items func(*T) []I) (*itemList[I], error) {
	pages, err := walk[T, PT](ctx, c, path, query)
	if err != nil {
		return nil, err
	}
	list := &itemList[I]{}
	for i, p := range pages {
		if i == 0 {
			list.Envelope, list.VersionID = listHead(PT(p).page())
		}
		list.Items = append(list.Items, items(p)...)
	}
	return list, nil
}

// walkEachItems hands fn the items of each page of a list endpoint in order, as items picks them
// from a page, while the walk goes on (see walkEach): restart is true for page 0, and again when
// the list changed under the walk and it started over. It returns page 0's versionId ("" for an
// empty list).
func walkEachItems[T any, PT interface {
	*T
	lister
}, I any](ctx context.Context, c *Client, path string, query url.Values, items func(*T) []I, fn func(restart bool, items []I) error) (string, error) {
	first, _, err := walkEach[T, PT](ctx, c, path, query, "", func(index int, p *T) error {
		return fn(index == 0, items(p))
	})
	if err != nil || first == nil {
		return "", err
	}
	return string(PT(first).page().VersionID), nil
}
