package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

// TerraformShape is the configuration of scenario 4: Assignments vpp_ebook_assignment resources
// over Groups user groups of MembersPerGroup invited members and BooksPerGroup books of the
// sandbox catalog, with one token: Assignments + Groups + 1 resources (and one data source).
type TerraformShape struct {
	Assignments, Groups, BooksPerGroup, MembersPerGroup int
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
	return fmt.Sprintf(`terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

provider "vpp" {
  sandbox  = true
  database = "${path.module}/.vpp/engine.db"
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

data "vpp_books" "all" {
  token_id = vpp_token.t.id
}

resource "vpp_user_group" "g" {
  count   = %d
  name    = "group-${count.index}"
  members = [for m in range(%d) : "g${count.index}-m${m}@example.com"]
}

resource "vpp_ebook_assignment" "a" {
  count    = %d
  book_id  = data.vpp_books.all.books[count.index %% %d].id
  group_id = vpp_user_group.g[floor(count.index / %d)].id
  intent   = "available"
}
`, s.Groups, s.MembersPerGroup, s.Assignments, s.BooksPerGroup, s.BooksPerGroup)
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
  input = { book_id = local.books[count.index %% %d], group_id = terraform_data.g[floor(count.index / %d)].id, intent = "available" }
}
`, s.BooksPerGroup, 1, s.Groups, s.MembersPerGroup, s.Assignments, s.BooksPerGroup, s.BooksPerGroup)
}

// TokenFile is the sandbox token file the configuration uploads.
func TokenFile() string {
	return sandbox.TokenFile("Benchmark Library", false, time.Now().Add(300*24*time.Hour))
}

// Terraform runs one CLI in prepared working directories.
type Terraform struct {
	CLI string
	Env []string // CLI configuration (dev_overrides), sandbox settings
}

// NewTerraform builds the provider into dir and writes a CLI configuration whose dev_overrides
// point terraform at it, so that no init is needed. root is the module's directory.
func NewTerraform(ctx context.Context, cli, root, dir string) (*Terraform, error) {
	plugins := filepath.Join(dir, "plugins")
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(plugins, "terraform-provider-vpp"), ".")
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
	env = append(env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "VPP_SANDBOX_ACCEPT_AFTER=never")
	return &Terraform{CLI: cli, Env: env}, nil
}

// Workspace writes config and the token variable into a new directory under parent.
func (t *Terraform) Workspace(parent, name, config string) (string, error) {
	dir, err := os.MkdirTemp(parent, name+"-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		return "", err
	}
	vars := fmt.Sprintf("token = %q\n", TokenFile())
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
