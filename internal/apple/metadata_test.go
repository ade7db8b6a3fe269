package apple

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestLookupMetadata(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/WebObjects/MZStorePlatform.woa/wa/lookup" {
			t.Errorf("unexpected %s", r.URL.Path)
			return
		}
		if got := r.Header.Get("Cookie"); got != "itvt="+testTokenFile() {
			t.Errorf("cookie %q", got)
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("the lookup must not send the Bearer header")
		}
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		results := map[string]any{}
		for _, id := range strings.Split(r.URL.Query().Get("id"), ",") {
			if strings.HasPrefix(id, "9") {
				continue // unknown to the store
			}
			item := map[string]any{"id": id, "name": "Book " + id, "artistName": "Author", "genreNames": []string{"Fiction"}, "kind": "ebook"}
			if id == "1000000001" {
				item["id"] = 1000000001 // a number, as in some doc samples
				item["language"] = "en"
				item["artwork"] = map[string]any{"url": "https://is1.example/{w}x{h}bb.{f}", "width": 600, "height": 900}
			}
			results[id] = item
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": results})
	})
	var ids []string
	for i := range 45 {
		ids = append(ids, fmt.Sprint(1000000001+i))
	}
	ids = append(ids, "9999999999", "1000000001", "")
	got, err := f.client(t).LookupMetadata(context.Background(), ids, PlatformBusiness, "US")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 45 {
		t.Fatalf("%d results, want the 45 known ids", len(got))
	}
	book := got["1000000001"]
	if book.ID != "1000000001" || book.Name != "Book 1000000001" || book.Language != "en" || book.Artwork == nil || book.Artwork.Height != 900 || book.GenreNames[0] != "Fiction" {
		t.Errorf("got %+v", book)
	}
	if _, ok := got["9999999999"]; ok {
		t.Error("an unknown id should be absent")
	}
	if len(queries) != 3 {
		t.Fatalf("%d requests, want 3 batches for 46 distinct ids", len(queries))
	}
	for _, q := range queries {
		if !strings.HasPrefix(q, "version=2&p=mdm-lockup&caller=MDM&platform=enterprisestore&cc=US&l=en&id=") {
			t.Errorf("query %q", q)
		}
		if n := strings.Count(q, ",") + 1; n > lookupBatchSize {
			t.Errorf("batch of %d ids", n)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   any
		check  func(error) bool
	}{
		{"apple music style", http.StatusForbidden, map[string]any{"errors": []map[string]any{{"id": "x", "title": "Forbidden", "detail": "Invalid Stoken or Empty/Null ids Request Parameter", "status": "403", "code": "40300"}}},
			func(err error) bool {
				var le *LookupError
				return errors.As(err, &le) && le.StatusCode == 403 && le.Errors[0].Code == "40300"
			}},
		{"errors inside 200 with numeric code", http.StatusOK, map[string]any{"errors": []map[string]any{{"status": 401, "code": 40100, "title": "Unauthorized"}}},
			func(err error) bool {
				var le *LookupError
				return errors.As(err, &le) && le.Errors[0].Code == "40100" && le.Errors[0].Status == "401"
			}},
		{"apple error body", http.StatusUnauthorized, appleErrorBody(CodeTokenRevoked, "The server has revoked the sToken."),
			func(err error) bool { return errors.Is(err, CodeTokenRevoked) }},
		{"plain 404", http.StatusNotFound, "not found",
			func(err error) bool {
				var apiErr *APIError
				return errors.As(err, &apiErr) && apiErr.StatusCode == 404
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, tc.body)
			})
			_, err := f.client(t).LookupMetadata(context.Background(), []string{"1"}, PlatformEducation, "DE")
			if !tc.check(err) {
				t.Errorf("got %#v", err)
			}
		})
	}
}

func TestDecodeLookupResultsList(t *testing.T) {
	got, err := decodeLookupResults([]byte(`[{"id":408709785,"name":"App"},{"name":"no id"}]`))
	if err != nil || len(got) != 1 || got["408709785"].Name != "App" {
		t.Errorf("got %+v, %v", got, err)
	}
}
