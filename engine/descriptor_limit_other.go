//go:build !linux

package engine

// processDescriptorLimit is not checked off Linux.
func processDescriptorLimit() (uint64, bool) { return 0, false }
