package apple

import (
	"encoding/json"
	"slices"
	"testing"
)

// A lookup answer shaped like the sample of Apple's legacy VPP web service reference: an app
// whose id is a number, with bundleId, deviceFamilies and offers, and a book without them.
const appAndBookLookup = `{
	"361309726": {
		"artistName": "Apple",
		"artwork": {"height": 1024, "url": "https://is5.mzstatic.com/image/thumb/x/source/{w}x{h}bb.{f}", "width": 1024},
		"bundleId": "com.apple.Pages",
		"deviceFamilies": ["iphone", "ipad", "ipod"],
		"genreNames": ["Productivity", "Business"],
		"id": 361309726,
		"kind": "iosSoftware",
		"name": "Pages",
		"nameRaw": "Pages",
		"offers": [
			{
				"actionText": {"long": "Buy App", "short": "Buy"},
				"assets": [{"flavor": "iosSoftware", "size": 278782033}],
				"buyParams": "productType=C&price=9990&salableAdamId=361309726&pricingParameters=STDQ&appExtVrsId=813292538",
				"price": 9.99,
				"priceFormatted": "$9.99",
				"type": "buy",
				"version": {"display": "2.5.5", "externalId": 813292538}
			},
			{"type": "get", "price": 0, "priceFormatted": "Free", "version": {"display": "2.5.4"}}
		],
		"url": "https://itunes.apple.com/us/app/pages/id361309726?mt=8"
	},
	"1590000002": {
		"id": "1590000002",
		"name": "Moby-Dick",
		"artistName": "Herman Melville",
		"genreNames": ["Fiction & Literature"],
		"kind": "ebook",
		"language": "en"
	}
}`

func TestDecodeLookupResults_appFieldsAndBooksWithout(t *testing.T) {
	got, err := decodeLookupResults([]byte(appAndBookLookup))
	if err != nil {
		t.Fatal(err)
	}
	app := got["361309726"]
	if app.ID != "361309726" || app.BundleID != "com.apple.Pages" || !slices.Equal(app.DeviceFamilies, []string{"iphone", "ipad", "ipod"}) || len(app.Offers) != 2 {
		t.Fatalf("app %+v", app)
	}
	want := Offer{Type: "buy", Price: 9.99, PriceFormatted: "$9.99", Version: OfferVersion{Display: "2.5.5", ExternalID: "813292538"}}
	if offer, ok := app.CurrentOffer(); !ok || offer != want {
		t.Errorf("current offer %+v (%v), want the first one, %+v", offer, ok, want)
	}
	book := got["1590000002"]
	if book.Name != "Moby-Dick" || book.BundleID != "" || book.DeviceFamilies != nil || book.Offers != nil {
		t.Errorf("book %+v, want no app fields", book)
	}
	if offer, ok := book.CurrentOffer(); ok {
		t.Errorf("a book without offers has current offer %+v", offer)
	}
}

// Offers decode leniently: a price as a string, a missing or unreadable price, an externalId as a
// string, a missing version. Only malformed JSON fails.
func TestOfferDecodesLeniently(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Offer
	}{
		{`{"price":"4.99","priceFormatted":"4,99 €","version":{"display":"1.2","externalId":"77"}}`,
			Offer{Price: 4.99, PriceFormatted: "4,99 €", Version: OfferVersion{Display: "1.2", ExternalID: "77"}}},
		{`{"price":0,"priceFormatted":"Free","type":"get"}`, Offer{Type: "get", PriceFormatted: "Free"}},
		{`{"priceFormatted":"$1.99"}`, Offer{PriceFormatted: "$1.99"}},
		{`{"price":null,"version":null}`, Offer{}},
		{`{"price":"n/a"}`, Offer{}},
		{`{"price":"NaN"}`, Offer{}},
		{`{"price":{"amount":3}}`, Offer{}},
		{`{"price":1e2,"version":{"externalId":813292538}}`, Offer{Price: 100, Version: OfferVersion{ExternalID: "813292538"}}},
		{`{}`, Offer{}},
	} {
		var got Offer
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil || got != tc.want {
			t.Errorf("%s: decoded %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{`{"price":`, `[1]`, `{"version":{"display":3}}`} {
		var got Offer
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s: decoded %+v without an error", in, got)
		}
	}
}

// An app whose lookup entry has no offers, or an empty list, has no current offer; the rest of
// its metadata still decodes.
func TestContentMetadataWithoutOffers(t *testing.T) {
	for _, in := range []string{
		`{"id":"1","kind":"software","bundleId":"com.example.a"}`,
		`{"id":1,"kind":"software","bundleId":"com.example.a","offers":[]}`,
		`{"id":"1","kind":"software","bundleId":"com.example.a","offers":null,"deviceFamilies":null}`,
	} {
		var m ContentMetadata
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if _, ok := m.CurrentOffer(); ok || m.ID != "1" || m.BundleID != "com.example.a" {
			t.Errorf("%s: decoded %+v", in, m)
		}
	}
}
