package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
)

// ---- groups -------------------------------------------------------------------------------

func (t *tx) InsertGroup(ctx context.Context, g Group) error {
	if g.ID == "" {
		return errors.New("store: InsertGroup: the group ID is required")
	}
	now := nowUTC()
	kind := g.Kind
	if kind == "" {
		kind = GroupUsers
	}
	_, err := t.exec(ctx, `INSERT INTO user_groups (id, name, description, managed, members_from, created_at, updated_at, kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		g.ID, g.Name, g.Description, g.Managed, g.MembersFrom, ms(orNow(g.CreatedAt, now)), ms(orNow(g.UpdatedAt, now)), kind)
	if err != nil {
		return fmt.Errorf("store: insert group %s: %w", g.ID, err)
	}
	return nil
}

func (t *tx) UpdateGroup(ctx context.Context, g Group) error {
	r, err := t.exec(ctx, `UPDATE user_groups SET name = $2, description = $3, managed = $4, members_from = $5, updated_at = $6
		WHERE id = $1`, g.ID, g.Name, g.Description, g.Managed, g.MembersFrom, ms(orNow(g.UpdatedAt, nowUTC())))
	if err != nil {
		return fmt.Errorf("store: update group %s: %w", g.ID, err)
	}
	return mustAffect(r, "group "+g.ID)
}

const groupCols = `id, name, description, managed, members_from, created_at, updated_at, kind`

func scanGroup(row scanner) (Group, error) {
	var g Group
	var c, u int64
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Managed, &g.MembersFrom, &c, &u, &g.Kind); err != nil {
		return Group{}, err
	}
	g.CreatedAt, g.UpdatedAt = fromMS(c), fromMS(u)
	return g, nil
}

func (t *tx) GetGroup(ctx context.Context, id string) (Group, error) {
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupCols+` FROM user_groups WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, fmt.Errorf("store: group %s: %w", id, ErrNotFound)
	}
	return g, t.s.mapErr(err)
}

func (t *tx) ListGroups(ctx context.Context) ([]Group, error) {
	return t.listGroups(ctx, `SELECT `+groupCols+` FROM user_groups ORDER BY `+t.ord("id"))
}

// bookGroupIDs selects the groups of a book's assignments ($1 token, $2 adamId, $3 pricingParam).
const bookGroupIDs = `SELECT group_id FROM assignments WHERE token_id = $1 AND adam_id = $2 AND pricing_param = $3`

func (t *tx) ListBookGroups(ctx context.Context, tokenID, adamID, pricingParam string) ([]Group, error) {
	return t.listGroups(ctx, `SELECT `+groupCols+` FROM user_groups WHERE id IN (`+bookGroupIDs+`) ORDER BY `+t.ord("id"),
		tokenID, adamID, pricingParam)
}

func (t *tx) listGroups(ctx context.Context, q string, args ...any) ([]Group, error) {
	return queryAll(ctx, t, scanGroup, q, args...)
}

func (t *tx) DeleteGroup(ctx context.Context, id string) error {
	return t.deleteRecord(ctx, "group", "user_groups", id,
		`DELETE FROM deliveries WHERE assignment_id IN (SELECT id FROM assignments WHERE group_id = $1)`,
		`DELETE FROM assignments WHERE group_id = $1`,
		`DELETE FROM group_members WHERE group_id = $1`)
}

