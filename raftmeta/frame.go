package raftmeta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// frameHeaderLen is the size of a frame's length and checksum fields.
const frameHeaderLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTornTail marks a log that ends in a frame that was never completely
// written: the crash came before that frame's sync returned, so nothing in it
// was acknowledged and it may be dropped.
var errTornTail = errors.New("torn tail")

// maxFrameBytes bounds one frame (one Ready's entries). A length field above
// it cannot come from a torn write of a real frame, so it is reported as
// corruption instead of being truncated away with everything after it.
const maxFrameBytes = 256 << 20

// appendFrame appends one frame holding payload to dst.
func appendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// sealFrame fills in the header of a frame built in place: buf[:8] reserved,
// the payload after it.
func sealFrame(buf []byte) {
	payload := buf[frameHeaderLen:]
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:8], crc32.Checksum(payload, castagnoli))
}

// scanFrames calls fn with each frame payload in data and returns the length
// of the valid prefix. base is data's offset in its file, for messages.
//
// Every frame is synced before the next one is written, so only the last frame
// can be torn by a crash. A bad frame is therefore a torn tail (errTornTail)
// when it is cut short by the end of data, when it is the last frame and fails
// its checksum, or when everything from it on is zero (a file extended but not
// written). A bad frame with more data after it is corruption (ErrCorrupt).
func scanFrames(data []byte, base int64, fn func(payload []byte) error) (int, error) {
	off := 0
	for off < len(data) {
		rest := data[off:]
		at := base + int64(off)
		if len(rest) < frameHeaderLen {
			return off, fmt.Errorf("%d stray bytes at offset %d: %w", len(rest), at, errTornTail)
		}
		n := uint64(binary.LittleEndian.Uint32(rest[0:4]))
		sum := binary.LittleEndian.Uint32(rest[4:8])
		avail := uint64(len(rest) - frameHeaderLen)
		switch {
		case allZero(rest):
			return off, fmt.Errorf("zeroed bytes from offset %d: %w", at, errTornTail)
		case n > maxFrameBytes:
			return off, fmt.Errorf("frame at offset %d claims %d bytes, more than any frame: %w", at, n, ErrCorrupt)
		case n > avail:
			return off, fmt.Errorf("frame at offset %d wants %d bytes, %d left: %w", at, n, avail, errTornTail)
		case n == 0:
			return off, fmt.Errorf("empty frame at offset %d: %w", at, ErrCorrupt)
		}
		payload := rest[frameHeaderLen : frameHeaderLen+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			if n == avail {
				return off, fmt.Errorf("checksum mismatch in the last frame at offset %d: %w", at, errTornTail)
			}
			return off, fmt.Errorf("checksum mismatch in frame at offset %d with %d bytes after it: %w",
				at, avail-n, ErrCorrupt)
		}
		if err := fn(payload); err != nil {
			return off, fmt.Errorf("frame at offset %d: %w", at, err)
		}
		off += frameHeaderLen + int(n)
	}
	return off, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
