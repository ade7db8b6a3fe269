package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

// TerraformShape is the configuration of scenario 4: Assignments vpp_ebook_assignment resources
// over Groups user groups of MembersPerGroup invited members and BooksPerGroup books of the
// sandbox catalog, with one token: Assignments + Groups + 1 resources (and one data source).
type TerraformShape struct {
	Assignments, Groups, BooksPerGroup, MembersPerGroup int
	// Deliver makes the groups Managed Apple Accounts and the intent required (DeliveryConfig).
	Deliver bool
}

// NewTerraformShape spreads n assignments over groups of 20 books each.
func NewTerraformShape(n int) TerraformShape {
	const books = 20
	return TerraformShape{Assignments: n, Groups: ceilDiv(n, books), BooksPerGroup: books, MembersPerGroup: 2}
}

// Resources counts the managed resources of the configuration.
func (s TerraformShape) Resources() int { return s.Assignments + s.Groups + 1 }

// VPPConfig is the configuration in sandbox mode. Invited members never accept (the harness sets
// VPP_SANDBOX_ACCEPT_AFTER=never) and the intent is available, so every apply and refresh sees
// the same Apple: delivery creates each member's VPP user and invitation, no license is spent,
// and the sample catalog's license counts do not limit the size of the configuration.
func (s TerraformShape) VPPConfig() string {
	return tokenConfig(`sandbox  = true
  database = "${path.module}/.vpp/engine.db"`) + s.groupsConfig()
}

// groupsConfig is the part of the configuration after the token: the catalog's data source, the
// groups (Managed Apple Accounts when Deliver), and the assignments (required when Deliver).
func (s TerraformShape) groupsConfig() string {
	managed, domain := false, "example.com"
	if s.Deliver {
		managed, domain = true, "corp.example.com"
	}
	return fmt.Sprintf(`
data "vpp_books" "all" {
  token_id = vpp_token.t.id
}

resource "vpp_user_group" "g" {
  count                  = %d
  name                   = "group-${count.index}"
  managed_apple_accounts = %t
  members                = [for m in range(%d) : "g${count.index}-m${m}@%s"]
}

resource "vpp_ebook_assignment" "a" {
  count    = %d
  book_id  = data.vpp_books.all.books[count.index %% %d].id
  group_id = vpp_user_group.g[floor(count.index / %d)].id
  intent   = %q
}
`, s.Groups, managed, s.MembersPerGroup, domain, s.Assignments, s.BooksPerGroup, s.BooksPerGroup, s.intent())
}

// DeliveryShape is the configuration of the delivering Terraform scenario: like TerraformShape,
// but the groups are of Managed Apple Accounts (associated at once, no invitation) and the intent
// is required, so that every assignment spends a license per member at Apple.
func NewDeliveryShape(n, members int) TerraformShape {
	s := NewTerraformShape(n)
	s.MembersPerGroup = members
	s.Deliver = true
	return s
}

// Licenses is the number of licenses the delivering configuration spends: one per member of each
// assignment's group.
func (s TerraformShape) Licenses() int { return s.Assignments * s.MembersPerGroup }

// LicensesPerBook is how many licenses each book of the delivering configuration needs: every
// group holds every book.
func (s TerraformShape) LicensesPerBook() int { return s.Groups * s.MembersPerGroup }

func (s TerraformShape) intent() string {
	if s.Deliver {
		return "required"
	}
	return "available"
}

// DeliveryConfig is the delivering configuration against the Apple service at appleURL (the
// bench's simulator on loopback, strict and rate-limited like Apple): one vpp_token, Groups groups
// of MembersPerGroup Managed Apple Accounts, and Assignments required assignments.
func (s TerraformShape) DeliveryConfig(appleURL string) string {
	return appleConfig(appleURL) + s.groupsConfig()
}

// appleConfig is the head of a configuration against the Apple service at appleURL: the provider
// (its engine on SQLite in the working directory), the token variable and one vpp_token.
func appleConfig(appleURL string) string {
	return tokenConfig(fmt.Sprintf(`database      = "${path.module}/.vpp/engine.db"
  apple_api_url = %q`, appleURL))
}

