package store

import (
	"context"
	"fmt"
)

// ---- licenses -----------------------------------------------------------------------------
//
// A license is held by a user (the licenses table, keyed by clientUserId) or by a device (the
// device_licenses table, keyed by serial number: Apple's device-based licensing). The two tables
// have one shape; holderTable says which a holder's rows are in, and every method here reads or
// writes both.

// holderTable is one of the two license tables: its name and the column naming the holder.
type holderTable struct{ name, holder, what string }

var (
	userLicenses   = holderTable{"licenses", "client_user_id", "users"}
	deviceLicenses = holderTable{"device_licenses", "serial_number", "devices"}
	licenseTables  = []holderTable{userLicenses, deviceLicenses}
)

// holderOf is the license's holder in its table: the clientUserId, or the serial number.
func (h holderTable) holderOf(l License) string {
	if h == deviceLicenses {
		return l.SerialNumber
	}
	return l.ClientUserID
}

// rowsOf are the licenses held in table h.
func (h holderTable) rowsOf(ls []License) []License {
	var out []License
	for _, l := range ls {
		if (l.SerialNumber != "") == (h == deviceLicenses) {
			out = append(out, l)
		}
	}
	return out
}

// idsOf are the holders h names of table t.
func (h Holders) idsOf(t holderTable) []string {
	if t == deviceLicenses {
		return h.SerialNumbers
	}
	return h.ClientUserIDs
}

