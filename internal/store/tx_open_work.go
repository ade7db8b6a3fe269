package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ---- the work a change leaves open ------------------------------------------------------------
//
// A group of 100,000 members whose books are all delivered has nothing left to do for them: a
// change of a few members should read a few records, not every member's user, license and
// delivery. These queries read what the engine's rule (SettledRule) leaves open, and write back
// only the deliveries that changed.

// SettledRule is the engine's rule of a settled delivery, given as data: a recorded delivery in
// State, with no error number and no detail, of a member whose every VPP user record at the token
// has one of the Confirmed statuses (a member without a user record is never settled). The store
// applies it; what it means is the engine's.
type SettledRule struct {
	State     string
	Confirmed []string
}

// bookScope narrows a query to the assignments of the token, or of one of its books when adamID
// is not empty: the condition on the alias a (of assignments) and its arguments, from $1.
func bookScope(tokenID, adamID, pricingParam string) (string, []any) {
	if adamID == "" {
		return `a.token_id = $1`, []any{tokenID}
	}
	return `a.token_id = $1 AND a.adam_id = $2 AND a.pricing_param = $3`, []any{tokenID, adamID, pricingParam}
}

func (t *tx) ListOpenDeliveries(ctx context.Context, tokenID, adamID, pricingParam string, rule SettledRule) ([]Delivery, error) {
	if rule.State == "" || len(rule.Confirmed) == 0 {
		return nil, errors.New("store: ListOpenDeliveries: the rule needs a state and the confirmed statuses")
	}
	scope, args := bookScope(tokenID, adamID, pricingParam)
	n := len(args)
	args = append(append(args, rule.State), anySlice(rule.Confirmed)...)
	confirmed := placeholders(n+2, len(rule.Confirmed))
	// A member with any unconfirmed user record leaves every one of its deliveries open: the
	// token's unconfirmed users are few, read once into the set the rows are checked against.
	return t.listDeliveries(ctx, fmt.Sprintf(`SELECT d.assignment_id, d.email, d.state, d.error_number, d.detail, d.updated_at
		FROM deliveries d JOIN assignments a ON a.id = d.assignment_id
		WHERE %s AND (d.state <> $%d OR d.error_number <> 0 OR d.detail <> ''
			OR d.email IN (SELECT u.email FROM vpp_users u WHERE u.token_id = $1 AND u.status NOT IN (%s)))
		ORDER BY %s, %s`, scope, n+1, confirmed, t.ord("d.assignment_id"), t.ord("d.email")), args...)
}

