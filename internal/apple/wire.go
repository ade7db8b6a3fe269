package apple

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// flexString decodes a JSON string or number into a string: the doc shows some
// identifiers as numbers in samples and as strings in live responses.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("apple: want a string or a number, got %.20s", b)
	}
	*s = flexString(n.String())
	return nil
}

// appleTimeLayouts are tried in order. Go accepts fractional seconds after the
// seconds field even when the layout has none, and Z for a zero offset.
var appleTimeLayouts = []string{
	"2006-01-02T15:04:05Z0700",  // Apple: +0000
	"2006-01-02T15:04:05Z07:00", // RFC 3339: +00:00
	"2006-01-02T15:04:05Z07",    // +00
	"2006-01-02T15:04:05",       // no zone: Apple documents UTC
}

// parseAppleTime parses Apple's ISO-8601 dates leniently.
func parseAppleTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range appleTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("apple: unrecognised date %q", s)
}

// flexTime decodes an Apple date; an absent or unreadable date stays nil
// rather than failing the whole response.
type flexTime struct{ t *time.Time }

func (ft *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if t, err := parseAppleTime(s); err == nil {
			ft.t = &t
		}
	}
	return nil
}

// MDMInfo identifies the device management service that claimed a location.
type MDMInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Metadata string `json:"metadata"`
}

// Envelope holds the fields Apple adds to every authenticated response.
type Envelope struct {
	// UID is the location (library) id, a string of digits.
	UID string
	// TokenExpiration is nil when Apple left tokenExpirationDate out.
	TokenExpiration *time.Time
	// MDMInfo is nil until some system has claimed the location.
	MDMInfo *MDMInfo
}

type envelopeWire struct {
	UID                 flexString `json:"uId"`
	TokenExpirationDate flexTime   `json:"tokenExpirationDate"`
	MDMInfo             *MDMInfo   `json:"mdmInfo"`
}

func (w *envelopeWire) envelope() Envelope {
	return Envelope{UID: string(w.UID), TokenExpiration: w.TokenExpirationDate.t, MDMInfo: w.MDMInfo}
}

// pageFields are the pagination and versioning fields of Get Assets,
// Get Assignments and Get Users responses.
type pageFields struct {
	envelopeWire
	CurrentPageIndex *int       `json:"currentPageIndex"`
	NextPageIndex    *int       `json:"nextPageIndex"`
	TotalPages       *int       `json:"totalPages"`
	VersionID        flexString `json:"versionId"`
}

func (f *pageFields) page() *pageFields { return f }
