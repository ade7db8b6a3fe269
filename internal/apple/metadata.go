package apple

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// lookupBatchSize is how many ids one lookup request carries, as public
// clients do.
const lookupBatchSize = 20

// ContentMetadata describes an app or book, from the content metadata lookup.
type ContentMetadata struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	NameRaw    string   `json:"nameRaw"`
	ArtistName string   `json:"artistName"` // a book's author
	GenreNames []string `json:"genreNames"`
	Kind       string   `json:"kind"` // e.g. "ebook", "software"
	URL        string   `json:"url"`
	Language   string   `json:"language"`
	// BundleID is an app's bundle identifier, e.g. "com.apple.Pages"; empty for books.
	BundleID string `json:"bundleId"`
	// DeviceFamilies are the devices an app runs on, e.g. "iphone", "ipad", "mac"; empty for
	// books.
	DeviceFamilies []string `json:"deviceFamilies"`
	// Offers are how the store sells the item, the current one first (see CurrentOffer).
	Offers  []Offer  `json:"offers"`
	Artwork *Artwork `json:"artwork"`
}

// CurrentOffer returns the first offer, the one the store currently makes, and whether there is
// one: books and some lookups carry none.
func (m ContentMetadata) CurrentOffer() (Offer, bool) {
	if len(m.Offers) == 0 {
		return Offer{}, false
	}
	return m.Offers[0], true
}

// Offer is one way the store sells an app or book: its price and, for an app, the version a
// purchase installs.
type Offer struct {
	Type string `json:"type"` // e.g. "buy"
	// Price is in the storefront's currency: 0 when free, and also when Apple leaves it out or
	// sends something that is not a number. PriceFormatted is what the store shows.
	Price          float64      `json:"price"`
	PriceFormatted string       `json:"priceFormatted"` // e.g. "$9.99", "Free"
	Version        OfferVersion `json:"version"`
}

// OfferVersion is the app version an offer installs.
type OfferVersion struct {
	Display    string `json:"display"`    // e.g. "2.5.5"
	ExternalID string `json:"externalId"` // Apple sends a number; kept as its digits
}

// offerVersionDecoder reads externalId as a string or a number.
var offerVersionDecoder = newFlexIDDecoder[OfferVersion]("externalId")

// UnmarshalJSON accepts externalId as a string or a number.
func (v *OfferVersion) UnmarshalJSON(b []byte) error { return offerVersionDecoder.decode(b, v) }

