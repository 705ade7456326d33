//go:build !linux

package e2e

import "testing"

// reservedSegments: the broker reserves segment blocks only on Linux.
func reservedSegments(*testing.T, string) (n int, ext4 bool) { return 0, false }
