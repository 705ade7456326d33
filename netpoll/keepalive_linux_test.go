package netpoll

import (
	"net"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// serverSocket finds, among this process's descriptors, the server side of
// the client connection nc.
func serverSocket(t *testing.T, nc net.Conn) int {
	t.Helper()
	local := nc.LocalAddr().(*net.TCPAddr)
	remote := nc.RemoteAddr().(*net.TCPAddr)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("list descriptors: %v", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			continue
		}
		peer, err := unix.Getpeername(fd)
		if err != nil {
			continue
		}
		s4, ok1 := sa.(*unix.SockaddrInet4)
		p4, ok2 := peer.(*unix.SockaddrInet4)
		if ok1 && ok2 && s4.Port == remote.Port && p4.Port == local.Port {
			return fd
		}
	}
	t.Fatalf("no server socket for %v -> %v", local, remote)
	return -1
}

// TestServedConnectionsHaveKeepalive checks the socket each transport serves
// has TCP keepalive on, probing after 15 s idle as Go's default does.
func TestServedConnectionsHaveKeepalive(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		s, _ := startServer(t, transport, Options{}, newTestHandler())
		c := dial(t, s)
		c.send(request(1, modeEcho, "x"))
		c.recv() // served, so the server side is in place
		fd := serverSocket(t, c.nc)
		for _, o := range []struct {
			name       string
			level, opt int
			want       int
		}{
			{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
			{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
			{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		} {
			got, err := unix.GetsockoptInt(fd, o.level, o.opt)
			if err != nil || got != o.want {
				t.Fatalf("%s on the served socket = %d, %v; want %d", o.name, got, err, o.want)
			}
		}
	})
}