// tokenConfig is the head of a configuration whose provider block holds provider: the token
// variable and one vpp_token.
func tokenConfig(provider string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

provider "vpp" {
  %s
}

variable "token" {
  type      = string
  sensitive = true
}

resource "vpp_token" "t" {
  token        = var.token
  apple_id     = "books-admin@example.com"
  account_type = "business"
  display_name = "Benchmark"
}
`, provider)
}

// FloorConfig is the same graph of terraform_data resources: as many resources, with the same
// references, expressions and count meta-arguments, and no provider to call.
func (s TerraformShape) FloorConfig() string {
	return fmt.Sprintf(`variable "token" {
  type      = string
  sensitive = true
}

resource "terraform_data" "t" {
  input = { token = sha256(var.token), account_type = "business", display_name = "Benchmark" }
}

locals {
  books = [for i in range(%d) : "${terraform_data.t.id}:159%07d:STDQ"]
}

resource "terraform_data" "g" {
  count = %d
  input = { name = "group-${count.index}", members = [for m in range(%d) : "g${count.index}-m${m}@example.com"] }
}

resource "terraform_data" "a" {
  count = %d
  input = { book_id = local.books[count.index %% %d], group_id = terraform_data.g[floor(count.index / %d)].id, intent = %q }
}
`, s.BooksPerGroup, 1, s.Groups, s.MembersPerGroup, s.Assignments, s.BooksPerGroup, s.BooksPerGroup, s.intent())
}

// TokenFile is the sandbox token file the configuration uploads.
func TokenFile() string {
	return sandbox.TokenFile("Benchmark Library", false, time.Now().Add(300*24*time.Hour))
}

// Terraform runs one CLI in prepared working directories.
type Terraform struct {
	CLI    string
	Env    []string // CLI configuration (dev_overrides), sandbox settings
	Plugin string   // the provider binary the dev_overrides point at
}

// NewTerraform builds the provider into dir and writes a CLI configuration whose dev_overrides
// point terraform at it, so that no init is needed. root is the module's directory.
func NewTerraform(ctx context.Context, cli, root, dir string) (*Terraform, error) {
	plugins := filepath.Join(dir, "plugins")
	plugin := filepath.Join(plugins, "terraform-provider-vpp")
	build := exec.CommandContext(ctx, "go", "build", "-o", plugin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the provider: %v: %s", err, out)
	}
	rc := filepath.Join(dir, "cli.tfrc")
	cfg := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/vppkit/vpp"  = %q
    "registry.opentofu.org/vppkit/vpp" = %q
  }
  direct {}
}
`, plugins, plugins)
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	env := make([]string, 0, len(os.Environ())+4)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "VPP_") {
			env = append(env, kv)
		}
	}
	// Scenario 4 measures Terraform's and the provider's cost, so its sandbox answers at once
	// (VPP_SANDBOX_PACE=instant); Apple's pace is scenario 4b's, against the simulator on loopback.
	env = append(env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "VPP_SANDBOX_ACCEPT_AFTER=never",
		"VPP_SANDBOX_PACE=instant")
	return &Terraform{CLI: cli, Env: env, Plugin: plugin}, nil
}

// Workspace writes config and the token variable (the sandbox's TokenFile) into a new directory
// under parent.
func (t *Terraform) Workspace(parent, name, config string) (string, error) {
	return t.WorkspaceWithToken(parent, name, config, TokenFile())
}

// WorkspaceWithToken writes config and the token variable token into a new directory under parent.
func (t *Terraform) WorkspaceWithToken(parent, name, config, token string) (string, error) {
	dir, err := os.MkdirTemp(parent, name+"-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		return "", err
	}
	vars := fmt.Sprintf("token = %q\n", token)
	return dir, os.WriteFile(filepath.Join(dir, "terraform.tfvars"), []byte(vars), 0o600)
}

