//go:build !linux

package engine

// segmentReserveUsable: reserving blocks ahead needs Linux's fallocate.
func segmentReserveUsable(string) (bool, string) {
	return false, "reserving file blocks ahead needs Linux"
}
