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

// Editors and shells add a byte-order mark, a final newline or NUL padding: tolerated, and Raw
// (the Bearer value) is the base64 text alone.
func TestParseTokenToleratesEditorArtifacts(t *testing.T) {
	file := b64(tokenJSON("2030-11-08T22:33:22+0000"))
	for name, contents := range map[string]string{
		"byte-order mark":          "\uFEFF" + file,
		"byte-order mark and CRLF": "\uFEFF" + file + "\r\n",
		"trailing NULs":            file + "\x00\x00\x00",
		"trailing NUL and newline": file + "\n\x00",
		"leading and trailing":     "\x00 \n" + file + " \t\x00\n",
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := ParseToken(contents)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Raw != file || tok.Secret != testSecret {
				t.Fatalf("Raw %q, want the base64 text alone", tok.Raw)
			}
		})
	}
	// Inside the base64 text a NUL is still an error.
	if _, err := ParseToken(file[:10] + "\x00" + file[10:]); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("a NUL inside the file: got %v, want ErrTokenMalformed", err)
	}
}

// A file or field far larger than any real token is refused without being echoed.
func TestParseTokenLimits(t *testing.T) {
	big := strings.Repeat("A", 10<<20)
	future := "2030-11-08T22:33:22+0000"
	cases := []struct {
		name, contents, field, detail string
	}{
		{"10 MB file", big, "", "the file is 10485760 bytes; a .vpptoken file is a few hundred bytes, and at most 65536 are accepted"},
		{"file just over the cap", strings.Repeat("A", MaxTokenFileSize+1), "", "the file is 65537 bytes"},
		{"long orgName", b64(`{"token":"` + testSecret + `","expDate":"` + future + `","orgName":"` + strings.Repeat("O", 2000) + `"}`),
			"orgName", "the field is 2000 bytes long; at most 1024 are accepted"},
		{"long expDate", b64(`{"token":"` + testSecret + `","expDate":"` + strings.Repeat("9", 30000) + `","orgName":"Org"}`),
			"expDate", "the field is 30000 bytes long; at most 64 are accepted"},
		{"long token", b64(`{"token":"` + strings.Repeat("s", 20000) + `","expDate":"` + future + `","orgName":"Org"}`),
			"token", "the field is 20000 bytes long; at most 16384 are accepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseToken(tc.contents)
			var te *TokenError
			if !errors.As(err, &te) || te.Field != tc.field || !strings.Contains(te.Detail, tc.detail) {
				t.Fatalf("got %v, want field %q and %q", err, tc.field, tc.detail)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("the error is %d bytes long: it echoes the input", len(err.Error()))
			}
		})
	}
	// At the caps, a file still parses.
	org := strings.Repeat("O", MaxTokenOrgNameLen)
	if tok, err := ParseToken(b64(`{"token":"` + testSecret + `","expDate":"` + future + `","orgName":"` + org + `"}`)); err != nil || tok.OrgName != org {
		t.Fatalf("orgName at the cap: %v", err)
	}
	// An unreadable date of up to 64 bytes is quoted, but only its first 40 characters.
	_, err := ParseToken(b64(tokenJSON(strings.Repeat("x", 60))))
	if err == nil || !strings.Contains(err.Error(), `"`+strings.Repeat("x", 40)+`"… (60 bytes in all) is not an ISO-8601 date-time`) {
		t.Fatalf("got %v, want a quoted prefix of the date", err)
	}
}

// orgName is shown in attributes, plans and diagnostics: terminal escapes and control characters
// in it are dropped.
func TestParseTokenCleansOrgName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Acme\u001b[2J\u001b[31mRed\u001b[0m`, "AcmeRed"},
		{`Acme\u001b]0;owned\u0007 Inc`, "Acme Inc"},
		{`Acme\u009b31m Inc`, "Acme Inc"},
		{`Line\nbreak\tand tab`, "Line break and tab"},
		{`Bell\u0007 and NUL\u0000`, "Bell and NUL"},
		{`evil\u202Egnp.exe`, "evilgnp.exe"},
		{`Zero\u200Bwidth`, "Zerowidth"},
		{`Café Zürich 東京`, "Café Zürich 東京"},
	} {
		tok, err := ParseToken(b64(`{"token":"` + testSecret + `","expDate":"2030-11-08T22:33:22Z","orgName":"` + tc.in + `"}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if tok.OrgName != tc.want {
			t.Errorf("orgName %s: got %q, want %q", tc.in, tok.OrgName, tc.want)
		}
	}
	// Nothing left once cleaned: the field is missing.
	_, err := ParseToken(b64(`{"token":"` + testSecret + `","expDate":"2030-11-08T22:33:22Z","orgName":"\u001b[31m\u0007"}`))
	if !errors.Is(err, ErrTokenMissingField) || !strings.Contains(err.Error(), `(field "orgName")`) {
		t.Fatalf("got %v, want a missing orgName", err)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                      "plain",
		"\x1b[1;31mbold red\x1b[0m":  "bold red",
		"\x1b]8;;http://x\x1b\\link": "link",
		"a\x1bcb":                    "ab",
		"cut at the end \x1b[":       "cut at the end",
		"bad utf8 \xff":              "bad utf8 \uFFFD",
		"\x7fdel":                    "del",
		"  spaced\r\n":               "spaced",
		"\x1b[3\u00e9t":              "\u00e9t", // malformed CSI: the text after it stays
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
