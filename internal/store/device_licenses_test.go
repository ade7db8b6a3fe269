package store_test

import (
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// Licenses held by devices (serial numbers) are kept beside the users' in every license method:
// written, listed (users' first, then devices'), looked up by holder, and replaced by holder, by
// asset and for the whole token, without touching the other kind or another token's.
func TestDeviceLicensesBesideUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		s := storetest.OpenURL(t, storetest.URL(t, kind))
		insertToken(t, s, token("t1", "l1"), token("t2", "l2"))
		user := func(tok, adam, uid string) store.License {
			return store.License{TokenID: tok, AdamID: adam, PricingParam: "STDQ", ClientUserID: uid, AssignedAt: at(1)}
		}
		device := func(tok, adam, sn string) store.License {
			return store.License{TokenID: tok, AdamID: adam, PricingParam: "STDQ", SerialNumber: sn, AssignedAt: at(1)}
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpsertLicenses(ctx, []store.License{device("t1", "1", "SNB"), user("t1", "1", "u1"), device("t1", "1", "SNA"),
				device("t1", "2", "SNA"), device("t2", "1", "SNA"), device("t1", "1", "SNA")})
		})
		list := func(tok string) []store.License {
			return query(t, s, func(tx store.Tx) ([]store.License, error) { return tx.ListLicenses(ctx, tok) })
		}
		equal(t, "t1's licenses", list("t1"), []store.License{user("t1", "1", "u1"), device("t1", "1", "SNA"), device("t1", "1", "SNB"), device("t1", "2", "SNA")})
		held := query(t, s, func(tx store.Tx) ([]store.License, error) {
			return tx.ListHolderLicenses(ctx, "t1", "1", "STDQ", store.Holders{ClientUserIDs: []string{"u1"}, SerialNumbers: []string{"SNB", "NONE"}})
		})
		equal(t, "held by u1 and SNB", held, []store.License{user("t1", "1", "u1"), device("t1", "1", "SNB")})

		// By holder: SNA's licenses become what was read (app 2 only); u1's and SNB's stand.
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceHolderLicenses(ctx, "t1", store.Holders{SerialNumbers: []string{"SNA"}}, []store.License{device("t1", "2", "SNA")})
		})
		equal(t, "after SNA's were replaced", list("t1"), []store.License{user("t1", "1", "u1"), device("t1", "1", "SNB"), device("t1", "2", "SNA")})
		// By asset and holder: SNB gives app 1 back; u1 keeps it.
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceAssetLicenses(ctx, "t1", "1", "STDQ", &store.Holders{SerialNumbers: []string{"SNB"}}, nil)
		})
		equal(t, "after SNB gave app 1 back", list("t1"), []store.License{user("t1", "1", "u1"), device("t1", "2", "SNA")})
		// By asset: every holder of app 2 is replaced, the users' and the devices'.
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceAssetLicenses(ctx, "t1", "2", "STDQ", nil, []store.License{user("t1", "2", "u1"), device("t1", "2", "SND")})
		})
		equal(t, "after app 2 was replaced", list("t1"), []store.License{user("t1", "1", "u1"), user("t1", "2", "u1"), device("t1", "2", "SND")})
		// The whole token: devices too.
		mustTx(t, s, func(tx store.Tx) error {
			return tx.ReplaceLicenses(ctx, "t1", []store.License{device("t1", "1", "SNC")})
		})
		equal(t, "after the token's were replaced", list("t1"), []store.License{device("t1", "1", "SNC")})
		equal(t, "t2's licenses", list("t2"), []store.License{device("t2", "1", "SNA")})
	})
}
