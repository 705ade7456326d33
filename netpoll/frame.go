package netpoll

import (
	"encoding/binary"
	"fmt"
)

// A Kafka frame on the wire:
//
//	+----------------+---------------------------+
//	| size: int32 BE | body: size bytes          |
//	+----------------+---------------------------+
//
// Requests and responses use the same framing. A size below zero or above
// MaxFrameBytes means the stream cannot be trusted any more, so the
// connection is closed (Kafka's InvalidReceiveException).
const frameHeaderBytes = 4

// frameSize decodes a frame header and checks it against max.
func frameSize(hdr []byte, max int32) (int32, error) {
	size := int32(binary.BigEndian.Uint32(hdr))
	if size < 0 || size > max {
		return size, fmt.Errorf("frame size %d outside 0..%d", size, max)
	}
	return size, nil
}

// logBadFrame records why a connection is being dropped for its framing.
func (c *conn) logBadFrame(size int32, err error) {
	c.srv.opts.Logger.Warn("closing connection: bad request frame",
		"remote", c.info.Remote, "conn", c.info.ID, "size", size, "err", err)
}
