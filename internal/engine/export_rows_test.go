package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// RowCounts counts the rows the engine reads from its store, by method (tests only): what a
// change costs in records read, whatever the machine's speed.
type RowCounts struct {
	mu    sync.Mutex
	rows  map[string]int
	calls map[string]int
}

// CountStoreRows makes the engine count the rows it reads from its store from now on.
func (e *Engine) CountStoreRows() *RowCounts {
	c := &RowCounts{rows: map[string]int{}, calls: map[string]int{}}
	e.store = countingStore{Store: e.store, c: c}
	return c
}

// Reset starts the counts from zero.
func (c *RowCounts) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.rows)
	clear(c.calls)
}

// Rows and Calls report the rows read, and the calls made, of one method.
func (c *RowCounts) Rows(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows[method]
}

func (c *RowCounts) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// RowsBut counts the rows read by every method but those named.
func (c *RowCounts) RowsBut(methods ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for m, rows := range c.rows {
		if !slices.Contains(methods, m) {
			n += rows
		}
	}
	return n
}

// String lists the rows read by method.
func (c *RowCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]string, 0, len(c.rows))
	for m, rows := range c.rows {
		parts = append(parts, fmt.Sprintf("%s %d rows in %d calls", m, rows, c.calls[m]))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (c *RowCounts) add(method string, rows int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows[method] += rows
	c.calls[method]++
}

type countingStore struct {
	store.Store
	c *RowCounts
}

func (s countingStore) Tx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(countingTx{Tx: tx, c: s.c}) })
}

func (s countingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(countingTx{Tx: tx, c: s.c}) })
}

// countingTx counts the rows of the reads whose size can follow a group's or a token's.
type countingTx struct {
	store.Tx
	c *RowCounts
}

func countRows[T any](c *RowCounts, method string, list []T, err error) ([]T, error) {
	c.add(method, len(list))
	return list, err
}

func (t countingTx) ListVPPUsers(ctx context.Context, tokenID string) ([]store.VPPUser, error) {
	l, err := t.Tx.ListVPPUsers(ctx, tokenID)
	return countRows(t.c, "ListVPPUsers", l, err)
}

func (t countingTx) ListVPPUsersByEmail(ctx context.Context, tokenID string, emails []string) ([]store.VPPUser, error) {
	l, err := t.Tx.ListVPPUsersByEmail(ctx, tokenID, emails)
	return countRows(t.c, "ListVPPUsersByEmail", l, err)
}

func (t countingTx) FindLocationUsers(ctx context.Context, tokenID string, ids, emailKeys []string) ([]store.LocationUser, error) {
	l, err := t.Tx.FindLocationUsers(ctx, tokenID, ids, emailKeys)
	return countRows(t.c, "FindLocationUsers", l, err)
}

func (t countingTx) ListMembers(ctx context.Context, groupID string) ([]string, error) {
	l, err := t.Tx.ListMembers(ctx, groupID)
	return countRows(t.c, "ListMembers", l, err)
}

func (t countingTx) ListTokenMembers(ctx context.Context, tokenID string) ([]store.GroupMember, error) {
	l, err := t.Tx.ListTokenMembers(ctx, tokenID)
	return countRows(t.c, "ListTokenMembers", l, err)
}

func (t countingTx) ListBookMembers(ctx context.Context, tokenID, adamID, pricingParam string) ([]store.GroupMember, error) {
	l, err := t.Tx.ListBookMembers(ctx, tokenID, adamID, pricingParam)
	return countRows(t.c, "ListBookMembers", l, err)
}

func (t countingTx) ListMembersWithoutUser(ctx context.Context, tokenID string) ([]string, error) {
	l, err := t.Tx.ListMembersWithoutUser(ctx, tokenID)
	return countRows(t.c, "ListMembersWithoutUser", l, err)
}

func (t countingTx) ListInvitedMembers(ctx context.Context, groupID, status string) ([]store.VPPUser, error) {
	l, err := t.Tx.ListInvitedMembers(ctx, groupID, status)
	return countRows(t.c, "ListInvitedMembers", l, err)
}

func (t countingTx) ListLicenses(ctx context.Context, tokenID string) ([]store.License, error) {
	l, err := t.Tx.ListLicenses(ctx, tokenID)
	return countRows(t.c, "ListLicenses", l, err)
}

func (t countingTx) EachLicense(ctx context.Context, tokenID string, fn func(store.License) error) error {
	n := 0
	err := t.Tx.EachLicense(ctx, tokenID, func(l store.License) error { n++; return fn(l) })
	t.c.add("EachLicense", n)
	return err
}

func (t countingTx) ListHolderLicenses(ctx context.Context, tokenID, adamID, pricing string, hs store.Holders) ([]store.License, error) {
	l, err := t.Tx.ListHolderLicenses(ctx, tokenID, adamID, pricing, hs)
	return countRows(t.c, "ListHolderLicenses", l, err)
}

func (t countingTx) ListDeliveries(ctx context.Context, assignmentID string) ([]store.Delivery, error) {
	l, err := t.Tx.ListDeliveries(ctx, assignmentID)
	return countRows(t.c, "ListDeliveries", l, err)
}

func (t countingTx) ListTokenDeliveries(ctx context.Context, tokenID string) ([]store.Delivery, error) {
	l, err := t.Tx.ListTokenDeliveries(ctx, tokenID)
	return countRows(t.c, "ListTokenDeliveries", l, err)
}

func (t countingTx) ListBookDeliveries(ctx context.Context, tokenID, adamID, pricingParam string) ([]store.Delivery, error) {
	l, err := t.Tx.ListBookDeliveries(ctx, tokenID, adamID, pricingParam)
	return countRows(t.c, "ListBookDeliveries", l, err)
}

func (t countingTx) ListDeliveriesInState(ctx context.Context, assignmentID, state string) ([]store.Delivery, error) {
	l, err := t.Tx.ListDeliveriesInState(ctx, assignmentID, state)
	return countRows(t.c, "ListDeliveriesInState", l, err)
}

func (t countingTx) ListOpenDeliveries(ctx context.Context, tokenID, adamID, pricingParam string, rule store.SettledRule) ([]store.Delivery, error) {
	l, err := t.Tx.ListOpenDeliveries(ctx, tokenID, adamID, pricingParam, rule)
	return countRows(t.c, "ListOpenDeliveries", l, err)
}

func (t countingTx) ReplaceDeliveries(ctx context.Context, assignmentID string, ds []store.Delivery) error {
	t.c.add("ReplaceDeliveries (written)", len(ds))
	return t.Tx.ReplaceDeliveries(ctx, assignmentID, ds)
}

func (t countingTx) UpdateDeliveries(ctx context.Context, assignmentID string, ds []store.Delivery, remove []string) error {
	t.c.add("UpdateDeliveries (written)", len(ds)+len(remove))
	return t.Tx.UpdateDeliveries(ctx, assignmentID, ds, remove)
}

func (t countingTx) SetMembers(ctx context.Context, groupID string, emails []string) error {
	t.c.add("SetMembers (written)", len(emails))
	return t.Tx.SetMembers(ctx, groupID, emails)
}

func (t countingTx) ChangeMembers(ctx context.Context, groupID string, add, remove []string) error {
	t.c.add("ChangeMembers (written)", len(add)+len(remove))
	return t.Tx.ChangeMembers(ctx, groupID, add, remove)
}
