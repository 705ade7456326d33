//go:build !linux

package uring

import "testing"

func openersUnderTest(t testing.TB) []namedOpener {
	t.Logf("io_uring: %s", Probe().Reason)
	return []namedOpener{pwriteUnderTest()}
}
