package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Book is a purchased book with its license counts at the last sync.
type Book struct {
	ID           string
	TokenID      string
	AdamID       string
	PricingParam string
	Title        string
	Author       string
	Genres       []string
	Language     string
	CoverURL     string
	Total        int
	Assigned     int
	Available    int
	Retired      int
}

// BookFilter narrows ListBooks; zero values do not filter.
type BookFilter struct {
	TokenID       string
	AdamID        string
	TitleContains string // case-insensitive substring
	MinAvailable  int
}

// ListBooks lists purchased books from the engine's records, ordered by token, adamId, pricing.
func (e *Engine) ListBooks(ctx context.Context, f BookFilter) ([]Book, error) {
	var out []Book
	err := e.view(ctx, func(tx store.Tx) error {
		books, err := tx.ListBooks(ctx, store.BookFilter{TokenID: f.TokenID, AdamID: f.AdamID, TitleContains: f.TitleContains, MinAvailable: f.MinAvailable})
		if err != nil {
			return err
		}
		out = make([]Book, len(books))
		for i, b := range books {
			out[i] = bookView(b)
		}
		return nil
	})
	return out, err
}

// GetBook reads one book by its BookID.
func (e *Engine) GetBook(ctx context.Context, id string) (Book, error) {
	tokenID, adamID, pricing, err := ParseBookID(id)
	if err != nil {
		return Book{}, err
	}
	var out Book
	err = e.view(ctx, func(tx store.Tx) error {
		b, err := tx.GetBook(ctx, tokenID, adamID, pricing)
		if err != nil {
			return notFound("book", id, err)
		}
		out = bookView(b)
		return nil
	})
	return out, err
}

// ErrAmbiguous means a lookup matched several books.
var ErrAmbiguous = errors.New("ambiguous")

// FindBook finds exactly one book by adamId (optionally within one token) or by exact title
// (case-sensitive, as Apple spells it).
func (e *Engine) FindBook(ctx context.Context, adamID, tokenID, title string) (Book, error) {
	books, err := e.ListBooks(ctx, BookFilter{TokenID: tokenID, AdamID: adamID})
	if err != nil {
		return Book{}, err
	}
	var matches []Book
	for _, b := range books {
		if title == "" || b.Title == title {
			matches = append(matches, b)
		}
	}
	what := describeLookup(adamID, tokenID, title)
	switch len(matches) {
	case 0:
		return Book{}, fmt.Errorf("%w: no purchased book matches %s; list what the engine holds with the vpp_books data source (books appear after a token's first sync)", ErrNotFound, what)
	case 1:
		return matches[0], nil
	}
	ids := make([]string, len(matches))
	for i, b := range matches {
		ids[i] = b.ID
	}
	return Book{}, fmt.Errorf("%w: %d books match %s (%s); narrow it with token_id or adam_id", ErrAmbiguous, len(matches), what, strings.Join(ids, ", "))
}

func describeLookup(adamID, tokenID, title string) string {
	var parts []string
	if adamID != "" {
		parts = append(parts, fmt.Sprintf("adam_id %q", adamID))
	}
	if title != "" {
		parts = append(parts, fmt.Sprintf("title %q", title))
	}
	if tokenID != "" {
		parts = append(parts, fmt.Sprintf("token_id %q", tokenID))
	}
	return strings.Join(parts, " and ")
}

func bookView(b store.Book) Book {
	return Book{ID: BookID(b.TokenID, b.AdamID, b.PricingParam), TokenID: b.TokenID, AdamID: b.AdamID, PricingParam: b.PricingParam,
		Title: b.Title, Author: b.Author, Genres: b.Genres, Language: b.Language, CoverURL: b.CoverURL,
		Total: b.Total, Assigned: b.Assigned, Available: b.Available, Retired: b.Retired}
}
