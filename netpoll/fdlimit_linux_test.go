package netpoll

import (
	"bytes"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAcceptFailureKeepsServing runs the listener out of file descriptors
// (EMFILE on accept) and checks that, once descriptors are free again, new
// connections are served and the ones made before still work.
func TestAcceptFailureKeepsServing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, logs := startServer(t, transport, Options{}, h)
		addr := s.Addr().(*net.TCPAddr)
		before := dial(t, s)
		before.send(request(1, modeEcho, "before"))
		before.recv()

		// The client sockets are made before the limit drops, so connecting
		// them needs no descriptor: only the server's accepts run short.
		const clients = 16
		var fds []int
		defer func() {
			for _, fd := range fds {
				_ = syscall.Close(fd)
			}
		}()
		for range clients {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatalf("socket: %v", err)
			}
			fds = append(fds, fd)
		}

		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatalf("getrlimit: %v", err)
		}
		open, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("count open files: %v", err)
		}
		low := lim
		low.Cur = uint64(len(open) + 2)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
		restored := false
		restore := func() {
			if !restored {
				restored = true
				if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
					t.Errorf("restore rlimit: %v", err)
				}
			}
		}
		defer restore()

		sa := &syscall.SockaddrInet4{Port: addr.Port}
		copy(sa.Addr[:], addr.IP.To4())
		for _, fd := range fds {
			// The kernel completes the handshake whether or not the
			// server accepts, so this does not wait on the server.
			if err := syscall.Connect(fd, sa); err != nil {
				restore()
				t.Fatalf("connect: %v", err)
			}
		}
		eventually(t, "an accept to fail for want of descriptors", func() bool {
			return strings.Contains(logs.String(), "too many open files")
		})
		restore()
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
		fds = nil

		// A connection made now is served.
		deadline := time.Now().Add(10 * time.Second)
		for {
			nc, err := net.DialTimeout("tcp", addr.String(), time.Second)
			if err == nil {
				_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
				want := request(2, modeEcho, "after")
				if err = writeFrame(nc, want); err == nil {
					var got []byte
					if got, err = readFrame(nc); err == nil && !bytes.Equal(got, want) {
						t.Fatalf("new connection echoed %q, want %q", got, want)
					}
				}
				_ = nc.Close()
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new connection served within 10s of descriptors coming back: %v\nlogs:\n%s", err, tail(logs.String(), 2000))
			}
			time.Sleep(50 * time.Millisecond)
		}

		// The connection made before the accept failures still works.
		_ = before.nc.SetDeadline(time.Now().Add(5 * time.Second))
		want := request(3, modeEcho, "still here")
		if err := writeFrame(before.nc, want); err != nil {
			t.Fatalf("connection made before the accept failures: send: %v", err)
		}
		got, err := readFrame(before.br)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("connection made before the accept failures: got %q, %v; want %q", got, err, want)
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