func (t *tx) SetMembers(ctx context.Context, groupID string, emails []string) error {
	if err := t.requireParents(ctx, "user_groups", "group", groupID); err != nil {
		return err
	}
	current, err := t.ListMembers(ctx, groupID)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[e] = true
	}
	have := make(map[string]bool, len(current))
	for _, e := range current {
		have[e] = true
	}
	var drop []string
	for _, e := range current {
		if !want[e] {
			drop = append(drop, e)
		}
	}
	var add []string
	for e := range want {
		if !have[e] {
			add = append(add, e)
		}
	}
	sort.Strings(add)
	if len(drop) > 0 {
		st, err := t.tx.PrepareContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND email = $2`)
		if err != nil {
			return t.s.mapErr(err)
		}
		t.stmts = append(t.stmts, st)
		for _, e := range drop {
			if _, err := st.ExecContext(ctx, groupID, e); err != nil {
				return fmt.Errorf("store: set members of group %s: %w", groupID, t.s.mapErr(err))
			}
		}
	}
	err = t.bulk(ctx, `INSERT INTO group_members (group_id, email)`, 2, ``, len(add), func(i int, a []any) {
		a[0], a[1] = groupID, add[i]
	})
	if err != nil {
		return fmt.Errorf("store: set members of group %s: %w", groupID, err)
	}
	return nil
}

func (t *tx) ListMembers(ctx context.Context, groupID string) ([]string, error) {
	return t.listStrings(ctx, `SELECT email FROM group_members WHERE group_id = $1 ORDER BY `+t.ord("email"), groupID)
}

// listStrings runs a query of one text column and returns its values in order.
func (t *tx) listStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	return queryAll(ctx, t, func(row scanner) (string, error) {
		var e string
		err := row.Scan(&e)
		return e, err
	}, q, args...)
}

func (t *tx) ListTokenMembers(ctx context.Context, tokenID string) ([]GroupMember, error) {
	return t.listGroupMembers(ctx, `SELECT group_id, email FROM group_members
		WHERE group_id IN (SELECT group_id FROM assignments WHERE token_id = $1)
		ORDER BY `+t.ord("group_id")+`, `+t.ord("email"), tokenID)
}

func (t *tx) ListBookMembers(ctx context.Context, tokenID, adamID, pricingParam string) ([]GroupMember, error) {
	return t.listGroupMembers(ctx, `SELECT group_id, email FROM group_members WHERE group_id IN (`+bookGroupIDs+`)
		ORDER BY `+t.ord("group_id")+`, `+t.ord("email"), tokenID, adamID, pricingParam)
}

func (t *tx) listGroupMembers(ctx context.Context, q string, args ...any) ([]GroupMember, error) {
	return queryAll(ctx, t, func(row scanner) (GroupMember, error) {
		var m GroupMember
		err := row.Scan(&m.GroupID, &m.Email)
		return m, err
	}, q, args...)
}

func (t *tx) ListMembersWithoutUser(ctx context.Context, tokenID string) ([]string, error) {
	return t.listStrings(ctx, `SELECT m.email FROM group_members m
		WHERE m.group_id IN (SELECT a.group_id FROM assignments a JOIN user_groups g ON g.id = a.group_id
			WHERE a.token_id = $1 AND g.kind = '`+GroupUsers+`')
		AND NOT EXISTS (SELECT 1 FROM vpp_users u WHERE u.token_id = $1 AND u.email = m.email)
		GROUP BY m.email
		ORDER BY `+t.ord("m.email"), tokenID)
}

// ---- assignments --------------------------------------------------------------------------

func (t *tx) InsertAssignment(ctx context.Context, a Assignment) error {
	if a.ID == "" {
		return errors.New("store: InsertAssignment: the assignment ID is required")
	}
	now := nowUTC()
	_, err := t.exec(ctx, `INSERT INTO assignments (id, token_id, adam_id, pricing_param, group_id,
		intent, allow_oversubscription, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.TokenID, a.AdamID, a.PricingParam, a.GroupID, a.Intent, a.AllowOversubscription,
		ms(orNow(a.CreatedAt, now)), ms(orNow(a.UpdatedAt, now)))
	if err != nil {
		return fmt.Errorf("store: insert assignment %s (book %s/%s, group %s): %w", a.ID, a.AdamID, a.PricingParam, a.GroupID, err)
	}
	return nil
}

func (t *tx) UpdateAssignment(ctx context.Context, a Assignment) error {
	r, err := t.exec(ctx, `UPDATE assignments SET token_id = $2, adam_id = $3, pricing_param = $4,
		group_id = $5, intent = $6, allow_oversubscription = $7, updated_at = $8 WHERE id = $1`,
		a.ID, a.TokenID, a.AdamID, a.PricingParam, a.GroupID, a.Intent, a.AllowOversubscription,
		ms(orNow(a.UpdatedAt, nowUTC())))
	if err != nil {
		return fmt.Errorf("store: update assignment %s: %w", a.ID, err)
	}
	return mustAffect(r, "assignment "+a.ID)
}

const assignmentCols = `id, token_id, adam_id, pricing_param, group_id, intent,
	allow_oversubscription, created_at, updated_at`

func scanAssignment(row scanner) (Assignment, error) {
	var a Assignment
	var c, u int64
	if err := row.Scan(&a.ID, &a.TokenID, &a.AdamID, &a.PricingParam, &a.GroupID, &a.Intent,
		&a.AllowOversubscription, &c, &u); err != nil {
		return Assignment{}, err
	}
	a.CreatedAt, a.UpdatedAt = fromMS(c), fromMS(u)
	return a, nil
}