// Command is the command line Run uses, for the report.
func (t *Terraform) Command(args ...string) string {
	return "terraform " + strings.Join(args, " ")
}

// Run runs the CLI in dir and returns its wall time. extraEnv is added to the environment.
func (t *Terraform) Run(ctx context.Context, dir string, extraEnv []string, args ...string) (float64, []byte, error) {
	cmd := exec.CommandContext(ctx, t.CLI, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = append(append([]string(nil), t.Env...), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return secs, out.Bytes(), fmt.Errorf("terraform %s: %v\n%s", strings.Join(args, " "), err, tail(out.String(), 4000))
	}
	return secs, out.Bytes(), nil
}

// CountAppleRequests counts the requests to Apple a provider log (TF_LOG_PROVIDER=DEBUG) shows:
// one "Apple API request" line per attempt, rate-limited or not.
func CountAppleRequests(logPath string) (total, serviceConfig int, err error) {
	f, err := os.Open(logPath)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "Apple API request") {
			continue
		}
		total++
		if strings.Contains(line, "/service/config") {
			serviceConfig++
		}
	}
	return total, serviceConfig, sc.Err()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// StateCounts reads a workspace's state (terraform.tfstate, the local backend): the number of
// vpp_ebook_assignment instances and the sum of their licensed_count.
func StateCounts(dir string) (assignments, licensed int, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		return 0, 0, err
	}
	var st struct {
		Resources []struct {
			Mode, Type string
			Instances  []struct {
				Attributes struct {
					LicensedCount int `json:"licensed_count"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return 0, 0, fmt.Errorf("reading %s: %w", filepath.Join(dir, "terraform.tfstate"), err)
	}
	for _, r := range st.Resources {
		if r.Mode != "managed" || r.Type != "vpp_ebook_assignment" {
			continue
		}
		for _, in := range r.Instances {
			assignments++
			licensed += in.Attributes.LicensedCount
		}
	}
	return assignments, licensed, nil
}

// SandboxApple is what the sandbox's saved state (sandbox.json beside the engine's database)
// shows of Apple after a run: users, their addresses, and licenses spent.
type SandboxApple struct {
	Users       int // active users of every location
	Assignments int // licenses held (assignments) at every location
	// Shared lists the addresses (email or Managed Apple Account, normalised) that more than one
	// active user has: a person made a VPP user twice, which strict mode calls second_user.
	Shared []string
}

// ReadSandbox loads the sandbox state at path into a simulator of its own and reads it. The sandbox
// runs its simulator inside the provider, out of the bench's reach, and not in strict mode; what
// a double spend leaves behind in the state is checked here instead (see the terraform scenario).
func ReadSandbox(path string) (SandboxApple, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return SandboxApple{}, err
	}
	var f struct {
		Simulator json.RawMessage `json:"simulator"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Simulator) == 0 {
		return SandboxApple{}, fmt.Errorf("sandbox state %s: no simulator state (%v)", path, err)
	}
	sim := applesim.New(applesim.Options{DisableRateLimit: true})
	defer sim.Close()
	if err := sim.LoadState(bytes.NewReader(f.Simulator)); err != nil {
		return SandboxApple{}, fmt.Errorf("sandbox state %s: %w", path, err)
	}
	var out SandboxApple
	for _, loc := range sim.Locations() {
		owners := map[string]int{}
		for _, u := range sim.Users(loc.UID) {
			if u.Status != applesim.StatusRegistered && u.Status != applesim.StatusAssociated {
				continue // retired or deleted
			}
			out.Users++
			seen := map[string]bool{}
			for _, a := range []string{u.Email, u.ManagedAppleID} {
				a = strings.ToLower(strings.TrimSpace(a))
				if a != "" && !seen[a] {
					seen[a] = true
					owners[a]++
				}
			}
		}
		for a, n := range owners {
			if n > 1 {
				out.Shared = append(out.Shared, a)
			}
		}
		out.Assignments += len(sim.Assignments(loc.UID))
	}
	sort.Strings(out.Shared)
	return out, nil
}
