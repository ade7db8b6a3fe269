package apple

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	raw := map[string]json.RawMessage{
		"maxAssets":           json.RawMessage(`10`),
		"maxUsers":            json.RawMessage(`"50"`), // numeric string
		"maxClientUserIds":    json.RawMessage(`0`),    // nonsense keeps the default
		"maxSerialNumbers":    json.RawMessage(`"many"`),
		"maxRequestPerSecond": json.RawMessage(`20`),
		"maxSomethingNew":     json.RawMessage(`7`),
	}
	got := parseLimits(raw)
	want := DefaultLimits()
	want.MaxAssets, want.MaxUsers, want.MaxRequestPerSecond = 10, 50, 20
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if (Limits{}).withDefaults() != DefaultLimits() {
		t.Error("a zero Limits should fall back to the defaults")
	}
}

func TestOverLimitRefusedLocally(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
	})
	f.setLimits(map[string]any{
		"maxRequestPerSecond": 100000, "maxAssets": 2, "maxClientUserIds": 3, "maxSerialNumbers": 1,
		"maxRevokeClientUserIds": 1, "maxUsers": 2, "maxMdmNameLength": 5, "maxNotificationLength": 30,
	})
	c := f.client(t)
	ctx := context.Background()
	assets := func(n int) []AssetRef {
		var refs []AssetRef
		for i := range n {
			refs = append(refs, AssetRef{AdamID: fmt.Sprint(1000 + i), PricingParam: PricingSTDQ})
		}
		return refs
	}
	users := func(n int) []RequestUser {
		var us []RequestUser
		for i := range n {
			us = append(us, RequestUser{ClientUserID: fmt.Sprint("c", i)})
		}
		return us
	}
	url := "https://mdm.example.com/notify"
	long := "https://mdm.example.com/" + strings.Repeat("x", 30)
	secret, empty := "s3cr3t", ""

	overLimit := map[string]func() error{
		"assets": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: assets(3), ClientUserIDs: []string{"c1"}})
			return err
		},
		"clientUserIds": func() error {
			_, err := c.DisassociateAssets(ctx, ManageAssetsRequest{Assets: assets(1), ClientUserIDs: []string{"a", "b", "c", "d"}})
			return err
		},
		"serialNumbers": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: assets(1), SerialNumbers: []string{"s1", "s2"}})
			return err
		},
		"revoke clientUserIds": func() error {
			_, err := c.RevokeAssets(ctx, RevokeAssetsRequest{ClientUserIDs: []string{"a", "b"}})
			return err
		},
		"users": func() error { _, err := c.CreateUsers(ctx, users(3)); return err },
		"retire users": func() error {
			_, err := c.RetireUsers(ctx, users(3))
			return err
		},
		"mdm name": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{MDMInfo: &MDMInfo{ID: "id", Name: "too long", Metadata: "1"}})
			return err
		},
		"notification url": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{NotificationURL: &long, NotificationAuthToken: &secret})
			return err
		},
	}
	for name, call := range overLimit {
		t.Run(name, func(t *testing.T) {
			err := call()
			var le *LimitError
			if !errors.Is(err, ErrOverLimit) || !errors.As(err, &le) || le.Count <= le.Max {
				t.Errorf("got %v, want a LimitError", err)
			}
		})
	}

	plain := "http://mdm.example.com/notify"
	invalid := map[string]func() error{
		"no assets": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{ClientUserIDs: []string{"c1"}})
			return err
		},
		"no targets": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: assets(1)})
			return err
		},
		"duplicate assets": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: append(assets(1), assets(1)...), ClientUserIDs: []string{"c1"}})
			return err
		},
		"duplicate users": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: assets(1), ClientUserIDs: []string{"c1", "c1"}})
			return err
		},
		"empty adamId": func() error {
			_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: []AssetRef{{}}, ClientUserIDs: []string{"c1"}})
			return err
		},
		"revoke nothing":    func() error { _, err := c.RevokeAssets(ctx, RevokeAssetsRequest{}); return err },
		"no users":          func() error { _, err := c.CreateUsers(ctx, nil); return err },
		"duplicate users 2": func() error { _, err := c.UpdateUsers(ctx, append(users(1), users(1)...)); return err },
		"empty clientUserId": func() error {
			_, err := c.CreateUsers(ctx, []RequestUser{{Email: "a@example.com"}})
			return err
		},
		"incomplete mdmInfo": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{MDMInfo: &MDMInfo{ID: "id", Name: "n"}})
			return err
		},
		"url without token": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{NotificationURL: &url})
			return err
		},
		"url with empty token": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{NotificationURL: &url, NotificationAuthToken: &empty})
			return err
		},
		"plain http url": func() error {
			_, err := c.SetClientConfig(ctx, ClientConfigRequest{NotificationURL: &plain, NotificationAuthToken: &secret})
			return err
		},
		"empty event id": func() error { _, err := c.EventStatus(ctx, ""); return err },
		"lookup without platform": func() error {
			_, err := c.LookupMetadata(ctx, []string{"1"}, "", "US")
			return err
		},
	}
	for name, call := range invalid {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("got %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestSplitAssociations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		lim := DefaultLimits()
		lim.MaxAssets = 1 + rng.IntN(12)
		lim.MaxClientUserIDs = 1 + rng.IntN(150)
		nAssets, nUsers := rng.IntN(40), rng.IntN(400)
		if iter == 0 { // Apple's limits at full scale
			lim, nAssets, nUsers = DefaultLimits(), 26, 2001
		}
		assets := make([]AssetRef, nAssets)
		assetIndex := make(map[string]int, nAssets)
		for i := range assets {
			assets[i] = AssetRef{AdamID: fmt.Sprint(100000 + i), PricingParam: PricingSTDQ}
			assetIndex[assets[i].AdamID] = i
		}
		users := make([]string, nUsers)
		userIndex := make(map[string]int, nUsers)
		for i := range users {
			users[i] = fmt.Sprint("user-", i)
			userIndex[users[i]] = i
		}

		reqs := SplitAssociations(assets, users, lim)
		ceil := func(a, b int) int { return (a + b - 1) / b }
		// Each asset needs ceil(U/maxUsers) requests and the grid of chunks
		// achieves that for every asset at once (an exhaustive search over
		// small sizes found nothing better).
		want := ceil(nAssets, lim.MaxAssets) * ceil(nUsers, lim.MaxClientUserIDs)
		if len(reqs) != want {
			t.Fatalf("%d assets × %d users with %+v: %d requests, want %d", nAssets, nUsers, lim, len(reqs), want)
		}
		covered := make([]int, nAssets*nUsers)
		for _, r := range reqs {
			if err := r.validate(lim); err != nil {
				t.Fatalf("request refused: %v", err)
			}
			if len(r.SerialNumbers) != 0 {
				t.Fatal("unexpected serial numbers")
			}
			// Balanced: no chunk is smaller than an even split would make it.
			if len(r.Assets) < nAssets/ceil(nAssets, lim.MaxAssets) || len(r.ClientUserIDs) < nUsers/ceil(nUsers, lim.MaxClientUserIDs) {
				t.Fatalf("unbalanced chunk: %d assets, %d users", len(r.Assets), len(r.ClientUserIDs))
			}
			for _, a := range r.Assets {
				for _, u := range r.ClientUserIDs {
					covered[assetIndex[a.AdamID]*nUsers+userIndex[u]]++
				}
			}
		}
		for pair, n := range covered {
			if n != 1 {
				t.Fatalf("pair %d covered %d times, want once", pair, n)
			}
		}
	}
}

