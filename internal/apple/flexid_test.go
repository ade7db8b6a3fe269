package apple

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// decodeAssetByEmbedding is how Asset was decoded before flexIDDecoder: the usual idiom of a
// wrapper that embeds the fields and overrides adamId. flexIDDecoder must decode exactly as it
// does, and fail where it fails (its type errors name Asset instead of the wrapper).
func decodeAssetByEmbedding(b []byte, a *Asset) error {
	type plain Asset
	w := struct {
		*plain
		AdamID flexString `json:"adamId"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.AdamID = string(w.AdamID)
	return nil
}

func TestFlexIDDecoderDecodesAsTheEmbeddingIdiom(t *testing.T) {
	inputs := []string{
		`{"adamId":408709785,"pricingParam":"STDQ","assignedCount":2,"supportedPlatforms":["iOS"]}`,
		`{"adamId":"408709785","revocable":true}`,
		`{"adamId":1.5e3}`,
		`{"ADAMID":7,"TotalCount":3}`,
		`{"adamId":1,"adamId":"2"}`,
		`{"adamId":null}`,
		`{}`,
		`null`,
		`{"adamId":true,"totalCount":4}`,
		`{"assignedCount":"x","adamId":5,"totalCount":3}`,
		`{"adamId":5,"assignedCount":"x","supportedPlatforms":"iOS"}`,
		`[1]`,
		`{"adamId":`,
	}
	before := map[string]func() Asset{
		"zero": func() Asset { return Asset{} },
		"filled": func() Asset {
			return Asset{AdamID: "old", PricingParam: PricingPLUS, AssignedCount: 9, SupportedPlatforms: []string{"macOS"}}
		},
	}
	for _, in := range inputs {
		for name, start := range before {
			t.Run(fmt.Sprintf("%s into %s", in, name), func(t *testing.T) {
				want, got := start(), start()
				wantErr := decodeAssetByEmbedding([]byte(in), &want)
				gotErr := json.Unmarshal([]byte(in), &got)
				if (gotErr == nil) != (wantErr == nil) {
					t.Errorf("error %v, want %v", gotErr, wantErr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("decoded %+v, want %+v", got, want)
				}
			})
		}
	}
}

// A type error names the decoded type, not the twin the decoder reads through.
func TestFlexIDDecoderErrorsNameTheType(t *testing.T) {
	for in, want := range map[string]string{
		`{"adamId":5,"assignedCount":"x"}`: "json: cannot unmarshal string into Go struct field Asset.assignedCount of type int",
		`[1]`:                              "json: cannot unmarshal array into Go value of type apple.Asset",
		`{"adamId":true}`:                  "apple: want a string or a number, got true",
	} {
		var a Asset
		if err := json.Unmarshal([]byte(in), &a); fmt.Sprint(err) != want {
			t.Errorf("%s: error %v, want %s", in, err, want)
		}
	}
}

// A list decodes each element with the decoder: a numeric adamId in any of them is kept.
func TestFlexIDDecoderInLists(t *testing.T) {
	var page assignmentsPage
	if err := json.Unmarshal([]byte(`{"assignments":[{"adamId":1,"clientUserId":"u1"},{"adamId":"2","serialNumber":"S"}]}`), &page); err != nil {
		t.Fatal(err)
	}
	if ids := []string{page.Assignments[0].AdamID, page.Assignments[1].AdamID}; !slices.Equal(ids, []string{"1", "2"}) {
		t.Errorf("adamIds %q, want 1 and 2", ids)
	}
	var m ContentMetadata
	if err := json.Unmarshal([]byte(`{"id":408709785,"name":"App","artwork":{"width":512}}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != "408709785" || m.Name != "App" || m.Artwork == nil || m.Artwork.Width != 512 {
		t.Errorf("decoded %+v", m)
	}
}

// A decoder for a type without a string field of that JSON name is a programming error, caught
// when the package loads.
func TestNewFlexIDDecoderRefusesAMissingIDField(t *testing.T) {
	for _, key := range []string{"adamId", "width"} { // absent; not a string
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("newFlexIDDecoder[Artwork](%q) did not panic", key)
				}
			}()
			newFlexIDDecoder[Artwork](key)
		}()
	}
}
