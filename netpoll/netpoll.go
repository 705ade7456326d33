// Package netpoll accepts Kafka client connections, cuts the byte stream into
// request frames (4-byte big-endian size + body), hands each frame to the
// engine, and writes responses back in request order.
//
// Two transports sit behind one Server: "gnet" (event loops, the default) and
// "std" (net.Listener, a reader and a writer goroutine per connection). Both
// share the per-connection state in conn.go:
//
//	read frame ─► seq n ─► Handler.Serve ─► Responder (any goroutine, any order)
//	                                              │
//	             ring of MaxInflight slots ◄──────┘
//	                 │ head run complete
//	                 ▼
//	             pending (size prefix + bufs) ─► one flusher ─► writev
//
// Backpressure: a connection stops being read while MaxInflight requests are
// unanswered or MaxQueuedBytes of responses are unwritten, and is closed if
// its client takes no response bytes for WriteTimeout.
package netpoll

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// ConnInfo identifies one client connection to the handler.
type ConnInfo struct {
	ID       uint64 // unique for the life of the process
	Remote   string // client address
	Listener string // Options.Listener of the listener it came through
}

// Responder completes one request. Exactly one of its methods is called, once,
// from any goroutine.
type Responder interface {
	// Respond queues the response frame body (the 4-byte size is added by
	// netpoll). Buffers are owned by netpoll from then on. Respond(nil) sends
	// nothing but frees the request's in-order slot (acks=0 produce).
	Respond(bufs [][]byte)
	// Close logs reason and closes the connection (unparseable framing); no
	// further request is read from it and unwritten responses are dropped.
	Close(reason error)
	// CloseAfterEarlier logs reason and closes the connection once every
	// earlier request's response is written, in order, as Kafka closes a
	// connection for a failed acks=0 produce after answering what came
	// before it. This request gets no response and no further one is read.
	CloseAfterEarlier(reason error)
	// Reserve asks for room for a response of up to want bytes among the
	// connection's unwritten responses and returns what it grants, 0 to
	// want: what MaxQueuedBytes leaves after the responses queued and the
	// other requests' grants. A handler whose response size it chooses (a
	// fetch) keeps to the grant; the grant ends with the request, and a
	// request already answered or closed is granted 0.
	Reserve(want int) int
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
	// Listener names the listener (Kafka's listener name); each
	// connection's ConnInfo carries it to the handler.
	Listener      string
	Addr          string // host:port; port 0 picks a free one
	Transport     string // "gnet" (default) or "std"
	NumLoops      int    // gnet event loops; 0 = one per usable CPU (GOMAXPROCS)
	MaxFrameBytes int32  // socket.request.max.bytes: larger frames close the connection
	// MaxInflight caps requests read but not yet answered on one connection; past
	// it netpoll stops reading that connection until responses drain.
	MaxInflight int
	// MaxQueuedBytes caps response bytes queued but not yet taken by the socket
	// on one connection, counting responses that wait for an earlier one;
	// past it netpoll stops reading that connection, and Responder.Reserve
	// grants only what it leaves, so requests already read cannot add more
	// than about as much again. gnet
	// keeps draining a paused socket into its inbound buffer, so a paused
	// connection holding more than MaxFrameBytes+MaxQueuedBytes of unread input
	// is closed.
	MaxQueuedBytes int
	WriteTimeout   time.Duration // a client that takes no response bytes for this long is closed
	// IdleTimeout (connections.max.idle.ms) closes a connection that has had
	// no request in flight, no response unwritten and no byte received for
	// this long. Zero never closes a connection for being idle.
	IdleTimeout time.Duration
	// TLS, when set, serves TLS (Kafka's SSL listener) on the std
	// transport; each connection's handshake must finish within
	// WriteTimeout.
	TLS    *tls.Config
	Logger *slog.Logger
}

// Defaults used for zero Options fields.
const (
	DefaultAddr           = ":9092"
	DefaultMaxFrameBytes  = 100 << 20 // Kafka's socket.request.max.bytes default
	DefaultMaxInflight    = 64
	DefaultMaxQueuedBytes = 64 << 20
	DefaultWriteTimeout   = 30 * time.Second
)

// withDefaults fills zero fields and rejects values netpoll cannot serve.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	switch o.Transport {
	case "":
		o.Transport = "gnet"
	case "gnet", "std":
	default:
		return o, fmt.Errorf("netpoll transport %q: want gnet or std", o.Transport)
	}
	if o.TLS != nil && o.Transport != "std" {
		return o, fmt.Errorf("netpoll transport %q cannot serve TLS: the std transport does", o.Transport)
	}
	if o.NumLoops <= 0 {
		o.NumLoops = runtime.GOMAXPROCS(0)
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.IdleTimeout < 0 {
		o.IdleTimeout = 0 // connections.max.idle.ms=-1: never
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
