package provider

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

// TestAccSecrets_traceLogsNeverContainToken runs what a user runs, `TF_LOG=TRACE terraform apply`,
// with the provider built as a real plugin binary, and searches everything the run leaves behind
// (trace log, stdout, stderr, every entry of the saved plan, and for token_wo the state) for the
// token file and its inner secret. A saved plan is a ZIP archive, so its entries are searched
// unpacked. Terraform keeps the values of sensitive (not ephemeral) variables and attributes in
// a saved plan, so the token given through `token` is expected there, and is looked for: that it
// is found proves the search of the plan reads what the plan holds. The token given through
// token_wo (an ephemeral variable) must be in no entry.
func TestAccSecrets_traceLogsNeverContainToken(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" {
		var err error
		if cli, err = exec.LookPath("terraform"); err != nil {
			t.Skip("no terraform CLI")
		}
	}
	testAccPreCheck(t)
	_, base := simulator(t)
	withSensitive := newTestLocation(t, "business")
	withWriteOnly := newTestLocation(t, "education")

	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "terraform-provider-vpp"), ".")
	_, thisFile, _, _ := runtime.Caller(0)
	build.Dir = filepath.Join(filepath.Dir(thisFile), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cliConfig := filepath.Join(dir, "cli.tfrc")
	writeFile(t, cliConfig, fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/vppkit/vpp"  = %[1]q
    "registry.opentofu.org/vppkit/vpp" = %[1]q
  }
  direct {}
}
`, pluginDir))
	work := filepath.Join(dir, "work")
	writeFile(t, filepath.Join(work, "main.tf"), fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

variable "sensitive_token" {
  type      = string
  sensitive = true
}

variable "write_only_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "vpp" {
  database      = %q
  apple_api_url = %q
}

resource "vpp_token" "sensitive" {
  token        = var.sensitive_token
  apple_id     = "admin@example.com"
  account_type = "business"
}

resource "vpp_token" "write_only" {
  token_wo         = var.write_only_token
  token_wo_version = 1
  apple_id         = "admin@example.com"
  account_type     = "education"
}
`, filepath.Join(dir, "engine.db"), base))

	logFile := filepath.Join(dir, "trace.log")
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(cli, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(),
			"TF_LOG=TRACE", "TF_LOG_PATH="+logFile, "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1",
			"TF_VAR_sensitive_token="+withSensitive.Token, "TF_VAR_write_only_token="+withWriteOnly.Token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(cli), strings.Join(args, " "), err, out)
		}
		return out
	}
	var output bytes.Buffer
	output.Write(run("apply", "-auto-approve", "-no-color"))
	output.Write(run("plan", "-no-color", "-out=tfplan"))
	output.Write(run("show", "-no-color", "tfplan"))

	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs, []byte("Apple API request")) {
		t.Fatal("the trace log holds no Apple API request lines; the test would prove nothing")
	}
	state, err := os.ReadFile(filepath.Join(work, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	plan := savedPlanEntries(t, filepath.Join(work, "tfplan"))
	if len(entriesContaining(plan, []byte("admin@example.com"))) == 0 {
		t.Fatalf("no entry of the saved plan (%s) holds the configured apple_id; the search of the plan would prove nothing", entryNames(plan))
	}

	for _, loc := range []testLocation{withSensitive, withWriteOnly} {
		tok, err := apple.ParseToken(loc.Token)
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string]string{"token file": tok.Raw, "inner secret": tok.Secret,
			"inner secret (base64 of it)": base64.StdEncoding.EncodeToString([]byte(tok.Secret))}
		for what, s := range secrets {
			for where, b := range map[string][]byte{"TF_LOG=TRACE log": logs, "CLI output": output.Bytes()} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s of %s found in the %s", what, loc.Name, where)
				}
			}
			if loc.Name == withWriteOnly.Name {
				if in := entriesContaining(plan, []byte(s)); len(in) > 0 {
					t.Errorf("%s of %s (given through token_wo) found in the saved plan's %s", what, loc.Name, strings.Join(in, ", "))
				}
			}
		}
	}
	// The documented truth: a token given through `token` is in the saved plan (Terraform stores
	// the sensitive variable and the planned attribute there); only token_wo keeps it out.
	if in := entriesContaining(plan, []byte(withSensitive.Token)); len(in) == 0 {
		t.Errorf("the token file given through `token` is in no entry of the saved plan (%s): Terraform stores sensitive values there, so the search of the plan is broken", entryNames(plan))
	} else {
		t.Logf("as documented, the token given through `token` is in the saved plan's %s", strings.Join(in, ", "))
	}
	// token_wo keeps the secret out of state as well; `token` is sensitive in state by design.
	wo, _ := apple.ParseToken(withWriteOnly.Token)
	if bytes.Contains(state, []byte(wo.Raw)) || bytes.Contains(state, []byte(wo.Secret)) {
		t.Error("the write-only token was written to the state")
	}
}

func writeFile(t *testing.T, path, contents string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
}

// savedPlanEntries returns every file of a saved plan (`terraform plan -out`), unpacked: a saved
// plan is a ZIP archive whose entries are compressed, so its raw bytes hold no searchable text.
func savedPlanEntries(t *testing.T, path string) map[string][]byte {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("reading the saved plan %s as a ZIP archive: %v", path, err)
	}
	defer r.Close()
	entries := map[string][]byte{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("saved plan entry %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("saved plan entry %s: %v", f.Name, err)
		}
		entries[f.Name] = b
	}
	if _, ok := entries["tfplan"]; !ok {
		t.Fatalf("the saved plan %s has no tfplan entry (entries: %s)", path, entryNames(entries))
	}
	return entries
}

// entriesContaining lists, sorted, the entries of a saved plan that contain s.
func entriesContaining(entries map[string][]byte, s []byte) []string {
	var in []string
	for name, b := range entries {
		if bytes.Contains(b, s) {
			in = append(in, name)
		}
	}
	sort.Strings(in)
	return in
}

func entryNames(entries map[string][]byte) string {
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
