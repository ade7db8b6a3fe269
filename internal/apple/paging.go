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
	// pagesPerRound bounds the goroutines of one walk; the shared semaphore
	// bounds the requests actually in flight.
	pagesPerRound = 20
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
	var why restartError
	for range maxWalkRestarts + 1 {
		pages, err := walkOnce[T, PT](ctx, c, path, query)
		if !errors.As(err, &why) {
			return pages, err
		}
	}
	return nil, fmt.Errorf("apple: GET %s: %w: gave up after %d restarts (last: %s)", path, ErrListUnstable, maxWalkRestarts, why.reason)
}

// walkOnce fetches page 0, then the following pages in parallel rounds until
// a page has no nextPageIndex. totalPages may grow while walking: the walk
// follows nextPageIndex past it.
func walkOnce[T any, PT interface {
	*T
	lister
}](ctx context.Context, c *Client, path string, query url.Values) ([]*T, error) {
	first, err := fetchPage[T, PT](ctx, c, path, query, 0)
	if errors.Is(err, CodePageOutOfRange) {
		return nil, nil // an empty list may have no page 0 (totalPages 0)
	}
	if err != nil {
		return nil, err
	}
	version := PT(first).page().VersionID
	pages := []*T{first}
	last := PT(first).page()
	for last.NextPageIndex != nil {
		from := len(pages)
		to := max(from, *last.NextPageIndex)
		if last.TotalPages != nil {
			to = max(to, *last.TotalPages-1)
		}
		to = min(to, from+pagesPerRound-1)
		if to >= maxPages {
			return nil, fmt.Errorf("apple: GET %s: more than %d pages", path, maxPages)
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
			return nil, err
		}
		for i, p := range batch[:len(batch)-1] {
			if PT(p).page().NextPageIndex == nil {
				return nil, restartError{fmt.Sprintf("page %d ended the list before page %d", from+i, to)}
			}
		}
		pages = append(pages, batch...)
		last = PT(batch[len(batch)-1]).page()
	}
	return pages, nil
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
