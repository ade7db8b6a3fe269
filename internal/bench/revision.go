package bench

import (
	"os"
	"os/exec"
	"strings"
)

// Revision names the code a benchmark measures: the short hash of the commit checked out in dir,
// with "-dirty" when the work tree differs from it (changed, staged, deleted or new files that
// are not ignored; BENCHMARKS.md itself, which make bench rewrites, does not count). It is
// "unknown" without git or outside a git work tree. Only read-only git commands run, without
// optional locks, so that the index is never written.
func Revision(dir string) string {
	head, err := git(dir, "rev-parse", "--short", "HEAD")
	if err != nil || head == "" {
		return "unknown"
	}
	status, err := git(dir, "status", "--porcelain", "--", ".", ":(exclude)BENCHMARKS.md")
	if err != nil {
		return head + "-unknown"
	}
	return revisionOf(head, status)
}

// revisionOf is Revision from the outputs of git rev-parse --short HEAD and git status --porcelain.
func revisionOf(head, status string) string {
	if strings.TrimSpace(status) != "" {
		return head + "-dirty"
	}
	return head
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--no-optional-locks", "-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}
