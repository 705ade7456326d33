package bench

import (
	"fmt"
	"net"
)

// FreeLoopbackPort asks the kernel for a free TCP port on 127.0.0.1 and
// releases it at once, so a broker started next can bind it. Another process
// could take it in between; on a benchmark host that is rare, and the broker's
// start-up then fails loudly rather than measuring the wrong thing.
func FreeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("release loopback port %d: %w", port, err)
	}
	return port, nil
}