// UnmarshalJSON reads price as a number or a numeric string, and leaves it 0 when it is neither:
// a display field must not fail the lookup of the other ids of its batch.
func (o *Offer) UnmarshalJSON(b []byte) error {
	type plain Offer
	w := struct {
		*plain
		Price json.RawMessage `json:"price"`
	}{plain: (*plain)(o)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	o.Price = lenientNumber(w.Price)
	return nil
}

// lenientNumber reads a JSON number or a string holding a finite one, and 0 from anything else.
func lenientNumber(raw json.RawMessage) float64 {
	var s flexString
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return 0
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// Artwork is the cover or icon. URL may be a template with {w}, {h} and {f}.
type Artwork struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// LookupError is a lookup failure reported in Apple Music style,
// {"errors":[...]}, e.g. 403 code 40300 "Invalid Stoken or Empty/Null ids".
type LookupError struct {
	StatusCode int
	Errors     []LookupErrorItem
}

// LookupErrorItem is one entry of a LookupError.
type LookupErrorItem struct {
	ID, Title, Detail, Status, Code string
}

func (e *LookupError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apple: metadata lookup failed (HTTP %d)", e.StatusCode)
	for _, item := range e.Errors {
		fmt.Fprintf(&b, "; %s %q: %s", item.Code, item.Title, item.Detail)
	}
	return b.String()
}

type lookupErrorWire struct {
	ID     flexString `json:"id"`
	Title  string     `json:"title"`
	Detail string     `json:"detail"`
	Status flexString `json:"status"`
	Code   flexString `json:"code"`
}

// LookupMetadata looks up apps and books by adamId with the legacy lookup at
// the service config's urls.contentMetadataLookup, sending the token as the
// itvt cookie. platform is the location's DefaultPlatform and country its
// CountryISO2ACode. Ids Apple does not know are absent from the result.
// Batches of 20 ids are fetched in parallel, within the in-flight cap.
func (c *Client) LookupMetadata(ctx context.Context, adamIDs []string, platform, country string) (map[string]ContentMetadata, error) {
	if platform == "" || country == "" {
		return nil, fmt.Errorf("apple: %w: lookup needs a platform and a country", ErrInvalidRequest)
	}
	var ids []string
	seen := make(map[string]bool, len(adamIDs))
	for _, id := range adamIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	found := make(map[string]ContentMetadata, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint, err := url.Parse(sc.URLs["contentMetadataLookup"])
	if err != nil || endpoint.Host == "" || (endpoint.Scheme != "https" && endpoint.Scheme != "http") {
		return nil, fmt.Errorf("apple: service config has no usable urls.contentMetadataLookup (%q)", sc.URLs["contentMetadataLookup"])
	}

	batches := chunk(ids, lookupBatchSize)
	results := make([]map[string]ContentMetadata, len(batches))
	g, gctx := errgroup.WithContext(ctx)
	for i, batch := range batches {
		g.Go(func() error {
			if err := c.inFlight.Acquire(gctx, 1); err != nil {
				return err
			}
			defer c.inFlight.Release(1)
			m, err := c.lookupBatch(gctx, *endpoint, batch, platform, country)
			results[i] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, m := range results {
		for id, meta := range m {
			found[id] = meta
		}
	}
	return found, nil
}

func (c *Client) lookupBatch(ctx context.Context, endpoint url.URL, ids []string, platform, country string) (map[string]ContentMetadata, error) {
	escaped := make([]string, len(ids))
	for i, id := range ids {
		escaped[i] = url.QueryEscape(id)
	}
	// Parameters in the documented order, with literal commas between ids.
	params := "version=2&p=mdm-lockup&caller=MDM&platform=" + url.QueryEscape(platform) +
		"&cc=" + url.QueryEscape(country) + "&l=en&id=" + strings.Join(escaped, ",")
	if endpoint.RawQuery != "" {
		params = endpoint.RawQuery + "&" + params
	}
	path := endpoint.Path
	endpoint.RawQuery = params
	r := request{method: http.MethodGet, url: endpoint.String(), path: path, auth: authCookie}
	resp, err := c.exchange(ctx, r)
	if err != nil {
		return nil, err
	}
	var w struct {
		Results json.RawMessage   `json:"results"`
		Errors  []lookupErrorWire `json:"errors"`
	}
	decodeErr := json.Unmarshal(resp.body, &w)
	if decodeErr == nil && len(w.Errors) > 0 {
		le := &LookupError{StatusCode: resp.status}
		for _, e := range w.Errors {
			le.Errors = append(le.Errors, LookupErrorItem{
				ID: string(e.ID), Title: c.redact(e.Title), Detail: c.redact(e.Detail), Status: string(e.Status), Code: string(e.Code),
			})
		}
		return nil, le
	}
	if err := c.check(r, resp); err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("apple: metadata lookup: decoding the response: %w", decodeErr)
	}
	return decodeLookupResults(w.Results)
}

// decodeLookupResults reads results keyed by id, as Apple sends them, or as a
// list of items carrying their id, as the public iTunes lookup does.
func decodeLookupResults(raw json.RawMessage) (map[string]ContentMetadata, error) {
	out := map[string]ContentMetadata{}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '[':
		var items []ContentMetadata
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("apple: metadata lookup: decoding results: %w", err)
		}
		for _, m := range items {
			if m.ID != "" {
				out[m.ID] = m
			}
		}
	default:
		var byID map[string]ContentMetadata
		if err := json.Unmarshal(raw, &byID); err != nil {
			return nil, fmt.Errorf("apple: metadata lookup: decoding results: %w", err)
		}
		for id, m := range byID {
			if m.ID == "" {
				m.ID = id
			}
			out[id] = m
		}
	}
	return out, nil
}
