package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ---- assets -------------------------------------------------------------------------------

func (t *tx) UpsertAssets(ctx context.Context, assets []Asset) error {
	assets = dedupe(assets, func(b Asset) string { return b.TokenID + "\x00" + b.AdamID + "\x00" + b.PricingParam })
	if err := t.requireParents(ctx, "tokens", "token", collect(assets, func(b Asset) string { return b.TokenID })...); err != nil {
		return err
	}
	lists := make([][2]string, len(assets))
	for i, b := range assets {
		g, err := encodeList(b.Genres)
		if err != nil {
			return err
		}
		f, err := encodeList(b.Platforms)
		if err != nil {
			return err
		}
		lists[i] = [2]string{g, f}
	}
	err := t.bulk(ctx, `INSERT INTO assets (token_id, adam_id, pricing_param, title, author, genres,
		language, cover_url, total, assigned, available, retired, metadata_at, synced_at,
		product_type, revocable, device_assignable, bundle_id, platforms, version, price)`, 21,
		`ON CONFLICT (token_id, adam_id, pricing_param) DO UPDATE SET title = excluded.title,
		author = excluded.author, genres = excluded.genres, language = excluded.language,
		cover_url = excluded.cover_url, total = excluded.total, assigned = excluded.assigned,
		available = excluded.available, retired = excluded.retired,
		metadata_at = excluded.metadata_at, synced_at = excluded.synced_at,
		product_type = excluded.product_type, revocable = excluded.revocable,
		device_assignable = excluded.device_assignable, bundle_id = excluded.bundle_id,
		platforms = excluded.platforms, version = excluded.version, price = excluded.price`,
		len(assets), func(i int, a []any) {
			b := assets[i]
			a[0], a[1], a[2], a[3], a[4], a[5] = b.TokenID, b.AdamID, b.PricingParam, b.Title, b.Author, lists[i][0]
			a[6], a[7], a[8], a[9], a[10], a[11] = b.Language, b.CoverURL, b.Total, b.Assigned, b.Available, b.Retired
			a[12], a[13] = ms(b.MetadataAt), ms(b.SyncedAt)
			a[14], a[15], a[16], a[17] = productOr(b.ProductType), b.Revocable, b.DeviceAssignable, b.BundleID
			a[18], a[19], a[20] = lists[i][1], b.Version, b.Price
		})
	if err != nil {
		return fmt.Errorf("store: upsert assets: %w", err)
	}
	return nil
}

// productOr is an asset's product type, Book when not given.
func productOr(p string) string {
	if p == "" {
		return ProductBook
	}
	return p
}