func (t *tx) insertLicenses(ctx context.Context, licenses []License) error {
	for _, h := range licenseTables {
		rows := dedupe(h.rowsOf(licenses), licenseKey)
		tail := `ON CONFLICT (token_id, adam_id, pricing_param, ` + h.holder + `) DO UPDATE SET assigned_at = excluded.assigned_at`
		err := t.bulk(ctx, `INSERT INTO `+h.name+` (token_id, adam_id, pricing_param, `+h.holder+`, assigned_at)`, 5,
			tail, len(rows), func(i int, a []any) {
				l := rows[i]
				a[0], a[1], a[2], a[3], a[4] = l.TokenID, l.AdamID, l.PricingParam, h.holderOf(l), ms(l.AssignedAt)
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func licenseKey(l License) string {
	return l.TokenID + "\x00" + l.AdamID + "\x00" + l.PricingParam + "\x00" + l.ClientUserID + "\x00" + l.SerialNumber
}

func (t *tx) UpsertLicenses(ctx context.Context, licenses []License) error {
	if err := t.requireParents(ctx, "tokens", "token", collect(licenses, func(l License) string { return l.TokenID })...); err != nil {
		return err
	}
	if err := t.insertLicenses(ctx, licenses); err != nil {
		return fmt.Errorf("store: upsert licenses: %w", err)
	}
	return nil
}

// deleteHeld deletes the rows of table h matching where (with args, from $1) and, unless all, held
// by one of ids.
func (t *tx) deleteHeld(ctx context.Context, h holderTable, where string, args []any, ids []string, all bool) error {
	q := `DELETE FROM ` + h.name + ` WHERE ` + where
	if all {
		_, err := t.exec(ctx, q, args...)
		return err
	}
	for _, part := range chunks(ids) {
		if _, err := t.exec(ctx, q+` AND `+h.holder+` IN (`+placeholders(len(args)+1, len(part))+`)`,
			append(append([]any{}, args...), anySlice(part)...)...); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ReplaceHolderLicenses(ctx context.Context, tokenID string, hs Holders, licenses []License) error {
	for _, l := range licenses {
		if l.TokenID != tokenID {
			return fmt.Errorf("store: ReplaceHolderLicenses for token %s given a license of token %s", tokenID, l.TokenID)
		}
	}
	if err := t.requireParents(ctx, "tokens", "token", tokenID); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: replace the licenses of %d users and %d devices of token %s: %w",
			len(hs.ClientUserIDs), len(hs.SerialNumbers), tokenID, err)
	}
	for _, h := range licenseTables {
		if err := t.deleteHeld(ctx, h, `token_id = $1`, []any{tokenID}, hs.idsOf(h), false); err != nil {
			return fail(err)
		}
	}
	if err := t.insertLicenses(ctx, licenses); err != nil {
		return fail(err)
	}
	return nil
}

func (t *tx) ReplaceAssetLicenses(ctx context.Context, tokenID, adamID, pricingParam string, hs *Holders, licenses []License) error {
	for _, l := range licenses {
		if l.TokenID != tokenID || l.AdamID != adamID || l.PricingParam != pricingParam {
			return fmt.Errorf("store: ReplaceAssetLicenses for %s/%s/%s given a license of %s/%s/%s", tokenID, adamID, pricingParam, l.TokenID, l.AdamID, l.PricingParam)
		}
	}
	if err := t.requireParents(ctx, "tokens", "token", tokenID); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: replace the licenses of asset %s/%s of token %s: %w", adamID, pricingParam, tokenID, err)
	}
	for _, h := range licenseTables {
		var ids []string
		if hs != nil {
			ids = hs.idsOf(h)
		}
		if err := t.deleteHeld(ctx, h, `token_id = $1 AND adam_id = $2 AND pricing_param = $3`,
			[]any{tokenID, adamID, pricingParam}, ids, hs == nil); err != nil {
			return fail(err)
		}
	}
	if err := t.insertLicenses(ctx, licenses); err != nil {
		return fail(err)
	}
	return nil
}

func (t *tx) ReplaceLicenses(ctx context.Context, tokenID string, licenses []License) error {
	ls := make([]License, len(licenses))
	for i, l := range licenses {
		if l.TokenID == "" {
			l.TokenID = tokenID
		}
		if l.TokenID != tokenID {
			return fmt.Errorf("store: ReplaceLicenses for token %s given a license of token %s", tokenID, l.TokenID)
		}
		ls[i] = l
	}
	if err := t.requireParents(ctx, "tokens", "token", tokenID); err != nil {
		return err
	}
	for _, h := range licenseTables {
		if err := t.deleteHeld(ctx, h, `token_id = $1`, []any{tokenID}, nil, true); err != nil {
			return fmt.Errorf("store: replace licenses of token %s: %w", tokenID, err)
		}
	}
	if err := t.insertLicenses(ctx, ls); err != nil {
		return fmt.Errorf("store: replace licenses of token %s: %w", tokenID, err)
	}
	return nil
}

func (t *tx) ListLicenses(ctx context.Context, tokenID string) ([]License, error) {
	var out []License
	err := t.EachLicense(ctx, tokenID, func(l License) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) EachLicense(ctx context.Context, tokenID string, fn func(License) error) error {
	for _, h := range licenseTables {
		if err := t.eachLicenseIn(ctx, h, tokenID, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) eachLicenseIn(ctx context.Context, h holderTable, tokenID string, fn func(License) error) error {
	rows, err := t.query(ctx, `SELECT token_id, adam_id, pricing_param, `+h.holder+`, assigned_at
		FROM `+h.name+` WHERE token_id = $1
		ORDER BY `+t.ord("adam_id")+`, `+t.ord("pricing_param")+`, `+t.ord(h.holder), tokenID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := h.scan(rows)
		if err != nil {
			return t.s.mapErr(err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return t.s.mapErr(rows.Err())
}

// scan reads one row of table h (token, asset, holder, assigned_at).
func (h holderTable) scan(row scanner) (License, error) {
	var l License
	var at int64
	holder := &l.ClientUserID
	if h == deviceLicenses {
		holder = &l.SerialNumber
	}
	err := row.Scan(&l.TokenID, &l.AdamID, &l.PricingParam, holder, &at)
	l.AssignedAt = fromMS(at)
	return l, err
}

func (t *tx) ListHolderLicenses(ctx context.Context, tokenID, adamID, pricingParam string, hs Holders) ([]License, error) {
	var out []License
	for _, h := range licenseTables {
		for _, part := range chunks(sortedUnique(hs.idsOf(h))) {
			found, err := queryAll(ctx, t, h.scan, `SELECT token_id, adam_id, pricing_param, `+h.holder+`, assigned_at
				FROM `+h.name+` WHERE token_id = $1 AND adam_id = $2 AND pricing_param = $3 AND `+h.holder+` IN (`+placeholders(4, len(part))+`)`,
				append([]any{tokenID, adamID, pricingParam}, anySlice(part)...)...)
			if err != nil {
				return nil, fmt.Errorf("store: read the licenses of asset %s/%s held by %d %s of token %s: %w",
					adamID, pricingParam, len(hs.idsOf(h)), h.what, tokenID, err)
			}
			out = append(out, found...)
		}
	}
	return out, nil
}
