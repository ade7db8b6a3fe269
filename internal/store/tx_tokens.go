package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const tokenCols = `id, COALESCE(location_uid, ''), display_name, apple_id, account_type, organization_name,
	location_name, country_code, platform, website_url, expires_at, secret, secret_sealed, state,
	state_detail, last_sync_at, last_sync_status, last_sync_error, users_version, assign_version,
	assets_version, deliveries_gen, deliveries_recorded, held, created_at, updated_at`

// sealSecret returns the stored form of a token's secret.
func (t *tx) sealSecret(id, secret string) (string, bool, error) {
	if t.s.aead == nil || secret == "" {
		return secret, false, nil
	}
	v, err := t.s.seal(secret, tokenAAD(id))
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

func (t *tx) InsertToken(ctx context.Context, tk Token) error {
	if tk.ID == "" {
		return errors.New("store: InsertToken: the token ID is required")
	}
	now := nowUTC()
	tk.CreatedAt = orNow(tk.CreatedAt, now)
	tk.UpdatedAt = orNow(tk.UpdatedAt, now)
	secret, sealed, err := t.sealSecret(tk.ID, tk.Secret)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO tokens (id, location_uid, display_name, apple_id, account_type,
		organization_name, location_name, country_code, platform, website_url, expires_at, secret,
		secret_sealed, state, state_detail, last_sync_at, last_sync_status, last_sync_error,
		users_version, assign_version, assets_version, held, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		tk.ID, nullIfEmpty(tk.LocationUID), tk.DisplayName, tk.AppleID, tk.AccountType,
		tk.OrganizationName, tk.LocationName, tk.CountryCode, tk.Platform, tk.WebsiteURL,
		ms(tk.ExpiresAt), secret, sealed, tk.State, tk.StateDetail, ms(tk.LastSyncAt),
		tk.LastSyncStatus, tk.LastSyncError, tk.UsersVersion, tk.AssignVersion, tk.AssetsVersion,
		tk.Held, ms(tk.CreatedAt), ms(tk.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: insert token %s: %w", tk.ID, err)
	}
	return nil
}

func (t *tx) UpdateToken(ctx context.Context, tk Token) error {
	tk.UpdatedAt = orNow(tk.UpdatedAt, nowUTC())
	secret, sealed, err := t.sealSecret(tk.ID, tk.Secret)
	if err != nil {
		return err
	}
	r, err := t.exec(ctx, `UPDATE tokens SET location_uid = $2, display_name = $3, apple_id = $4,
		account_type = $5, organization_name = $6, location_name = $7, country_code = $8,
		platform = $9, website_url = $10, expires_at = $11, secret = $12, secret_sealed = $13,
		state = $14, state_detail = $15, last_sync_at = $16, last_sync_status = $17,
		last_sync_error = $18, users_version = $19, assign_version = $20, assets_version = $21,
		updated_at = $22, held = $23
		WHERE id = $1`,
		tk.ID, nullIfEmpty(tk.LocationUID), tk.DisplayName, tk.AppleID, tk.AccountType,
		tk.OrganizationName, tk.LocationName, tk.CountryCode, tk.Platform, tk.WebsiteURL,
		ms(tk.ExpiresAt), secret, sealed, tk.State, tk.StateDetail, ms(tk.LastSyncAt),
		tk.LastSyncStatus, tk.LastSyncError, tk.UsersVersion, tk.AssignVersion, tk.AssetsVersion,
		ms(tk.UpdatedAt), tk.Held)
	if err != nil {
		return fmt.Errorf("store: update token %s: %w", tk.ID, err)
	}
	return mustAffect(r, "token "+tk.ID)
}

type scanner interface{ Scan(dest ...any) error }

func (t *tx) scanToken(row scanner) (Token, error) {
	var tk Token
	var expires, lastSync, created, updated int64
	var secret string
	var sealed bool
	if err := row.Scan(&tk.ID, &tk.LocationUID, &tk.DisplayName, &tk.AppleID, &tk.AccountType,
		&tk.OrganizationName, &tk.LocationName, &tk.CountryCode, &tk.Platform, &tk.WebsiteURL,
		&expires, &secret, &sealed, &tk.State, &tk.StateDetail, &lastSync, &tk.LastSyncStatus,
		&tk.LastSyncError, &tk.UsersVersion, &tk.AssignVersion, &tk.AssetsVersion, &tk.DeliveriesGen,
		&tk.DeliveriesRecorded, &tk.Held, &created, &updated); err != nil {
		return Token{}, err
	}
	tk.ExpiresAt, tk.LastSyncAt = fromMS(expires), fromMS(lastSync)
	tk.CreatedAt, tk.UpdatedAt = fromMS(created), fromMS(updated)
	if sealed {
		if t.s.aead == nil {
			return Token{}, fmt.Errorf("store: token %s: %w", tk.ID, ErrKeyRequired)
		}
		pt, err := t.s.open(secret, tokenAAD(tk.ID))
		if err != nil {
			return Token{}, fmt.Errorf("store: token %s: the configured key does not open its secret: %w", tk.ID, ErrWrongKey)
		}
		tk.Secret = pt
	} else {
		tk.Secret = secret
	}
	return tk, nil
}

func (t *tx) getToken(ctx context.Context, where, what string, arg any) (Token, error) {
	tk, err := t.scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Token{}, t.s.mapErr(err)
	}
	return tk, nil
}

const tokenByIDQuery = `SELECT ` + tokenCols + ` FROM tokens WHERE id = $1`

func (t *tx) GetToken(ctx context.Context, id string) (Token, error) {
	tk, err := t.scanToken(t.queryRow(ctx, tokenByIDQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: token %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Token{}, t.s.mapErr(err)
	}
	return tk, nil
}

func (t *tx) TouchDeliveries(ctx context.Context, tokenIDs ...string) error {
	for _, id := range tokenIDs {
		if _, err := t.exec(ctx, `UPDATE tokens SET deliveries_gen = deliveries_gen + 1 WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: touch deliveries of token %s: %w", id, err)
		}
	}
	return nil
}

func (t *tx) SetDeliveriesRecorded(ctx context.Context, tokenID string, gen int64) error {
	_, err := t.exec(ctx, `UPDATE tokens SET deliveries_recorded = $2 WHERE id = $1 AND deliveries_recorded < $2`, tokenID, gen)
	if err != nil {
		return fmt.Errorf("store: record deliveries of token %s: %w", tokenID, err)
	}
	return nil
}

func (t *tx) GetTokenByLocation(ctx context.Context, locationUID string) (Token, error) {
	if locationUID == "" {
		return Token{}, fmt.Errorf("store: token for an empty location: %w", ErrNotFound)
	}
	return t.getToken(ctx, `location_uid = $1`, "token for location "+locationUID, locationUID)
}

func (t *tx) ListTokens(ctx context.Context) ([]Token, error) {
	return queryAll(ctx, t, t.scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY `+t.ord("id"))
}

func (t *tx) DeleteToken(ctx context.Context, id string) error {
	// Children first, explicitly (the foreign keys cascade too).
	return t.deleteRecord(ctx, "token", "tokens", id,
		`DELETE FROM deliveries WHERE assignment_id IN (SELECT id FROM assignments WHERE token_id = $1)`,
		`DELETE FROM assignments WHERE token_id = $1`,
		`DELETE FROM licenses WHERE token_id = $1`,
		`DELETE FROM vpp_users WHERE token_id = $1`,
		`DELETE FROM location_users WHERE token_id = $1`,
		`DELETE FROM assets WHERE token_id = $1`,
		`DELETE FROM journal WHERE token_id = $1`)
}

// verifyAnySealed checks that the configured key opens a sealed token (used when a database
// holds sealed tokens but no key check value).
func (t *tx) verifyAnySealed(ctx context.Context) error {
	var id, secret string
	err := t.queryRow(ctx, `SELECT id, secret FROM tokens WHERE secret_sealed = TRUE ORDER BY id LIMIT 1`).Scan(&id, &secret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return t.s.mapErr(err)
	}
	if _, err := t.s.open(secret, tokenAAD(id)); err != nil {
		return fmt.Errorf("%w: the configured key does not open the tokens in the engine database %s; configure the key it was written with", ErrWrongKey, t.s.where)
	}
	return nil
}

// sealPlaintextTokens seals every token secret stored in clear.
func (t *tx) sealPlaintextTokens(ctx context.Context) (int, error) {
	type pair struct{ id, secret string }
	todo, err := queryAll(ctx, t, func(row scanner) (p pair, err error) {
		err = row.Scan(&p.id, &p.secret)
		return p, err
	}, `SELECT id, secret FROM tokens WHERE secret_sealed = FALSE AND secret <> '' ORDER BY id`)
	if err != nil {
		return 0, err
	}
	for _, p := range todo {
		sealed, err := t.s.seal(p.secret, tokenAAD(p.id))
		if err != nil {
			return 0, err
		}
		if _, err := t.exec(ctx, `UPDATE tokens SET secret = $2, secret_sealed = TRUE WHERE id = $1 AND secret_sealed = FALSE`, p.id, sealed); err != nil {
			return 0, fmt.Errorf("store: seal token %s: %w", p.id, err)
		}
	}
	return len(todo), nil
}
