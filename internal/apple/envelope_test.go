package apple

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

var foreignMDM = &MDMInfo{ID: "522d5c43-44ca-4f7e-ba7a-53570cf60765", Name: "Apple Configurator 2", Metadata: "2.13.3"}

func TestMDMConflict(t *testing.T) {
	var claimed atomic.Pointer[MDMInfo]
	claimed.Store(foreignMDM)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		env := map[string]any{"uId": testUID, "mdmInfo": claimed.Load()}
		switch r.URL.Path {
		case "/mdm/v2/client/config":
			writeJSON(w, http.StatusOK, clientConfigBody(claimed.Load()))
		case "/mdm/v2/users":
			env["totalPages"] = 1
			writeJSON(w, http.StatusOK, env)
		case "/mdm/v2/assets/associate":
			env["eventId"] = "e-1"
			writeJSON(w, http.StatusOK, env)
		}
	})
	c := f.client(t, func(cfg *Config) { cfg.MDMID = testMDMID })
	ctx := context.Background()

	// GetClientConfig hands back the config so that the caller sees who holds the location.
	cc, err := c.GetClientConfig(ctx)
	var conflict *MDMConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, ErrMDMConflict) || cc == nil {
		t.Fatalf("got %+v, %v", cc, err)
	}
	if conflict.Ours != testMDMID || conflict.Found != *foreignMDM || cc.MDMInfo.Name != "Apple Configurator 2" {
		t.Errorf("conflict %+v, config %+v", conflict, cc)
	}

	if list, err := c.GetUsers(ctx, UserQuery{}); list != nil || !errors.Is(err, ErrMDMConflict) {
		t.Errorf("GetUsers: got %+v, %v", list, err)
	}

	// A write Apple accepted keeps its event alongside the conflict.
	ev, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: []AssetRef{{AdamID: "1"}}, ClientUserIDs: []string{"c"}})
	if ev == nil || ev.EventID != "e-1" || !errors.Is(err, ErrMDMConflict) {
		t.Errorf("AssociateAssets: got %+v, %v", ev, err)
	}

	// Our own mdmInfo, or none at all, is no conflict.
	for _, mdm := range []*MDMInfo{{ID: testMDMID, Name: "terraform-provider-vpp", Metadata: "1.0.0"}, nil} {
		claimed.Store(mdm)
		if _, err := c.GetClientConfig(ctx); err != nil {
			t.Errorf("mdmInfo %+v: %v", mdm, err)
		}
	}

	// Without an MDMID nothing is checked.
	claimed.Store(foreignMDM)
	if _, err := f.client(t).GetClientConfig(ctx); err != nil {
		t.Errorf("unchecked client: %v", err)
	}
}

func TestLocationMismatch(t *testing.T) {
	var uid atomic.Value
	uid.Store(testUID)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		body := clientConfigBody(nil)
		body["uId"] = uid.Load()
		writeJSON(w, http.StatusOK, body)
	})
	ctx := context.Background()

	t.Run("expected uId", func(t *testing.T) {
		c := f.client(t, func(cfg *Config) { cfg.LocationUID = "981060278089131045" })
		cc, err := c.GetClientConfig(ctx)
		var mismatch *LocationMismatchError
		if !errors.As(err, &mismatch) || !errors.Is(err, ErrLocationMismatch) || cc == nil {
			t.Fatalf("got %+v, %v", cc, err)
		}
		if mismatch.Expected != "981060278089131045" || mismatch.Got != testUID || cc.LocationName != "PS01" {
			t.Errorf("mismatch %+v", mismatch)
		}
	})

	t.Run("learnt from the first response", func(t *testing.T) {
		uid.Store(testUID)
		c := f.client(t)
		if c.LocationUID() != "" {
			t.Fatal("nothing learnt yet")
		}
		if _, err := c.GetClientConfig(ctx); err != nil {
			t.Fatal(err)
		}
		if c.LocationUID() != testUID {
			t.Fatalf("learnt %q", c.LocationUID())
		}
		uid.Store("981060278089131045")
		_, err := c.GetClientConfig(ctx)
		var mismatch *LocationMismatchError
		if !errors.As(err, &mismatch) || mismatch.Expected != testUID || mismatch.Got != "981060278089131045" {
			t.Errorf("got %v", err)
		}
	})

	// apple-api.md §3: every authenticated response carries the location's uId. One without it
	// cannot be told apart from an answer about another location.
	t.Run("absent uId is refused", func(t *testing.T) {
		uid.Store("")
		c := f.client(t, func(cfg *Config) { cfg.LocationUID = testUID })
		_, err := c.GetClientConfig(ctx)
		var mismatch *LocationMismatchError
		if !errors.As(err, &mismatch) || mismatch.Got != "" || !strings.Contains(err.Error(), "has no uId") {
			t.Errorf("got %v, want the missing uId named", err)
		}
	})
}

// A write Apple accepted whose answer lacks the uId: the event comes back with the error, so the
// caller keeps following it instead of forgetting work Apple may do.
func TestEventWithoutUIDKeepsTheEvent(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"eventId": "0f5c8b70-0000-4000-8000-000000000001"})
	})
	ev, err := f.client(t).CreateUsers(context.Background(), oneUser)
	var mismatch *LocationMismatchError
	if !errors.As(err, &mismatch) || ev == nil || ev.EventID != "0f5c8b70-0000-4000-8000-000000000001" {
		t.Fatalf("got %+v, %v; want the event and the missing uId", ev, err)
	}
}