func (t *tx) CountDeliveries(ctx context.Context, assignmentID string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE assignment_id = $1`, assignmentID).Scan(&n)
	return n, t.s.mapErr(err)
}

func (t *tx) CountDeliveriesByState(ctx context.Context, assignmentID string) (map[string]int, error) {
	rows, err := t.query(ctx, `SELECT state, COUNT(*) FROM deliveries WHERE assignment_id = $1 GROUP BY state`, assignmentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, t.s.mapErr(err)
		}
		out[state] = n
	}
	return out, t.s.mapErr(rows.Err())
}

func (t *tx) ListDeliveriesInState(ctx context.Context, assignmentID, state string) ([]Delivery, error) {
	return t.listDeliveries(ctx, `SELECT assignment_id, email, state, error_number, detail, updated_at
		FROM deliveries WHERE assignment_id = $1 AND state = $2 ORDER BY `+t.ord("email"), assignmentID, state)
}

func (t *tx) ListVPPUsersByEmail(ctx context.Context, tokenID string, emails []string) ([]VPPUser, error) {
	var out []VPPUser
	for _, part := range chunks(sortedUnique(emails)) {
		// No ORDER BY: with one it, SQLite would walk every user of the token rather than look
		// the emails up in their index.
		found, err := queryAll(ctx, t, scanVPPUser, `SELECT token_id, client_user_id, email, managed, status, invite_code,
			invitation_url, id_hash, updated_at FROM vpp_users WHERE token_id = $1 AND email IN (`+placeholders(2, len(part))+`)`,
			append([]any{tokenID}, anySlice(part)...)...)
		if err != nil {
			return nil, fmt.Errorf("store: read the VPP users of %d members of token %s: %w", len(emails), tokenID, err)
		}
		out = append(out, found...)
	}
	slices.SortFunc(out, func(a, b VPPUser) int {
		return cmp.Or(strings.Compare(a.Email, b.Email), strings.Compare(a.ClientUserID, b.ClientUserID))
	})
	return out, nil
}

// deliveryRows are the deliveries ds of one assignment as written: each of the assignment, last of
// its email, with its time or now.
func deliveryRows(method, assignmentID string, ds []Delivery) ([]Delivery, error) {
	now := nowUTC()
	rows := make([]Delivery, len(ds))
	for i, d := range ds {
		if d.AssignmentID == "" {
			d.AssignmentID = assignmentID
		}
		if d.AssignmentID != assignmentID {
			return nil, fmt.Errorf("store: %s for assignment %s given a delivery of assignment %s", method, assignmentID, d.AssignmentID)
		}
		d.UpdatedAt = orNow(d.UpdatedAt, now)
		rows[i] = d
	}
	return dedupe(rows, func(d Delivery) string { return d.Email }), nil
}

func (t *tx) UpdateDeliveries(ctx context.Context, assignmentID string, ds []Delivery, remove []string) error {
	rows, err := deliveryRows("UpdateDeliveries", assignmentID, ds)
	if err != nil {
		return err
	}
	if err := t.lockParent(ctx, "assignments", "assignment", assignmentID); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: update %d deliveries of assignment %s: %w", len(rows)+len(remove), assignmentID, err)
	}
	for _, part := range chunks(remove) {
		if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE assignment_id = $1 AND email IN (`+placeholders(2, len(part))+`)`,
			append([]any{assignmentID}, anySlice(part)...)...); err != nil {
			return fail(err)
		}
	}
	if err := t.insertDeliveries(ctx, rows, `ON CONFLICT (assignment_id, email) DO UPDATE SET state = excluded.state,
		error_number = excluded.error_number, detail = excluded.detail, updated_at = excluded.updated_at`); err != nil {
		return fail(err)
	}
	return nil
}

// insertDeliveries inserts rows, with tail after the VALUES list (an ON CONFLICT clause, or "").
func (t *tx) insertDeliveries(ctx context.Context, rows []Delivery, tail string) error {
	return t.bulk(ctx, `INSERT INTO deliveries (assignment_id, email, state, error_number, detail, updated_at)`, 6, tail,
		len(rows), func(i int, a []any) {
			d := rows[i]
			a[0], a[1], a[2], a[3], a[4], a[5] = d.AssignmentID, d.Email, d.State, d.ErrorNumber, d.Detail, ms(d.UpdatedAt)
		})
}

func (t *tx) ChangeMembers(ctx context.Context, groupID string, add, remove []string) error {
	if err := t.requireParents(ctx, "user_groups", "group", groupID); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: change the members of group %s: %w", groupID, err)
	}
	for _, part := range chunks(remove) {
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND email IN (`+placeholders(2, len(part))+`)`,
			append([]any{groupID}, anySlice(part)...)...); err != nil {
			return fail(err)
		}
	}
	add = sortedUnique(add)
	if err := t.bulk(ctx, `INSERT INTO group_members (group_id, email)`, 2, `ON CONFLICT (group_id, email) DO NOTHING`,
		len(add), func(i int, a []any) { a[0], a[1] = groupID, add[i] }); err != nil {
		return fail(err)
	}
	return nil
}

func (t *tx) ListInvitedMembers(ctx context.Context, groupID, status string) ([]VPPUser, error) {
	out, err := queryAll(ctx, t, func(row scanner) (VPPUser, error) {
		var u VPPUser
		err := row.Scan(&u.TokenID, &u.ClientUserID, &u.Email, &u.InvitationURL)
		u.Status = status
		return u, err
	}, `SELECT u.token_id, u.client_user_id, u.email, u.invitation_url FROM group_members m
		JOIN vpp_users u ON u.email = m.email AND u.token_id IN (SELECT token_id FROM assignments WHERE group_id = $1)
		WHERE m.group_id = $1 AND u.status = $2 AND u.invitation_url <> ''`, groupID, status)
	slices.SortFunc(out, func(a, b VPPUser) int {
		return cmp.Or(strings.Compare(a.TokenID, b.TokenID), strings.Compare(a.Email, b.Email), strings.Compare(a.ClientUserID, b.ClientUserID))
	})
	return out, err
}

// sortedUnique returns keys sorted, each once (a new slice).
func sortedUnique(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
