package applesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// lookupResults asks the lookup for ids with the env's token and returns each result's raw JSON.
func (e *env) lookupResults(ids string) map[string]json.RawMessage {
	e.t.Helper()
	req := e.request(http.MethodGet, lookupPath+"?version=2&p=mdm-lockup&caller=MDM&platform=enterprisestore&cc=us&l=en&id="+ids, "", nil)
	req.AddCookie(&http.Cookie{Name: "itvt", Value: e.token})
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results map[string]json.RawMessage `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("lookup %s: %d, %v", ids, resp.StatusCode, err)
	}
	return body.Results
}

// wireApp is an app's lookup result as clients read it.
type wireApp struct {
	Kind           string   `json:"kind"`
	BundleID       string   `json:"bundleId"`
	DeviceFamilies []string `json:"deviceFamilies"`
	Offers         []struct {
		Type           string   `json:"type"`
		Price          *float64 `json:"price"`
		PriceFormatted string   `json:"priceFormatted"`
		Version        struct {
			Display    string `json:"display"`
			ExternalID *int64 `json:"externalId"`
		} `json:"version"`
	} `json:"offers"`
}

func TestLookup_servesAppMetadata(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddBook("100", 5)
	e.mustAddApp("200", 5) // every default
	for _, a := range []AppSpec{
		{AdamID: "300", Name: "Notes Pro", Licenses: 3, BundleID: "com.example.notes", DeviceFamilies: []string{"mac"},
			Version: "5.1", Price: 4.99, NotRevocable: true, NotDeviceAssignable: true},
		{AdamID: "400", Name: "Atlas", Licenses: 3, Platforms: []string{"iOS", "macOS"}, Price: 9.99, PriceFormatted: "9,99 €"},
	} {
		if err := e.sim.AddApp(e.uid, a); err != nil {
			t.Fatal(err)
		}
	}
	results := e.lookupResults("100,200,300,400")

	var book map[string]any
	if err := json.Unmarshal(results["100"], &book); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"bundleId", "deviceFamilies", "offers"} {
		if _, ok := book[key]; ok {
			t.Errorf("the book's lookup result has %q: %s", key, results["100"])
		}
	}

	for _, tc := range []struct {
		adamID, bundleID, version, priceFormatted string
		families, platforms                       []string
		price                                     float64
		revocable, deviceAssignable               bool
	}{
		{"200", "com.example.app200", "1.0", "Free", []string{"iphone", "ipad"}, []string{"iOS"}, 0, true, true},
		{"300", "com.example.notes", "5.1", "$4.99", []string{"mac"}, []string{"macOS"}, 4.99, false, false},
		{"400", "com.example.app400", "1.0", "9,99 €", []string{"iphone", "ipad", "mac"}, []string{"iOS", "macOS"}, 9.99, true, true},
	} {
		var app wireApp
		if err := json.Unmarshal(results[tc.adamID], &app); err != nil {
			t.Fatal(err)
		}
		if app.Kind != "software" || app.BundleID != tc.bundleID || !slices.Equal(app.DeviceFamilies, tc.families) || len(app.Offers) != 1 {
			t.Errorf("app %s: %s", tc.adamID, results[tc.adamID])
			continue
		}
		o := app.Offers[0]
		if o.Type != "buy" || o.Price == nil || *o.Price != tc.price || o.PriceFormatted != tc.priceFormatted ||
			o.Version.Display != tc.version || o.Version.ExternalID == nil || *o.Version.ExternalID <= 0 {
			t.Errorf("app %s offer: %s", tc.adamID, results[tc.adamID])
		}
		a, _ := e.sim.Asset(e.uid, tc.adamID, "")
		if !slices.Equal(a.SupportedPlatforms, tc.platforms) || a.Revocable != tc.revocable || a.DeviceAssignable != tc.deviceAssignable {
			t.Errorf("asset %s: %+v", tc.adamID, a)
		}
	}
}

// The flags of AppSpec reach the asset rules: a user-only app refuses serial numbers (9707), an
// irrevocable one refuses disassociation (9706); a default app accepts both.
func TestAddApp_flagsGovernAssignments(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddApp("200", 5)
	for _, a := range []AppSpec{
		{AdamID: "300", Name: "User-only", Licenses: 5, NotDeviceAssignable: true},
		{AdamID: "400", Name: "Irrevocable", Licenses: 5, NotRevocable: true},
	} {
		if err := e.sim.AddApp(e.uid, a); err != nil {
			t.Fatal(err)
		}
	}
	e.mustCreateUsers("u1")
	e.expectError(e.do("POST", "/assets/associate", e.token, map[string]any{"assets": assets("300"), "serialNumbers": ids{"S1"}}), 400, 9707)
	e.expectError(e.do("POST", "/assets/disassociate", e.token, map[string]any{"assets": assets("400"), "clientUserIds": ids{"u1"}}), 400, 9706)
	if st := e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}}); st.EventStatus != EventComplete {
		t.Fatalf("device assignment of a default app: %+v", st)
	}
	if st := e.run("/assets/disassociate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}}); st.EventStatus != EventComplete {
		t.Fatalf("disassociation of a default app: %+v", st)
	}
}

func TestAddApp_refusesAnUnusablePrice(t *testing.T) {
	e := newEnv(t, testOptions())
	for _, price := range []float64{-0.99, math.NaN(), math.Inf(1)} {
		err := e.sim.AddApp(e.uid, AppSpec{AdamID: "200", Name: "App", Licenses: 1, Price: price})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "app 200 has price") {
			t.Errorf("price %v: %v, want ErrInvalid naming the app and its price", price, err)
		}
	}
	if _, ok := e.sim.Asset(e.uid, "200", ""); ok {
		t.Error("an app with an unusable price was added")
	}
}

// App metadata survives SaveState and LoadState: the lookup answers the same.
func TestSaveLoadState_keepsAppMetadata(t *testing.T) {
	e := newEnv(t, testOptions())
	if err := e.sim.AddApp(e.uid, AppSpec{AdamID: "300", Name: "Notes", BundleID: "com.example.notes", DeviceFamilies: []string{"mac"}, Version: "5.1", Price: 4.99}); err != nil {
		t.Fatal(err)
	}
	appFields := func(raw json.RawMessage) (a wireApp) {
		if err := json.Unmarshal(raw, &a); err != nil || a.BundleID == "" {
			t.Fatalf("lookup result %s: %v", raw, err)
		}
		return a
	}
	before := appFields(e.lookupResults("300")["300"])
	if after := appFields(e.reloaded(testOptions()).lookupResults("300")["300"]); !reflect.DeepEqual(after, before) {
		a, _ := json.Marshal(after)
		b, _ := json.Marshal(before)
		t.Errorf("lookup after load %s, before %s", a, b)
	}
}

// reloaded returns the env's location and token served by a new simulator with opts that loaded
// the state this one saved, as the next process would.
func (e *env) reloaded(opts Options) *env {
	e.t.Helper()
	var buf bytes.Buffer
	if err := e.sim.SaveState(&buf); err != nil {
		e.t.Fatal(err)
	}
	sim := New(opts)
	e.t.Cleanup(sim.Close)
	if err := sim.LoadState(&buf); err != nil {
		e.t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	e.t.Cleanup(ts.Close)
	return &env{t: e.t, sim: sim, ts: ts, uid: e.uid, token: e.token}
}
