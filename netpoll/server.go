package netpoll

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// connIDs numbers connections for the life of the process.
var connIDs atomic.Uint64

func nextConnInfo(listener string, remote net.Addr) ConnInfo {
	info := ConnInfo{ID: connIDs.Add(1), Listener: listener}
	if remote != nil {
		info.Remote = remote.String()
	}
	return info
}

// transport is one way of accepting and serving connections.
type transport interface {
	// stopAccepting refuses new connections; existing ones keep working.
	stopAccepting()
	// stop closes every connection and waits, until ctx ends, for the
	// handler to have been told about each.
	stop(ctx context.Context) error
}

// Server is a bound listener serving one Handler.
type Server struct {
	opts Options
	h    Handler
	addr net.Addr
	tr   transport

	draining  atomic.Bool
	busyConns atomic.Int64  // connections that owe a client a response
	openConns atomic.Int64  // connections accepted and not yet closed
	idle      chan struct{} // signalled when busyConns reaches zero while draining

	shutdownOnce sync.Once
	shutdownErr  error
}

// Listen binds opts.Addr and starts serving h. The socket is bound before
// Listen returns, so a port in use is reported here.
func Listen(opts Options, h Handler) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, h: h, idle: make(chan struct{}, 1)}
	switch opts.Transport {
	case "std":
		s.tr, s.addr, err = listenStd(s)
	default:
		s.tr, s.addr, err = listenGnet(s)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the bound address, with port 0 resolved.
func (s *Server) Addr() net.Addr { return s.addr }

// OpenConnections is how many client connections are open now.
func (s *Server) OpenConnections() int64 { return s.openConns.Load() }

// Shutdown stops accepting connections and reading requests, waits until
// every request already read has had its response written (or ctx ends),
// then closes all connections. It returns ctx's error if the wait was cut
// short. Later calls return the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.draining.Store(true)
		s.tr.stopAccepting()
		var err error
		for s.busyConns.Load() > 0 && err == nil {
			select {
			case <-s.idle:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if stopErr := s.tr.stop(ctx); err == nil {
			err = stopErr
		}
		s.shutdownErr = err
	})
	return s.shutdownErr
}

// connIdle is called when a connection stops owing responses.
func (s *Server) connIdle() {
	if s.busyConns.Add(-1) == 0 && s.draining.Load() {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}
