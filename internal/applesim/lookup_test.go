package applesim

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	e := newEnv(t, testOptions())
	if err := e.sim.AddBook(e.uid, BookSpec{AdamID: "100", Title: "Moby-Dick", Author: "Herman Melville",
		Genres: []string{"Fiction", "Classics"}, Language: "en-US", Licenses: 1}); err != nil {
		t.Fatal(err)
	}
	e.mustAddApp("200", 1)
	revoked, _ := e.sim.MintToken(e.uid, time.Now().Add(time.Hour))
	_ = e.sim.RevokeToken(revoked)

	const query = "?version=2&p=mdm-lockup&caller=MDM&platform=enterprisestore&cc=us&l=en&id="
	lookup := func(cookie, ids string) (int, []byte) {
		req := e.request("GET", lookupPath+query+ids, "", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "itvt", Value: cookie})
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		return resp.StatusCode, raw
	}
	forbidden := func(cookie, ids string) {
		t.Helper()
		status, body := lookup(cookie, ids)
		var errs lookupErrors
		_ = json.Unmarshal(body, &errs)
		if status != 403 || len(errs.Errors) != 1 || errs.Errors[0].Code != "40300" || errs.Errors[0].Status != "403" ||
			errs.Errors[0].Detail != "Invalid Stoken or Empty/Null ids Request Parameter" {
			t.Fatalf("got %d %s", status, body)
		}
	}
	forbidden("", "100")
	forbidden("garbage", "100")
	forbidden(revoked, "100")
	forbidden(e.token, "")

	status, body := lookup(e.token, "100,200,999")
	var got struct {
		Results map[string]struct {
			ID         string   `json:"id"`
			Name       string   `json:"name"`
			NameRaw    string   `json:"nameRaw"`
			ArtistName string   `json:"artistName"`
			GenreNames []string `json:"genreNames"`
			Kind       string   `json:"kind"`
			URL        string   `json:"url"`
			Language   string   `json:"language"`
			Artwork    struct {
				URL    string `json:"url"`
				Width  int    `json:"width"`
				Height int    `json:"height"`
			} `json:"artwork"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &got); err != nil || status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	book, ok := got.Results["100"]
	if !ok || len(got.Results) != 2 || book.ID != "100" || book.Name != "Moby-Dick" || book.NameRaw != "Moby-Dick" ||
		book.ArtistName != "Herman Melville" || !slices.Equal(book.GenreNames, []string{"Fiction", "Classics"}) ||
		book.Kind != "ebook" || book.Language != "en-US" || book.URL == "" || book.Artwork.Width == 0 {
		t.Fatalf("results %+v", got.Results)
	}
	if got.Results["200"].Kind != "software" {
		t.Fatalf("app %+v", got.Results["200"])
	}
	resp, err := http.Get(book.Artwork.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("artwork %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if st := e.sim.Stats(); st.Requests["GET /lookup"] == 0 || st.Requests["GET /artwork"] != 1 {
		t.Fatalf("stats %+v", st.Requests)
	}
}