func (t *tx) getAssignment(ctx context.Context, what, where string, args ...any) (Assignment, error) {
	a, err := scanAssignment(t.queryRow(ctx, `SELECT `+assignmentCols+` FROM assignments WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Assignment{}, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return a, t.s.mapErr(err)
}

const assignmentByIDQuery = `SELECT ` + assignmentCols + ` FROM assignments WHERE id = $1`

func (t *tx) GetAssignment(ctx context.Context, id string) (Assignment, error) {
	a, err := scanAssignment(t.queryRow(ctx, assignmentByIDQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Assignment{}, fmt.Errorf("store: assignment %s: %w", id, ErrNotFound)
	}
	return a, t.s.mapErr(err)
}

func (t *tx) GetAssignmentByBookGroup(ctx context.Context, tokenID, adamID, pricingParam, groupID string) (Assignment, error) {
	return t.getAssignment(ctx, fmt.Sprintf("assignment of book %s/%s of token %s to group %s", adamID, pricingParam, tokenID, groupID),
		`token_id = $1 AND adam_id = $2 AND pricing_param = $3 AND group_id = $4`, tokenID, adamID, pricingParam, groupID)
}

func (t *tx) listAssignments(ctx context.Context, where string, args ...any) ([]Assignment, error) {
	q := `SELECT ` + assignmentCols + ` FROM assignments`
	if where != "" {
		q += ` WHERE ` + where
	}
	q += ` ORDER BY ` + t.ord("token_id") + `, ` + t.ord("adam_id") + `, ` + t.ord("pricing_param") + `, ` + t.ord("group_id")
	return queryAll(ctx, t, scanAssignment, q, args...)
}

func (t *tx) ListAssignments(ctx context.Context, tokenID string) ([]Assignment, error) {
	if tokenID == "" {
		return t.listAssignments(ctx, "")
	}
	return t.listAssignments(ctx, `token_id = $1`, tokenID)
}

func (t *tx) ListBookAssignments(ctx context.Context, tokenID, adamID, pricingParam string) ([]Assignment, error) {
	return t.listAssignments(ctx, `token_id = $1 AND adam_id = $2 AND pricing_param = $3`, tokenID, adamID, pricingParam)
}

func (t *tx) ListAssignmentsByGroup(ctx context.Context, groupID string) ([]Assignment, error) {
	return t.listAssignments(ctx, `group_id = $1`, groupID)
}

func (t *tx) DeleteAssignment(ctx context.Context, id string) error {
	if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE assignment_id = $1`, id); err != nil {
		return fmt.Errorf("store: delete assignment %s: %w", id, err)
	}
	r, err := t.exec(ctx, `DELETE FROM assignments WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete assignment %s: %w", id, err)
	}
	return mustAffect(r, "assignment "+id)
}

// ---- deliveries ---------------------------------------------------------------------------

func (t *tx) ReplaceDeliveries(ctx context.Context, assignmentID string, ds []Delivery) error {
	rows, err := deliveryRows("ReplaceDeliveries", assignmentID, ds)
	if err != nil {
		return err
	}
	if err := t.lockParent(ctx, "assignments", "assignment", assignmentID); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE assignment_id = $1`, assignmentID); err != nil {
		return fmt.Errorf("store: replace deliveries of assignment %s: %w", assignmentID, err)
	}
	if err := t.insertDeliveries(ctx, rows, ``); err != nil {
		return fmt.Errorf("store: replace deliveries of assignment %s: %w", assignmentID, err)
	}
	return nil
}

// deliveriesQuery lists an assignment's deliveries ordered by orderBy (the email column, with
// PostgreSQL's byte collation where it applies).
func deliveriesQuery(orderBy string) string {
	return `SELECT assignment_id, email, state, error_number, detail, updated_at
		FROM deliveries WHERE assignment_id = $1 ORDER BY ` + orderBy
}

func (t *tx) ListDeliveries(ctx context.Context, assignmentID string) ([]Delivery, error) {
	return t.listDeliveries(ctx, deliveriesQuery(t.ord("email")), assignmentID)
}

func (t *tx) ListTokenDeliveries(ctx context.Context, tokenID string) ([]Delivery, error) {
	return t.listDeliveries(ctx, `SELECT assignment_id, email, state, error_number, detail, updated_at
		FROM deliveries WHERE assignment_id IN (SELECT id FROM assignments WHERE token_id = $1)
		ORDER BY `+t.ord("assignment_id")+`, `+t.ord("email"), tokenID)
}

func (t *tx) ListBookDeliveries(ctx context.Context, tokenID, adamID, pricingParam string) ([]Delivery, error) {
	return t.listDeliveries(ctx, `SELECT assignment_id, email, state, error_number, detail, updated_at
		FROM deliveries WHERE assignment_id IN (SELECT id FROM assignments WHERE token_id = $1 AND adam_id = $2 AND pricing_param = $3)
		ORDER BY `+t.ord("assignment_id")+`, `+t.ord("email"), tokenID, adamID, pricingParam)
}

func (t *tx) listDeliveries(ctx context.Context, q string, args ...any) ([]Delivery, error) {
	return queryAll(ctx, t, func(row scanner) (Delivery, error) {
		var d Delivery
		var u int64
		err := row.Scan(&d.AssignmentID, &d.Email, &d.State, &d.ErrorNumber, &d.Detail, &u)
		d.UpdatedAt = fromMS(u)
		return d, err
	}, q, args...)
}
