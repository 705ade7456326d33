package netpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// TCP keepalive on accepted connections, as Go's net.Listen default: a peer
// that vanished without a FIN or RST is found within about Idle+Count*Interval
// even while the connection has requests in flight (which IdleTimeout spares).
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 15 * time.Second, Count: 9}

// listenTCP binds the listener both transports accept on. Accepted sockets
// get TCP_NODELAY and keepAlive, which gnet's duplicate shares.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAliveConfig: keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Accept backoff bounds: a failed accept (or hand-off) is retried after a
// pause that doubles from the first to the last.
const (
	acceptBackoffFirst = 5 * time.Millisecond
	acceptBackoffMax   = time.Second
)

// acceptLoop accepts connections on ln and hands each to serve until ln is
// closed. An accept that fails (out of file descriptors: EMFILE, ENFILE;
// ENOBUFS, ENOMEM) or a serve that fails, which for gnet is usually the same
// shortage, is logged and retried after a backoff, as net/http does: the
// listener and the connections already open stay up. stop ends a backoff
// early; the caller closes ln first.
func acceptLoop(ln net.Listener, log *slog.Logger, stop <-chan struct{}, serve func(net.Conn) error) {
	var backoff time.Duration
	var timer *time.Timer
	for {
		nc, err := ln.Accept()
		if err == nil {
			if err = serve(nc); err == nil {
				backoff = 0
				continue
			}
			err = fmt.Errorf("hand connection from %s to the event loops: %w", nc.RemoteAddr(), err)
		} else if errors.Is(err, net.ErrClosed) {
			return
		}
		backoff = min(max(2*backoff, acceptBackoffFirst), acceptBackoffMax)
		log.Error("accept connection", "addr", ln.Addr().String(), "err", err, "retry_in", backoff)
		if timer == nil {
			timer = time.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return
		}
	}
}
