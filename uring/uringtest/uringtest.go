// Package uringtest lets the tests of other packages run their io_uring half
// where the kernel allows it, and fail instead of leaving it out where the
// environment says io_uring must work (REQUIRE_URING=1, as .ci/run sets).
// The uring package's own tests keep an in-package copy, since they cannot
// import this package without an import cycle.
package uringtest

import (
	"os"
	"testing"

	"github.com/chronik-go/chronik/uring"
)

// Unusable returns why io_uring cannot be used on this host, or "" when it
// can. Under REQUIRE_URING=1 an unusable io_uring fails t instead.
func Unusable(t testing.TB) string {
	t.Helper()
	p := uring.Probe()
	if p.Usable {
		return ""
	}
	if os.Getenv("REQUIRE_URING") == "1" {
		t.Fatalf("REQUIRE_URING=1 but io_uring is unusable: %s", p.Reason)
	}
	return p.Reason
}

// Require skips t where io_uring is unusable (and fails it under
// REQUIRE_URING=1).
func Require(t testing.TB) {
	t.Helper()
	if reason := Unusable(t); reason != "" {
		t.Skipf("io_uring unusable on this host: %s", reason)
	}
}
