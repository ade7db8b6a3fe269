package applesim

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strings"
)

// lookupPath is the legacy content metadata lookup (apple-api.md §13), served at the path of
// Apple's contentMetadataLookup URL.
const lookupPath = "/WebObjects/MZStorePlatform.woa/wa/lookup"

// artworkPrefix serves placeholder covers for catalog entries without an ArtworkURL.
const artworkPrefix = "/applesim/artwork/"

const artworkWidth, artworkHeight = 300, 450

// lookupErrors is the Apple Music style error body the lookup uses.
type lookupErrors struct {
	Errors []lookupError `json:"errors"`
}

type lookupError struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status string `json:"status"`
	Code   string `json:"code"`
}

type lookupResponse struct {
	Results map[string]lookupResult `json:"results"`
}

type lookupResult struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	NameRaw    string   `json:"nameRaw"`
	ArtistName string   `json:"artistName"`
	GenreNames []string `json:"genreNames"`
	Kind       string   `json:"kind"`
	URL        string   `json:"url"`
	Artwork    artwork  `json:"artwork"`
	Language   string   `json:"language,omitempty"`
	// Apps only, as public clients read them (apple-api.md §13).
	BundleID       string   `json:"bundleId,omitempty"`
	DeviceFamilies []string `json:"deviceFamilies,omitempty"`
	Offers         []offer  `json:"offers,omitempty"`
}

// offer is how the store sells an app: clients read offers[0].price, priceFormatted and
// version.display.
type offer struct {
	Type           string       `json:"type"`
	Price          float64      `json:"price"`
	PriceFormatted string       `json:"priceFormatted"`
	Version        offerVersion `json:"version"`
}

type offerVersion struct {
	Display    string `json:"display"`
	ExternalID int64  `json:"externalId"`
}

// offers returns the one offer the lookup shows for an app, and none for a book.
func (e *catalogEntry) offers() []offer {
	if e.Kind == "ebook" {
		return nil
	}
	return []offer{{
		Type: "buy", Price: e.Price, PriceFormatted: e.PriceFormatted,
		Version: offerVersion{Display: e.Version, ExternalID: externalVersionID(e.AdamID, e.Version)},
	}}
}

// externalVersionID is a stable stand-in for the store's id of an app version.
func externalVersionID(adamID, version string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(adamID + "/" + version))
	return int64(h.Sum32())
}

type artwork struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// lookup serves the metadata of the requested ids to holders of a valid sToken (cookie itvt).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, lookupErrors{[]lookupError{{
			ID: newEventID(), Title: "Method Not Allowed", Detail: "Only GET is supported",
			Status: "405", Code: "40500",
		}}})
		return
	}
	var ids []string
	for id := range strings.SplitSeq(r.URL.Query().Get("id"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !s.validCookie(r) {
		writeJSON(w, http.StatusForbidden, lookupErrors{[]lookupError{{
			ID: newEventID(), Title: "Forbidden",
			Detail: "Invalid Stoken or Empty/Null ids Request Parameter",
			Status: "403", Code: "40300",
		}}})
		return
	}
	base := s.baseURL(r)
	cc := strings.ToLower(r.URL.Query().Get("cc"))
	if cc == "" {
		cc = "us"
	}
	resp := lookupResponse{Results: map[string]lookupResult{}}
	s.mu.Lock()
	for _, id := range ids {
		e := s.w.Catalog[id]
		if e == nil {
			continue
		}
		store := "app"
		if e.Kind == "ebook" {
			store = "book"
		}
		art := artwork{URL: e.ArtworkURL, Width: artworkWidth, Height: artworkHeight}
		if art.URL == "" {
			art.URL = base + artworkPrefix + e.AdamID + ".png"
		}
		resp.Results[id] = lookupResult{
			ID:         e.AdamID,
			Name:       e.Name,
			NameRaw:    e.Name,
			ArtistName: e.Artist,
			GenreNames: append([]string{}, e.Genres...),
			Kind:       e.Kind,
			URL:        "https://" + store + "s.apple.com/" + cc + "/" + store + "/id" + e.AdamID,
			Artwork:    art,
			Language:   e.Language,

			BundleID:       e.BundleID,
			DeviceFamilies: slices.Clone(e.DeviceFamilies),
			Offers:         e.offers(),
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// validCookie reports whether the itvt cookie holds a usable token.
func (s *Server) validCookie(r *http.Request) bool {
	c, err := r.Cookie("itvt")
	if err != nil {
		return false
	}
	secret, ok := decodeToken(c.Value)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.w.Tokens[secret]
	return tok != nil && !tok.Revoked && !tok.Expired && s.opts.Now().Before(tok.ExpiresAt)
}

// artwork serves a plain cover whose colour derives from the adamId.
func (s *Server) artwork(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, artworkPrefix), ".png")
	if r.Method != http.MethodGet || !isDigits(id) {
		http.NotFound(w, r)
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	sum := h.Sum32()
	fill := color.RGBA{R: uint8(sum), G: uint8(sum >> 8), B: uint8(sum >> 16), A: 255}
	img := image.NewPaletted(image.Rect(0, 0, artworkWidth, artworkHeight), color.Palette{fill})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(buf.Bytes())
}
