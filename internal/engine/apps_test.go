package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

const (
	appPages = "1600000001"
	appCard  = "1600000007"
)

// addApps gives the env's location two apps: one device-assignable for iPhone and iPad, one for
// users only.
func (e *env) addApps() {
	e.t.Helper()
	for _, a := range []applesim.AppSpec{
		{AdamID: appPages, Name: "Pages", Developer: "Apple", Licenses: 50, BundleID: "com.apple.Pages",
			DeviceFamilies: []string{"iphone", "ipad"}, Version: "14.1"},
		{AdamID: appCard, Name: "Library Card", Developer: "Springfield", Licenses: 5, NotDeviceAssignable: true,
			BundleID: "org.springfield.card", Platforms: []string{"iOS"}, Price: 1.99},
	} {
		if err := e.sim.AddApp(e.loc.UID, a); err != nil {
			e.t.Fatal(err)
		}
	}
}

// A sync records the location's apps beside its books, with Apple's flags, platforms and counts
// and the lookup's bundle id, version and price; the books' views and counts stay books only.
func TestApps_syncRecordsAppsBesideBooks(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		apps, err := e.eng.ListApps(ctx, engine.AppFilter{TokenID: tok.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 {
			t.Fatalf("apps = %+v, want Pages and Library Card", apps)
		}
		pages := apps[0]
		if pages.Name != "Pages" || pages.Developer != "Apple" || pages.BundleID != "com.apple.Pages" || pages.Version != "14.1" ||
			pages.Price != "Free" || !pages.Revocable || !pages.DeviceAssignable || pages.Total != 50 || pages.Available != 50 ||
			strings.Join(pages.Platforms, ",") != "iOS" || pages.ID != engine.AssetID(tok.ID, appPages, "STDQ") {
			t.Errorf("Pages = %+v", pages)
		}
		if card := apps[1]; card.DeviceAssignable || card.Price != "$1.99" || card.BundleID != "org.springfield.card" {
			t.Errorf("Library Card = %+v", card)
		}
		books, err := e.eng.ListBooks(ctx, engine.BookFilter{TokenID: tok.ID})
		if err != nil || len(books) != 3 {
			t.Errorf("books = %d (%v), want the location's 3 books only", len(books), err)
		}
		if got, _ := e.eng.GetToken(ctx, tok.ID); got.BookCount != 3 {
			t.Errorf("token counts %d books, want 3", got.BookCount)
		}
		yes, no := true, false
		for _, f := range []struct {
			filter engine.AppFilter
			want   string
		}{
			{engine.AppFilter{Platform: "ios"}, "Pages,Library Card"},
			{engine.AppFilter{DeviceAssignable: &yes}, "Pages"},
			{engine.AppFilter{DeviceAssignable: &no}, "Library Card"},
			{engine.AppFilter{NameContains: "card"}, "Library Card"},
			{engine.AppFilter{BundleID: "COM.APPLE.PAGES"}, "Pages"},
			{engine.AppFilter{MinAvailable: 10}, "Pages"},
			{engine.AppFilter{Platform: "macOS"}, ""},
		} {
			got, err := e.eng.ListApps(ctx, f.filter)
			var names []string
			for _, a := range got {
				names = append(names, a.Name)
			}
			if err != nil || strings.Join(names, ",") != f.want {
				t.Errorf("ListApps(%+v) = %v, %v; want %q", f.filter, names, err, f.want)
			}
		}
		if a, err := e.eng.FindApp(ctx, "", "com.apple.pages", "", ""); err != nil || a.AdamID != appPages {
			t.Errorf("FindApp(bundle id) = %+v, %v", a, err)
		}
		if _, err := e.eng.FindApp(ctx, "", "", tok.ID, ""); !errors.Is(err, engine.ErrAmbiguous) || !strings.Contains(err.Error(), "2 apps match") {
			t.Errorf("FindApp(token only) = %v, want 2 apps match", err)
		}
	})
}

// An app is not a book, nor a book an app: reading or assigning one under the other's name is
// refused, naming both, and nothing is sent to Apple.
func TestApps_aBookIsNotAnApp(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		appID, bookID := engine.AssetID(tok.ID, appPages, "STDQ"), engine.BookID(tok.ID, bookA, "STDQ")
		var pe *engine.ProductError
		if _, err := e.eng.GetBook(ctx, appID); !errors.As(err, &pe) || !errors.Is(err, engine.ErrInvalidInput) ||
			err.Error() != appID+` names an app ("Pages"), not a book` {
			t.Errorf("GetBook(app) = %v", err)
		}
		if _, err := e.eng.GetApp(ctx, bookID); !errors.As(err, &pe) || pe.Want != engine.KindApp || pe.Got != engine.KindBook {
			t.Errorf("GetApp(book) = %v", err)
		}
		if _, err := e.eng.GetApp(ctx, engine.AssetID(tok.ID, "999", "STDQ")); !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "app") {
			t.Errorf("GetApp(missing) = %v, want an app not found", err)
		}
		g := e.group("Readers", false, "ann@example.com")
		e.sim.ResetStats()
		in := engine.AssignmentInput{BookID: appID, GroupID: g.ID, Intent: engine.IntentRequired}
		if _, err := e.eng.Forecast(ctx, in, nil); !errors.As(err, &pe) {
			t.Errorf("Forecast(app) = %v, want a ProductError", err)
		}
		if _, err := e.eng.CreateAssignment(ctx, in); !errors.As(err, &pe) {
			t.Errorf("CreateAssignment(app) = %v, want a ProductError", err)
		}
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("%d POSTs sent to Apple, want none", n)
		}
	})
}
