package bench_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/bench"
)

// TestGroupShape checks the files scenario 6 hands Terraform: the members variable as JSON, the
// roster as a CSV file with a header row, and configurations that read each.
func TestGroupShape(t *testing.T) {
	dir := t.TempDir()
	list := bench.GroupShape{Members: 3}
	if err := list.WriteMembers(dir, 3); err != nil {
		t.Fatal(err)
	}
	var vars struct{ Members []string }
	raw, err := os.ReadFile(filepath.Join(dir, "members.auto.tfvars.json"))
	if err == nil {
		err = json.Unmarshal(raw, &vars)
	}
	if err != nil || strings.Join(vars.Members, " ") != "member000000@example.com member000001@example.com member000002@example.com" {
		t.Errorf("members variable %v (%v), want the three members", vars.Members, err)
	}
	roster := bench.GroupShape{Members: 3, Roster: true}
	if err := roster.WriteMembers(dir, 4); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 5 || strings.Join(rows[0], ",") != "sourcedId,email,role" || rows[4][1] != "member000003@example.com" {
		t.Errorf("roster rows %v (%v), want a header and four members", rows, err)
	}
	for _, tc := range []struct {
		name, config string
		want, not    []string
	}{
		{"members", list.Config("http://127.0.0.1:1/mdm/v2"), []string{"members                = var.members", `variable "members"`, `"${vpp_token.t.id}:1000000001:STDQ"`, `intent   = "required"`, "managed_apple_accounts = false"}, []string{"roster"}},
		{"roster", roster.Config("http://127.0.0.1:1/mdm/v2"), []string{`roster                 = { file = "${path.module}/users.csv", column = "email" }`}, []string{"var.members"}},
		{"floor", list.FloorConfig(), []string{"members = var.members", `resource "terraform_data" "a"`}, []string{"vpp_"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.config, w) {
				t.Errorf("%s configuration lacks %q:\n%s", tc.name, w, tc.config)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(tc.config, n) {
				t.Errorf("%s configuration has %q:\n%s", tc.name, n, tc.config)
			}
		}
	}
	if n := len(list.Books()); n != 1 || list.Books()[0].Licenses != 4 {
		t.Errorf("books %+v, want one with a license per member and one for the member added", list.Books())
	}
}

// TestHasRosterAttribute checks how the roster's absence is told from other refusals.
func TestHasRosterAttribute(t *testing.T) {
	if ok, err := bench.HasRosterAttribute(nil); !ok || err != nil {
		t.Errorf("valid configuration: %v, %v", ok, err)
	}
	if ok, err := bench.HasRosterAttribute(errors.New("Error: Unsupported argument\n" + bench.RosterMissing + ".")); ok || err != nil {
		t.Errorf("roster refused: %v, %v; want false, nil", ok, err)
	}
	if _, err := bench.HasRosterAttribute(errors.New("Error: Missing required argument")); err == nil {
		t.Error("another refusal is not an error")
	}
}

// TestTerraformGroupFloors checks the floors of scenario 6 at 10,000 members, term by term.
func TestTerraformGroupFloors(t *testing.T) {
	lim := apple.DefaultLimits()
	create := bench.TerraformGroupCreateFloor(10_000, 1000, lim)
	// Upload: service config, client config, claim, assets page, lookup, users and assignments
	// pages (7, 5 limited); delivery: 100 users/create, 10 users pages, 10 associates, 10 confirmations.
	if create.Requests != 137 || create.Limited != 135 {
		t.Errorf("create floor %d requests (%d limited), want 137 (135): %v", create.Requests, create.Limited, create.Parts)
	}
	add := bench.TerraformGroupAddFloor(1000, lim)
	// Plan: service and client config; apply: DeliveryFloor of one member (6, 5 limited: the
	// limits, the page of users changed, users/create, its read-back, associate, confirmation).
	if add.Requests != 8 || add.Limited != 6 {
		t.Errorf("add floor %d requests (%d limited), want 8 (6): %v", add.Requests, add.Limited, add.Parts)
	}
	if p := bench.TokenRefreshFloor(); p.Requests != 2 || p.Limited != 1 {
		t.Errorf("plan floor %d requests (%d limited), want 2 (1)", p.Requests, p.Limited)
	}
}

// TestFigurePlus checks a target of the form ratio × floor + a fixed allowance.
func TestFigurePlus(t *testing.T) {
	f := bench.Figure{Unit: "s", Samples: []float64{2.15}, Floor: 1, MaxRatio: 1.15, Plus: 1}
	if !f.Pass() {
		t.Errorf("%v s against %s fails", f.Samples, f.Target())
	}
	if want := "≤ 1.15 × floor + 1 s = 2.15 s"; f.Target() != want {
		t.Errorf("target %q, want %q", f.Target(), want)
	}
	f.Samples = []float64{2.2}
	if f.Pass() {
		t.Errorf("%v s against %s passes", f.Samples, f.Target())
	}
	f.Floor, f.Samples = 0, []float64{0.5}
	if f.Pass() {
		t.Error("a figure whose floor was not measured passes")
	}
}

// TestProviderRSSWrapper runs this test binary as the wrapper MeasureProviderRSS installs, around a
// shell standing in for the provider: its output and exit code pass through, and its peak RSS is
// recorded.
func TestProviderRSSWrapper(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	rss := bench.ProviderRSS(filepath.Join(dir, "rss"))
	for i := range 2 {
		cmd := exec.Command(self, "-c", `read line; echo "handshake $line"; exit 3`)
		cmd.Env = append(os.Environ(), "VPP_BENCH_PROVIDER_BINARY="+sh)
		cmd.Env = append(cmd.Env, rss.Env()...)
		cmd.Stdin = strings.NewReader("from terraform\n")
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("run %d: wrapper exited with %v, want the provider's exit status 3", i+1, err)
		}
		if out.String() != "handshake from terraform\n" {
			t.Errorf("run %d: wrapper printed %q, want the provider's output", i+1, out.String())
		}
	}
	peak, processes, wrapper, err := rss.Peak()
	if err != nil || processes != 2 || peak <= 0 || wrapper <= 0 {
		t.Errorf("recorded %v MB over %d processes (wrapper %v MB), %v; want two processes with a peak", peak, processes, wrapper, err)
	}
	if err := rss.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := rss.Peak(); err == nil {
		t.Error("Peak after Reset found processes")
	}
}
