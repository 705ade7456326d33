package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/netpoll"
)

// request is one decoded client request on its way through the engine. Exactly
// one of respond, respondNone or closeConnAfterEarlier completes it.
type request struct {
	b        *Broker
	conn     netpoll.ConnInfo
	key      int16
	version  int16
	corr     int32
	clientID string
	kreq     kmsg.Request
	out      netpoll.Responder
	received time.Time
	done     atomic.Bool
}

var errRequestHeader = errors.New("malformed request header")

// requestHeader is the fixed part of request headers v1/v2.
type requestHeader struct {
	key, version int16
	corr         int32
	clientID     string
	bodyAt       int // offset of the request body (after tagged fields for v2)
}

// parseRequestHeader reads key, version, correlation id and client id. The
// tagged-field section of header v2 is skipped by the caller once the version
// is known to be flexible.
func parseRequestHeader(b []byte) (requestHeader, error) {
	var h requestHeader
	if len(b) < 10 {
		return h, fmt.Errorf("%w: %d bytes", errRequestHeader, len(b))
	}
	h.key = int16(binary.BigEndian.Uint16(b[0:]))
	h.version = int16(binary.BigEndian.Uint16(b[2:]))
	h.corr = int32(binary.BigEndian.Uint32(b[4:]))
	n := int16(binary.BigEndian.Uint16(b[8:]))
	h.bodyAt = 10
	if n > 0 {
		if int(n) > len(b)-10 {
			return h, fmt.Errorf("%w: client id length %d past end", errRequestHeader, n)
		}
		h.clientID = string(b[10 : 10+int(n)])
		h.bodyAt += int(n)
	} else if n < -1 {
		return h, fmt.Errorf("%w: client id length %d", errRequestHeader, n)
	}
	return h, nil
}

// skipTaggedFields returns the offset just past a tagged-field section at b[at:].
func skipTaggedFields(b []byte, at int) (int, error) {
	n, w := binary.Uvarint(b[at:])
	if w <= 0 {
		return 0, fmt.Errorf("%w: bad tagged field count", errRequestHeader)
	}
	at += w
	for i := uint64(0); i < n; i++ {
		_, w := binary.Uvarint(b[at:]) // tag
		if w <= 0 {
			return 0, fmt.Errorf("%w: bad tag", errRequestHeader)
		}
		at += w
		size, w := binary.Uvarint(b[at:])
		if w <= 0 || size > uint64(len(b)-at-w) {
			return 0, fmt.Errorf("%w: bad tag size", errRequestHeader)
		}
		at += w + int(size)
	}
	return at, nil
}

// respond encodes resp behind a response header and hands it to netpoll.
// ApiVersions always uses response header v0 (KIP-511), other flexible
// responses header v1 with an empty tagged-field section.
func (r *request) respond(resp kmsg.Response) {
	if !r.done.CompareAndSwap(false, true) {
		return
	}
	buf := make([]byte, 4, 256)
	binary.BigEndian.PutUint32(buf, uint32(r.corr))
	if resp.IsFlexible() && resp.Key() != 18 {
		buf = append(buf, 0)
	}
	buf = resp.AppendTo(buf)
	// Counted before the hand-off: a client that has its answer finds it
	// counted.
	r.b.requests.observe(r.key, r.received)
	r.out.Respond([][]byte{buf})
}

// respondNone frees the request's slot without writing (acks=0 produce).
func (r *request) respondNone() {
	if r.done.CompareAndSwap(false, true) {
		r.b.requests.observe(r.key, r.received)
		r.out.Respond(nil)
	}
}

// closeConnAfterEarlier closes the connection once the answers to the
// connection's earlier requests are written, reading none after it (a
// request that cannot be served, a failed acks=0 produce).
func (r *request) closeConnAfterEarlier(err error) {
	if r.done.CompareAndSwap(false, true) {
		r.out.CloseAfterEarlier(err)
	}
}
