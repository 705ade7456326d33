//go:build !unix

package netpoll

import (
	"errors"
	"net"

	"github.com/panjf2000/gnet/v2"
)

// gnetBoundAddr fails where gnet's listener descriptor cannot be inspected;
// Transport "std" serves on such platforms.
func gnetBoundAddr(gnet.Engine) (net.Addr, error) {
	return nil, errors.New("gnet transport needs a unix platform to report its bound address; use transport std")
}
