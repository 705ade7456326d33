//go:build !unix

package netpoll

import "errors"

// gnetPlatformErr refuses the gnet transport where it is neither built for
// nor tested; Transport "std" serves on such platforms.
func gnetPlatformErr() error {
	return errors.New("the gnet transport needs a unix platform; use transport std")
}