func (t *tx) DeleteAssetsExcept(ctx context.Context, tokenID string, keep []string) error {
	keepSet := make(map[string]bool, len(keep))
	for _, k := range keep {
		keepSet[k] = true
	}
	held, err := queryAll(ctx, t, func(row scanner) (b [2]string, err error) {
		err = row.Scan(&b[0], &b[1])
		return b, err
	}, `SELECT adam_id, pricing_param FROM assets WHERE token_id = $1`, tokenID)
	if err != nil {
		return err
	}
	var drop [][2]string
	for _, b := range held {
		if !keepSet[b[0]+"/"+b[1]] {
			drop = append(drop, b)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	st, err := t.tx.PrepareContext(ctx, `DELETE FROM assets WHERE token_id = $1 AND adam_id = $2 AND pricing_param = $3`)
	if err != nil {
		return t.s.mapErr(err)
	}
	t.stmts = append(t.stmts, st)
	for _, d := range drop {
		if _, err := st.ExecContext(ctx, tokenID, d[0], d[1]); err != nil {
			return fmt.Errorf("store: delete asset %s/%s: %w", d[0], d[1], t.s.mapErr(err))
		}
	}
	return nil
}

const assetCols = `token_id, adam_id, pricing_param, title, author, genres, language, cover_url,
	total, assigned, available, retired, metadata_at, synced_at, product_type, revocable,
	device_assignable, bundle_id, platforms, version, price`

func scanAsset(row scanner) (Asset, error) {
	var b Asset
	var genres, platforms string
	var meta, synced int64
	if err := row.Scan(&b.TokenID, &b.AdamID, &b.PricingParam, &b.Title, &b.Author, &genres,
		&b.Language, &b.CoverURL, &b.Total, &b.Assigned, &b.Available, &b.Retired, &meta, &synced,
		&b.ProductType, &b.Revocable, &b.DeviceAssignable, &b.BundleID, &platforms, &b.Version, &b.Price); err != nil {
		return Asset{}, err
	}
	g, err := decodeList(genres)
	if err != nil {
		return Asset{}, err
	}
	f, err := decodeList(platforms)
	if err != nil {
		return Asset{}, err
	}
	b.Genres, b.Platforms, b.MetadataAt, b.SyncedAt = g, f, fromMS(meta), fromMS(synced)
	return b, nil
}

func (t *tx) GetAsset(ctx context.Context, tokenID, adamID, pricingParam string) (Asset, error) {
	b, err := scanAsset(t.queryRow(ctx, `SELECT `+assetCols+` FROM assets
		WHERE token_id = $1 AND adam_id = $2 AND pricing_param = $3`, tokenID, adamID, pricingParam))
	if errors.Is(err, sql.ErrNoRows) {
		return Asset{}, fmt.Errorf("store: asset %s/%s of token %s: %w", adamID, pricingParam, tokenID, ErrNotFound)
	}
	return b, t.s.mapErr(err)
}

func (t *tx) ListAssets(ctx context.Context, f AssetFilter) ([]Asset, error) {
	var c conditions
	if f.TokenID != "" {
		c.add(`token_id = $?`, f.TokenID)
	}
	if f.AdamID != "" {
		c.add(`adam_id = $?`, f.AdamID)
	}
	if f.ProductType != "" {
		c.add(`product_type = $?`, f.ProductType)
	}
	if f.TitleContains != "" {
		c.add(`LOWER(title) LIKE LOWER($?) ESCAPE '\'`, likePattern(f.TitleContains))
	}
	if f.MinAvailable > 0 {
		c.add(`available >= $?`, f.MinAvailable)
	}
	q := `SELECT ` + assetCols + ` FROM assets` + c.clause()
	q += ` ORDER BY ` + t.ord("token_id") + `, ` + t.ord("adam_id") + `, ` + t.ord("pricing_param")
	return queryAll(ctx, t, scanAsset, q, c.args...)
}

// ---- VPP users ----------------------------------------------------------------------------

func (t *tx) UpsertVPPUsers(ctx context.Context, users []VPPUser) error {
	users = dedupe(users, func(u VPPUser) string { return u.TokenID + "\x00" + u.ClientUserID })
	if err := t.requireParents(ctx, "tokens", "token", collect(users, func(u VPPUser) string { return u.TokenID })...); err != nil {
		return err
	}
	now := nowUTC()
	err := t.bulk(ctx, `INSERT INTO vpp_users (token_id, client_user_id, email, managed, status,
		invite_code, invitation_url, id_hash, updated_at)`, 9,
		`ON CONFLICT (token_id, client_user_id) DO UPDATE SET email = excluded.email,
		managed = excluded.managed, status = excluded.status, invite_code = excluded.invite_code,
		invitation_url = excluded.invitation_url, id_hash = excluded.id_hash, updated_at = excluded.updated_at`,
		len(users), func(i int, a []any) {
			u := users[i]
			a[0], a[1], a[2], a[3] = u.TokenID, u.ClientUserID, u.Email, u.Managed
			a[4], a[5], a[6], a[7], a[8] = u.Status, u.InviteCode, u.InvitationURL, u.IDHash, ms(orNow(u.UpdatedAt, now))
		})
	if err != nil {
		return fmt.Errorf("store: upsert VPP users: %w", err)
	}
	return nil
}

func (t *tx) ListVPPUsers(ctx context.Context, tokenID string) ([]VPPUser, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM vpp_users WHERE token_id = $1`, tokenID).Scan(&n); err != nil {
		return nil, t.s.mapErr(err)
	}
	return queryAllSized(ctx, t, scanVPPUser, n, `SELECT token_id, client_user_id, email, managed, status, invite_code,
		invitation_url, id_hash, updated_at FROM vpp_users WHERE token_id = $1
		ORDER BY `+t.ord("email")+`, `+t.ord("client_user_id"), tokenID)
}

func scanVPPUser(row scanner) (VPPUser, error) {
	var u VPPUser
	var upd int64
	if err := row.Scan(&u.TokenID, &u.ClientUserID, &u.Email, &u.Managed, &u.Status,
		&u.InviteCode, &u.InvitationURL, &u.IDHash, &upd); err != nil {
		return VPPUser{}, err
	}
	u.UpdatedAt = fromMS(upd)
	return u, nil
}

// collect returns the distinct keys of items, in first-seen order.
func collect[T any](items []T, key func(T) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		if k := key(it); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// dedupe keeps the last of the items sharing a key, in first-seen order (one statement may not
// touch a row twice on PostgreSQL).
func dedupe[T any](in []T, key func(T) string) []T {
	if len(in) < 2 {
		return in
	}
	idx := make(map[string]int, len(in))
	out := make([]T, 0, len(in))
	for _, v := range in {
		k := key(v)
		if i, ok := idx[k]; ok {
			out[i] = v
			continue
		}
		idx[k] = len(out)
		out = append(out, v)
	}
	return out
}
