// Package testenv holds helpers for tests that need privileges or tools:
// skipping (or, in CI, failing) when they are missing, and building
// isolated network namespaces connected by veth pairs.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (the CI variable is set).
func InCI() bool { return os.Getenv("CI") != "" }

// RequireRoot skips tb when the process is not root, unless CI is set: in
// CI the root-only tests must run, so it fails instead.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		tb.Fatal("this test needs root and CI is set: CI must run it as root")
	}
	tb.Skip("this test needs root (network namespaces, transparent sockets); skipped because not root and CI is unset (CI runs it as root)")
}

// RequireCommands skips tb when one of the commands is not installed,
// unless CI is set, where it fails (CI installs them).
func RequireCommands(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if InCI() {
				tb.Fatalf("command %s not found and CI is set: CI must install it", n)
			}
			tb.Skipf("command %s not found; skipped because CI is unset", n)
		}
	}
}
