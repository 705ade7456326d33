// Package netpoll accepts Kafka client connections, cuts the byte stream into
// request frames (4-byte big-endian size + body), hands each frame to the
// engine, and writes responses back in request order.
package netpoll

import (
	"log/slog"
	"time"
)

// ConnInfo identifies one client connection to the handler.
type ConnInfo struct {
	ID     uint64 // unique for the life of the process
	Remote string // client address
}

// Responder completes one request. Exactly one of its methods is called, once,
// from any goroutine.
type Responder interface {
	// Respond queues the response frame body (the 4-byte size is added by
	// netpoll). Buffers are owned by netpoll from then on. Respond(nil) sends
	// nothing but frees the request's in-order slot (acks=0 produce).
	Respond(bufs [][]byte)
	// Close logs reason and closes the connection (unparseable framing).
	Close(reason error)
}

// Handler is the engine as netpoll sees it.
type Handler interface {
	// Serve handles one request frame. body is a private copy the handler owns.
	// Serve runs on an event loop and must not block.
	Serve(c ConnInfo, body []byte, r Responder)
	// ConnClosed tells the handler a connection is gone (fetch sessions etc).
	ConnClosed(c ConnInfo)
}

// Options configures a listener.
type Options struct {
	Addr          string // host:port; port 0 picks a free one
	Transport     string // "gnet" (default) or "std"
	NumLoops      int    // event loops; 0 = one per usable CPU
	MaxFrameBytes int32  // socket.request.max.bytes: larger frames close the connection
	// MaxInflight caps requests read but not yet answered on one connection; past
	// it netpoll stops reading that connection until responses drain.
	MaxInflight  int
	WriteTimeout time.Duration // a client that does not drain its responses within this is closed
	Logger       *slog.Logger
}
