//go:build !linux

package engine

// memoryLimit is unknown off Linux (0).
func memoryLimit() int64 { return 0 }
