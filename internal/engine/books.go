package engine

import (
	"context"
	"errors"

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
		books, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: f.TokenID, AdamID: f.AdamID, ProductType: store.ProductBook,
			TitleContains: f.TitleContains, MinAvailable: f.MinAvailable})
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

// RefreshBooks brings the books about to be read up to date: it refreshes the token tokenID, or
// (when empty) every token, syncing each whose last sync is older than the sync interval. A token
// that is not in the engine's database is a NotFoundError when named (one removed meanwhile took its
// books with it); a failed sync is recorded in the token's state and does not fail the read, whose
// books then carry the counts of the last sync.
func (e *Engine) RefreshBooks(ctx context.Context, tokenID string) error {
	ids := []string{tokenID}
	if tokenID == "" {
		tokens, err := e.ListTokens(ctx)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, t := range tokens {
			ids = append(ids, t.ID)
		}
	}
	for _, id := range ids {
		// A read proves nothing of who holds the token: unlike RefreshToken, it leaves a record an
		// interrupted create left unheld, so that the create's retry takes it up.
		rec, err := e.tokenRecord(ctx, id)
		if err == nil {
			_, err = e.refresh(ctx, rec)
		}
		switch {
		case errors.Is(err, ErrNotFound) && tokenID != "":
			return &NotFoundError{Kind: KindToken, ID: tokenID}
		case errors.Is(err, ErrNotFound):
			// removed concurrently: its books went with it
		case err != nil:
			e.warn(ctx, "Token refresh failed before reading books", "token_id", id, "error", err.Error())
		}
	}
	return nil
}

// GetBook reads one book by its BookID.
func (e *Engine) GetBook(ctx context.Context, id string) (Book, error) {
	b, err := e.assetOf(ctx, id, store.ProductBook)
	if err != nil {
		return Book{}, err
	}
	return bookView(b), nil
}

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
	if len(matches) == 1 {
		return matches[0], nil
	}
	miss := &BookQueryError{AdamID: adamID, TokenID: tokenID, Title: title}
	for _, b := range matches {
		miss.Matches = append(miss.Matches, b.ID)
	}
	return Book{}, miss
}

func bookView(b store.Asset) Book {
	return Book{ID: BookID(b.TokenID, b.AdamID, b.PricingParam), TokenID: b.TokenID, AdamID: b.AdamID, PricingParam: b.PricingParam,
		Title: b.Title, Author: b.Author, Genres: b.Genres, Language: b.Language, CoverURL: b.CoverURL,
		Total: b.Total, Assigned: b.Assigned, Available: b.Available, Retired: b.Retired}
}