func TestSplitUsers(t *testing.T) {
	for _, tc := range []struct{ n, max, want int }{{0, 100, 0}, {1, 100, 1}, {100, 100, 1}, {101, 100, 2}, {250, 100, 3}, {7, 2, 4}} {
		var users []RequestUser
		for i := range tc.n {
			users = append(users, RequestUser{ClientUserID: fmt.Sprint("c", i)})
		}
		lim := DefaultLimits()
		lim.MaxUsers = tc.max
		batches := SplitUsers(users, lim)
		if len(batches) != tc.want {
			t.Fatalf("%d users by %d: %d batches, want %d", tc.n, tc.max, len(batches), tc.want)
		}
		var all []RequestUser
		for _, b := range batches {
			if len(b) > tc.max || len(b) < tc.n/max(tc.want, 1) {
				t.Fatalf("batch of %d", len(b))
			}
			all = append(all, b...)
		}
		for i, u := range all {
			if u != users[i] {
				t.Fatalf("batches do not cover the users in order")
			}
		}
		if len(batches) > 1 {
			// A batch must not grow into its neighbour.
			batches[0] = append(batches[0], RequestUser{ClientUserID: "x"})
			if batches[1][0] != users[len(batches[0])-1] {
				t.Error("appending to a batch overwrote the next one")
			}
		}
	}
}
