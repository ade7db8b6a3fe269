package bench

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

func TestRevisionOf(t *testing.T) {
	for _, tc := range []struct{ status, want string }{
		{"", "058fd29"},
		{"\n", "058fd29"},
		{" M internal/engine/delivery.go\n", "058fd29-dirty"},
		{"?? internal/provider/sandbox_cli_test.go\n", "058fd29-dirty"},
	} {
		if got := revisionOf("058fd29", tc.status); got != tc.want {
			t.Errorf("revisionOf(%q) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

// Revision of this repository is its short hash, dirty or not; outside a work tree it is unknown.
func TestRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree").Output(); err != nil || string(out) != "true\n" {
		t.Skip("not a git work tree (an exported copy)")
	}
	if got := Revision(root); !regexp.MustCompile(`^[0-9a-f]{7,}(-dirty)?$`).MatchString(got) {
		t.Errorf("Revision = %q, want a short hash with an optional -dirty", got)
	}
	if got := Revision(t.TempDir()); got != "unknown" {
		t.Errorf("Revision outside a work tree = %q, want unknown", got)
	}
}
