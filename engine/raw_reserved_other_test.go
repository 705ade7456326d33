//go:build !linux

package engine

import "testing"

// rawReservedSeqWrite: reserving file blocks ahead needs Linux's fallocate.
func rawReservedSeqWrite(*testing.B, string, int64) float64 { return 0 }
