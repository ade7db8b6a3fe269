package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// tx implements Tx over one *sql.Tx.
type tx struct {
	s     *db
	tx    *sql.Tx
	stmts []*sql.Stmt
}

var _ Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, t.s.mapErr(err)
	}
	return r, nil
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.s.hot[q]; st != nil {
		t.s.hotUses.Add(1)
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := t.s.hot[q]; st != nil {
		t.s.hotUses.Add(1)
		rows, err = t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	} else {
		rows, err = t.tx.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, t.s.mapErr(err)
	}
	return rows, nil
}

// queryAll runs q and reads every row of its result with scan, in order.
func queryAll[T any](ctx context.Context, t *tx, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	return queryAllSized(ctx, t, scan, 0, q, args...)
}

// queryAllSized is queryAll into a slice made for size rows: a list of a hundred thousand records
// read into a growing slice copies them again and again.
func queryAllSized[T any](ctx context.Context, t *tx, scan func(scanner) (T, error), size int, q string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T // nil when there are no rows, as callers compare
	if size > 0 {
		out = make([]T, 0, size)
	}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.s.mapErr(err)
		}
		out = append(out, v)
	}
	return out, t.s.mapErr(rows.Err())
}

func (t *tx) closeStmts() {
	for _, st := range t.stmts {
		_ = st.Close()
	}
	t.stmts = nil
}

// deleteRecord deletes record id of table (what names it in errors: "token") after its children:
// each statement of children deletes some, given id as $1. A record that does not exist is
// ErrNotFound.
func (t *tx) deleteRecord(ctx context.Context, what, table, id string, children ...string) error {
	for _, q := range children {
		if _, err := t.exec(ctx, q, id); err != nil {
			return fmt.Errorf("store: delete %s %s: %w", what, id, err)
		}
	}
	r, err := t.exec(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete %s %s: %w", what, id, err)
	}
	return mustAffect(r, what+" "+id)
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(r sql.Result, what string) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}

// ord makes an ORDER BY term on a text column compare bytes on both backends (PostgreSQL would
// otherwise use the database's locale collation, SQLite always compares bytes).
func (t *tx) ord(col string) string {
	if t.s.kind == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

func (t *tx) meta(ctx context.Context, name string) (string, error) {
	var v string
	err := t.queryRow(ctx, `SELECT value FROM meta WHERE name = $1`, name).Scan(&v)
	if err != nil {
		return "", t.s.mapErr(err)
	}
	return v, nil
}

// requireParents checks that every id exists in table (tokens, user_groups or assignments) and,
// on PostgreSQL, share-locks those rows until the transaction ends so that a concurrent delete
// cannot orphan the children about to be written (the bulk tables have no foreign keys).
func (t *tx) requireParents(ctx context.Context, table, what string, ids ...string) error {
	q := `SELECT 1 FROM ` + table + ` WHERE id = $1`
	if t.s.kind == Postgres {
		q += ` FOR SHARE`
	}
	seen := make(map[string]bool, 1)
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var one int
		err := t.queryRow(ctx, q, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: %s %s: %w", what, id, ErrNotFound)
		}
		if err != nil {
			return t.s.mapErr(err)
		}
	}
	return nil
}

// lockParent is requireParents for a writer that replaces the parent's children wholesale: on
// PostgreSQL it locks the parent row FOR UPDATE, so that two replacements of the same children
// (parallel refreshes, two processes) run one after the other, each seeing the rows the other
// committed, instead of colliding on the children's keys.
func (t *tx) lockParent(ctx context.Context, table, what, id string) error {
	q := `SELECT 1 FROM ` + table + ` WHERE id = $1`
	if t.s.kind == Postgres {
		q += ` FOR UPDATE`
	}
	var one int
	err := t.queryRow(ctx, q, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s %s: %w", what, id, ErrNotFound)
	}
	return t.s.mapErr(err)
}

// nextID allocates the next id of an append-only table from id_seq.
func (t *tx) nextID(ctx context.Context, seq string) (int64, error) {
	var id int64
	err := t.queryRow(ctx, `UPDATE id_seq SET value = value + 1 WHERE name = $1 RETURNING value`, seq).Scan(&id)
	if err != nil {
		return 0, t.s.mapErr(fmt.Errorf("store: allocate %s id: %w", seq, err))
	}
	return id, nil
}

// maxParams bounds the parameters of one multi-row statement (PostgreSQL allows 65535, SQLite
// 32766).
const maxParams = 8000

// bulk inserts n rows with multi-row statements: head is "INSERT INTO x (a, b, c)", tail is
// appended after the VALUES list (e.g. an ON CONFLICT clause, without placeholders); row fills
// one row's cols arguments. Full chunks reuse one prepared statement.
func (t *tx) bulk(ctx context.Context, head string, cols int, tail string, n int, row func(i int, args []any)) error {
	if n == 0 {
		return nil
	}
	per := max(1, maxParams/cols)
	// SQLite: anonymous "?" placeholders, because binding numbered ones costs time linear in
	// the statement's parameter count (sqlite3_bind_parameter_name), quadratic per statement.
	anon := t.s.kind == SQLite
	build := func(rows int) string {
		var b strings.Builder
		b.Grow(len(head) + len(tail) + rows*cols*6)
		b.WriteString(head)
		b.WriteString(" VALUES ")
		p := 1
		for r := 0; r < rows; r++ {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for c := 0; c < cols; c++ {
				if c > 0 {
					b.WriteByte(',')
				}
				if anon {
					b.WriteByte('?')
				} else {
					b.WriteByte('$')
					b.WriteString(strconv.Itoa(p))
					p++
				}
			}
			b.WriteByte(')')
		}
		if tail != "" {
			b.WriteByte(' ')
			b.WriteString(tail)
		}
		return b.String()
	}
	var full *sql.Stmt
	args := make([]any, 0, per*cols)
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		args = args[:(end-start)*cols]
		for i := start; i < end; i++ {
			row(i, args[(i-start)*cols:(i-start+1)*cols])
		}
		var err error
		if end-start == per && n > per {
			if full == nil {
				full, err = t.tx.PrepareContext(ctx, build(per))
				if err != nil {
					return t.s.mapErr(err)
				}
				t.stmts = append(t.stmts, full)
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.tx.ExecContext(ctx, build(end-start), args...)
		}
		if err != nil {
			return t.s.mapErr(err)
		}
	}
	return nil
}

// ---- value conversions --------------------------------------------------------------------

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func orNow(t time.Time, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// nullIfEmpty stores "" as NULL (for unique columns where "unknown" must not collide).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encodeList(g []string) (string, error) {
	if len(g) == 0 {
		return "", nil
	}
	b, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var g []string
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		return nil, fmt.Errorf("store: corrupt list (genres or platforms): %w", err)
	}
	return g, nil
}

func encodePayload(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(p)
}

func decodePayload(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("store: corrupt journal payload: %w", err)
	}
	return b, nil
}

// likePattern escapes LIKE wildcards in a substring and wraps it in %...% (ESCAPE '\').
func likePattern(sub string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(sub) + "%"
}
