package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ---- journal ------------------------------------------------------------------------------

func (t *tx) InsertJournal(ctx context.Context, e JournalEntry) (int64, error) {
	id, err := t.nextID(ctx, "journal")
	if err != nil {
		return 0, err
	}
	now := nowUTC()
	_, err = t.exec(ctx, `INSERT INTO journal (id, token_id, operation, payload, state, event_id, error,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, e.TokenID, e.Operation, encodePayload(e.Payload), e.State, e.EventID, e.Error,
		ms(orNow(e.CreatedAt, now)), ms(orNow(e.UpdatedAt, now)))
	if err != nil {
		return 0, fmt.Errorf("store: insert journal entry for token %s: %w", e.TokenID, err)
	}
	return id, nil
}

func (t *tx) UpdateJournal(ctx context.Context, e JournalEntry) error {
	r, err := t.exec(ctx, `UPDATE journal SET state = $2, event_id = $3, error = $4, updated_at = $5 WHERE id = $1`,
		e.ID, e.State, e.EventID, e.Error, ms(orNow(e.UpdatedAt, nowUTC())))
	if err != nil {
		return fmt.Errorf("store: update journal entry %d: %w", e.ID, err)
	}
	return mustAffect(r, fmt.Sprintf("journal entry %d", e.ID))
}

func (t *tx) ListOpenJournal(ctx context.Context, tokenID string) ([]JournalEntry, error) {
	return queryAll(ctx, t, scanJournalEntry, `SELECT id, token_id, operation, payload, state, event_id, error,
		created_at, updated_at FROM journal
		WHERE token_id = $1 AND state <> 'settled' AND state <> 'failed' ORDER BY id`, tokenID)
}

func scanJournalEntry(row scanner) (JournalEntry, error) {
	var e JournalEntry
	var payload string
	var c, u int64
	err := row.Scan(&e.ID, &e.TokenID, &e.Operation, &payload, &e.State, &e.EventID, &e.Error, &c, &u)
	if err != nil {
		return JournalEntry{}, err
	}
	if e.Payload, err = decodePayload(payload); err != nil {
		return JournalEntry{}, err
	}
	e.CreatedAt, e.UpdatedAt = fromMS(c), fromMS(u)
	return e, nil
}

// ---- sync runs ----------------------------------------------------------------------------

func (t *tx) InsertSyncRun(ctx context.Context, r SyncRun) (int64, error) {
	id, err := t.nextID(ctx, "sync_runs")
	if err != nil {
		return 0, err
	}
	_, err = t.exec(ctx, `INSERT INTO sync_runs (id, token_id, kind, status, started_at, finished_at,
		error, books, users, licenses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, r.TokenID, r.Kind, r.Status, ms(orNow(r.StartedAt, nowUTC())), ms(r.FinishedAt), r.Error,
		r.Books, r.Users, r.Licenses)
	if err != nil {
		return 0, fmt.Errorf("store: insert sync run for token %s: %w", r.TokenID, err)
	}
	return id, nil
}

func (t *tx) UpdateSyncRun(ctx context.Context, r SyncRun) error {
	res, err := t.exec(ctx, `UPDATE sync_runs SET kind = $2, status = $3, finished_at = $4, error = $5,
		books = $6, users = $7, licenses = $8 WHERE id = $1`,
		r.ID, r.Kind, r.Status, ms(r.FinishedAt), r.Error, r.Books, r.Users, r.Licenses)
	if err != nil {
		return fmt.Errorf("store: update sync run %d: %w", r.ID, err)
	}
	return mustAffect(res, fmt.Sprintf("sync run %d", r.ID))
}

func (t *tx) ListSyncRuns(ctx context.Context, tokenID string) ([]SyncRun, error) {
	q := `SELECT id, token_id, kind, status, started_at, finished_at, error, books, users, licenses
		FROM sync_runs`
	var args []any
	if tokenID != "" {
		q += ` WHERE token_id = $1`
		args = append(args, tokenID)
	}
	return queryAll(ctx, t, scanSyncRun, q+` ORDER BY id`, args...)
}

func scanSyncRun(row scanner) (SyncRun, error) {
	var r SyncRun
	var st, fin int64
	if err := row.Scan(&r.ID, &r.TokenID, &r.Kind, &r.Status, &st, &fin, &r.Error, &r.Books,
		&r.Users, &r.Licenses); err != nil {
		return SyncRun{}, err
	}
	r.StartedAt, r.FinishedAt = fromMS(st), fromMS(fin)
	return r, nil
}

// ---- audit --------------------------------------------------------------------------------

func (t *tx) InsertAudit(ctx context.Context, a AuditEntry) error {
	id, err := t.nextID(ctx, "audit")
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO audit (id, at, token_id, operation, event_id, count, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, ms(orNow(a.At, nowUTC())), a.TokenID, a.Operation, a.EventID, a.Count, a.Detail)
	if err != nil {
		return fmt.Errorf("store: insert audit entry: %w", err)
	}
	return nil
}

func (t *tx) ListAudit(ctx context.Context, tokenID string) ([]AuditEntry, error) {
	records, err := t.FindAudit(ctx, AuditFilter{TokenID: tokenID})
	var out []AuditEntry
	for _, r := range records {
		out = append(out, r.AuditEntry)
	}
	return out, err
}

func (t *tx) FindAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	q, args := auditQuery(f)
	out, err := queryAll(ctx, t, scanAuditRecord, q, args...)
	// An entry whose event several journal entries carry comes once per journal entry, the latest
	// first: keep that one.
	return slices.CompactFunc(out, func(a, b AuditRecord) bool { return a.ID == b.ID }), err
}

func scanAuditRecord(row scanner) (AuditRecord, error) {
	var r AuditRecord
	var at int64
	var state, jerr sql.NullString
	if err := row.Scan(&r.ID, &at, &r.TokenID, &r.Operation, &r.EventID, &r.Count, &r.Detail, &state, &jerr); err != nil {
		return AuditRecord{}, err
	}
	r.At, r.Journaled, r.JournalState, r.JournalError = fromMS(at), state.Valid, state.String, jerr.String
	return r, nil
}

// auditQuery is the SELECT of FindAudit: the audit entries f selects, in the order they were
// written, each joined to the journal entry of the same token that carries its event (the latest,
// first, should there be several).
func auditQuery(f AuditFilter) (string, []any) {
	var c conditions
	if f.TokenID != "" {
		c.add(`a.token_id = $?`, f.TokenID)
	}
	if !f.Since.IsZero() {
		c.add(`a.at >= $?`, ceilMS(f.Since))
	}
	if !f.Until.IsZero() {
		c.add(`a.at < $?`, ceilMS(f.Until))
	}
	if len(f.Operations) > 0 {
		c.in(`a.operation`, f.Operations)
	}
	q := `SELECT a.id, a.at, a.token_id, a.operation, a.event_id, a.count, a.detail, j.state, j.error
		FROM audit a LEFT JOIN journal j
		ON a.event_id <> '' AND j.token_id = a.token_id AND j.event_id = a.event_id` + c.clause() + `
		ORDER BY a.id, j.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	return q, c.args
}

// ceilMS is t in the store's milliseconds, rounded up: a stored time (whole milliseconds) is at
// or after t exactly when it is at or after ceilMS(t), and before t exactly when it is before it.
func ceilMS(t time.Time) int64 {
	v := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		v++
	}
	return v
}
