package apple

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func tokenJSON(expDate string) string {
	return `{"token":"` + testSecret + `","expDate":"` + expDate + `","orgName":"ORG12345"}`
}

func TestParseToken(t *testing.T) {
	want := time.Date(2030, 11, 8, 22, 33, 22, 0, time.UTC)
	valid := []struct {
		name     string
		contents string
		want     time.Time
	}{
		{"apple offset +0000", b64(tokenJSON("2030-11-08T22:33:22+0000")), want},
		{"offset with colon", b64(tokenJSON("2030-11-08T22:33:22+00:00")), want},
		{"Z", b64(tokenJSON("2030-11-08T22:33:22Z")), want},
		{"fraction and Z", b64(tokenJSON("2030-11-08T22:33:22.250Z")), want.Add(250 * time.Millisecond)},
		{"fraction and +0000", b64(tokenJSON("2030-11-08T22:33:22.5+0000")), want.Add(500 * time.Millisecond)},
		{"legacy -0700", b64(tokenJSON("2030-11-08T15:33:22-0700")), want},
		{"surrounding whitespace", " \n" + b64(tokenJSON("2030-11-08T22:33:22+0000")) + "\r\n\t", want},
		{"unpadded", strings.TrimRight(b64(tokenJSON("2030-11-08T22:33:22+0000")+" "), "="), want},
		{"extra fields ignored", b64(`{"token":"` + testSecret + `","expDate":"2030-11-08T22:33:22+0000","orgName":"ORG12345","x":1}`), want},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken(tc.contents)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Secret != testSecret || tok.OrgName != "ORG12345" || !tok.ExpiresAt.Equal(tc.want) {
				t.Errorf("got %q %q %v", tok.Secret, tok.OrgName, tok.ExpiresAt)
			}
			if tok.Raw != strings.TrimSpace(tc.contents) {
				t.Errorf("Raw is not the trimmed file content")
			}
		})
	}

	invalid := []struct {
		name     string
		contents string
		kind     error
		field    string
	}{
		{"empty", "", ErrTokenMalformed, ""},
		{"only whitespace", " \n\t", ErrTokenMalformed, ""},
		{"not base64", "!!!not-base64!!!", ErrTokenMalformed, ""},
		{"base64 of non-JSON", b64("hello " + testSecret), ErrTokenMalformed, ""},
		{"base64 of a JSON array", b64(`["` + testSecret + `"]`), ErrTokenMalformed, ""},
		{"line-wrapped base64", b64(tokenJSON("2030-11-08T22:33:22+0000"))[:20] + "\n" + b64(tokenJSON("2030-11-08T22:33:22+0000"))[20:], ErrTokenMalformed, ""},
		{"token not a string", b64(`{"token":12,"expDate":"2030-11-08T22:33:22+0000","orgName":"o"}`), ErrTokenMalformed, "token"},
		{"missing token", b64(`{"expDate":"2030-11-08T22:33:22+0000","orgName":"o"}`), ErrTokenMissingField, "token"},
		{"empty token", b64(`{"token":"","expDate":"2030-11-08T22:33:22+0000","orgName":"o"}`), ErrTokenMissingField, "token"},
		{"missing expDate", b64(`{"token":"` + testSecret + `","orgName":"o"}`), ErrTokenMissingField, "expDate"},
		{"missing orgName", b64(`{"token":"` + testSecret + `","expDate":"2030-11-08T22:33:22+0000"}`), ErrTokenMissingField, "orgName"},
		{"null orgName", b64(`{"token":"` + testSecret + `","expDate":"2030-11-08T22:33:22+0000","orgName":null}`), ErrTokenMissingField, "orgName"},
		{"bad date", b64(tokenJSON("08/11/2030")), ErrTokenBadDate, "expDate"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken(tc.contents)
			if tok != nil || !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, %v; want %v", tok, err, tc.kind)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.Field != tc.field {
				t.Fatalf("got %#v, want field %q", err, tc.field)
			}
			assertNoSecret(t, "error", err.Error())
			assertNoSecret(t, "error", fmt.Sprintf("%+v %#v", err, err))
			if strings.Contains(err.Error(), strings.TrimSpace(tc.contents)) && strings.TrimSpace(tc.contents) != "" {
				t.Errorf("error quotes the file: %v", err)
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	tok, err := ParseToken(b64(tokenJSON("2030-11-08T22:33:22+0000")))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2030, 11, 8, 22, 33, 21, 0, time.UTC)
	if tok.Expired(before) || tok.CheckUsable(before) != nil {
		t.Error("token should be usable a second before expiry")
	}
	at := before.Add(time.Second)
	if !tok.Expired(at) {
		t.Error("token should be expired at its expiry date")
	}
	err = tok.CheckUsable(at.Add(time.Hour))
	if !errors.Is(err, ErrTokenExpired) || !strings.Contains(err.Error(), "2030-11-08T22:33:22Z") {
		t.Errorf("got %v, want ErrTokenExpired with the date", err)
	}
	assertNoSecret(t, "expiry error", err.Error())
}

func TestTokenNeverPrinted(t *testing.T) {
	tok := testToken(t)
	printed := []string{
		fmt.Sprintf("%v|%+v|%#v|%s|%q", tok, tok, tok, tok, tok),
		fmt.Sprintf("%v|%+v|%#v|%s", *tok, *tok, *tok, *tok),
		fmt.Sprint(tok, *tok),
		fmt.Sprintf("%+v", struct{ T *Token }{tok}),
		fmt.Sprintf("%+v", struct{ T Token }{*tok}),
		tok.String(),
		tok.GoString(),
	}
	encoded, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, string(encoded))
	for _, s := range printed {
		assertNoSecret(t, "printed token", s)
	}
	if !strings.Contains(printed[0], "ORG12345") {
		t.Errorf("the org name should still be printed: %s", printed[0])
	}
}
