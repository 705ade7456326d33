//go:build unix

package netpoll

// gnetPlatformErr is nil where the gnet transport is supported.
func gnetPlatformErr() error { return nil }
