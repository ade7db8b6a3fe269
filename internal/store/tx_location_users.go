package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ApplyLocationUsers records what one page of a walk of Apple's users (walk: the walk's id) said:
// active users are upserted and marked as seen by the walk; the users in gone (clientUserIds of
// retired or deleted records) are removed unless the same walk saw them active, since Apple keeps
// retired records beside at most one active one.
func (t *tx) ApplyLocationUsers(ctx context.Context, tokenID string, walk int64, active []LocationUser, gone []string) error {
	if err := t.requireParents(ctx, "tokens", "token", tokenID); err != nil {
		return err
	}
	active = dedupe(active, func(u LocationUser) string { return u.ClientUserID })
	err := t.bulk(ctx, `INSERT INTO location_users (token_id, client_user_id, email_key, status, invite_code, id_hash, walk)`, 7,
		`ON CONFLICT (token_id, client_user_id) DO UPDATE SET email_key = excluded.email_key, status = excluded.status,
		invite_code = excluded.invite_code, id_hash = excluded.id_hash, walk = excluded.walk`,
		len(active), func(i int, a []any) {
			u := active[i]
			a[0], a[1], a[2], a[3], a[4], a[5], a[6] = tokenID, u.ClientUserID, u.EmailKey, u.Status, u.InviteCode, u.IDHash, walk
		})
	if err != nil {
		return fmt.Errorf("store: record the users of token %s's location: %w", tokenID, err)
	}
	for _, ids := range chunks(gone) {
		args := append([]any{tokenID, walk}, anySlice(ids)...)
		if _, err := t.exec(ctx, `DELETE FROM location_users WHERE token_id = $1 AND walk <> $2
			AND client_user_id IN (`+placeholders(3, len(ids))+`)`, args...); err != nil {
			return fmt.Errorf("store: remove retired users of token %s's location: %w", tokenID, err)
		}
	}
	return nil
}

// PruneLocationUsers ends a walk of every user of the location: users it did not see are gone.
func (t *tx) PruneLocationUsers(ctx context.Context, tokenID string, walk int64) error {
	if _, err := t.exec(ctx, `DELETE FROM location_users WHERE token_id = $1 AND walk <> $2`, tokenID, walk); err != nil {
		return fmt.Errorf("store: prune the users of token %s's location: %w", tokenID, err)
	}
	return nil
}

// FindLocationUsers returns the location's active users whose clientUserId is one of ids or whose
// email key is one of emailKeys, once each, by clientUserId.
func (t *tx) FindLocationUsers(ctx context.Context, tokenID string, ids, emailKeys []string) ([]LocationUser, error) {
	seen := map[string]bool{}
	var out []LocationUser
	find := func(col string, keys []string) error {
		for _, part := range chunks(keys) {
			found, err := queryAll(ctx, t, scanLocationUser, `SELECT client_user_id, email_key, status, invite_code, id_hash
				FROM location_users WHERE token_id = $1 AND `+col+` IN (`+placeholders(2, len(part))+`)`,
				append([]any{tokenID}, anySlice(part)...)...)
			if err != nil {
				return fmt.Errorf("store: look up users of token %s's location: %w", tokenID, err)
			}
			for _, u := range found {
				if !seen[u.ClientUserID] {
					seen[u.ClientUserID] = true
					u.TokenID = tokenID
					out = append(out, u)
				}
			}
		}
		return nil
	}
	if err := find("client_user_id", ids); err != nil {
		return nil, err
	}
	if err := find("email_key", emailKeys); err != nil {
		return nil, err
	}
	return out, nil
}

func scanLocationUser(row scanner) (LocationUser, error) {
	var u LocationUser
	err := row.Scan(&u.ClientUserID, &u.EmailKey, &u.Status, &u.InviteCode, &u.IDHash)
	return u, err
}

// LocationUsersVersion returns the users versionId the token's location_users are complete at
// ("": never complete).
func (t *tx) LocationUsersVersion(ctx context.Context, tokenID string) (string, error) {
	var v string
	err := t.queryRow(ctx, `SELECT users_index_version FROM tokens WHERE id = $1`, tokenID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: token %s: %w", tokenID, ErrNotFound)
	}
	if err != nil {
		return "", t.s.mapErr(err)
	}
	return v, nil
}

// SetLocationUsersVersion records the users versionId the token's location_users are complete at.
func (t *tx) SetLocationUsersVersion(ctx context.Context, tokenID, version string) error {
	r, err := t.exec(ctx, `UPDATE tokens SET users_index_version = $2 WHERE id = $1`, tokenID, version)
	if err != nil {
		return fmt.Errorf("store: record the users version of token %s's location: %w", tokenID, err)
	}
	return mustAffect(r, "token "+tokenID)
}

// inChunk is how many keys one IN list carries.
const inChunk = 500

// chunks splits keys into IN lists of at most inChunk keys.
func chunks(keys []string) [][]string {
	var out [][]string
	for len(keys) > 0 {
		k := min(inChunk, len(keys))
		out = append(out, keys[:k])
		keys = keys[k:]
	}
	return out
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// placeholders returns n numbered placeholders from $first, comma separated.
func placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}
