//go:build unix

package netpoll

import (
	"fmt"
	"net"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// gnetBoundAddr reads the listener's real address (port 0 resolved) from a
// duplicate of its descriptor; gnet does not expose it otherwise.
func gnetBoundAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, fmt.Errorf("dup gnet listener: %w", err)
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("getsockname gnet listener: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		addr := &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				addr.Zone = ifi.Name
			}
		}
		return addr, nil
	default:
		return nil, fmt.Errorf("gnet listener has unexpected address type %T", sa)
	}
}
