package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func client(t *testing.T, s *Sandbox, file string) *apple.Client {
	t.Helper()
	tok, err := apple.ParseToken(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := apple.NewClient(apple.Config{BaseURL: BaseURL, Token: tok, HTTPClient: s.HTTPClient(), RequestsPerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Plan and apply are separate processes: what one does, the next sees.
func TestSandbox_statePersistsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	clock := &fakeClock{}
	file := TokenFile("Springfield Public Library", false, time.Now().Add(365*24*time.Hour))

	first, err := Open(Options{StatePath: path, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, first, file)
	cc, err := c.GetClientConfig(ctx)
	if err != nil {
		t.Fatalf("a sandbox token must be accepted on first sight: %v", err)
	}
	if cc.LocationName != "Springfield Public Library" || cc.DefaultPlatform != "enterprisestore" {
		t.Errorf("client config = %+v", cc)
	}
	assets, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: apple.ProductBook})
	if err != nil || len(assets.Assets) < 20 {
		t.Fatalf("seeded books = %d, %v; want the sample catalog of at least 20", len(assets.Assets), err)
	}
	if _, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "u1", Email: "ann@example.com"}}); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second, err := Open(Options{StatePath: path, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	users, err := client(t, second, file).GetUsers(ctx, apple.UserQuery{})
	if err != nil || len(users.Users) != 1 || users.Users[0].Status != "Registered" {
		t.Fatalf("users seen by the next process = %+v, %v", users, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("state directory holds %d files; atomic saves must leave no temporary file", len(entries))
	}

	// The invited user accepts once the delay has passed.
	clock.offset.Add(int64(DefaultAcceptDelay + time.Second))
	users, err = client(t, second, file).GetUsers(ctx, apple.UserQuery{})
	if err != nil || users.Users[0].Status != "Associated" {
		t.Errorf("after the accept delay: %+v, %v; want Associated", users, err)
	}
}

func TestSandbox_educationAndUnknownTokens(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Options{StatePath: filepath.Join(t.TempDir(), "s.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cc, err := client(t, s, TokenFile("Shelbyville Elementary", true, time.Now().Add(time.Hour*24*30))).GetClientConfig(ctx)
	if err != nil || cc.DefaultPlatform != "volumestore" {
		t.Errorf("education sandbox token: %+v, %v", cc, err)
	}
	// A real (non-sandbox) token the sandbox never issued is refused like Apple would.
	foreign := "eyJ0b2tlbiI6InJlYWwtYXBwbGUtdG9rZW4iLCJleHBEYXRlIjoiMjAzMC0wMS0wMVQwMDowMDowMCswMDAwIiwib3JnTmFtZSI6IlgifQ=="
	if _, err := client(t, s, foreign).GetClientConfig(ctx); !apple.IsTokenError(err) {
		t.Errorf("unknown token: %v, want a token error", err)
	}
}

func TestSandbox_damagedStateSaysWhatToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.json")
	if err := os.WriteFile(path, []byte(`{"simulator": tru`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{StatePath: path})
	if err == nil || !strings.Contains(err.Error(), "delete it to start the sandbox afresh") {
		t.Fatalf("damaged state: %v", err)
	}
}
