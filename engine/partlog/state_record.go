package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// A partition's small state files (partition.checkpoint, cleaner.checkpoint,
// recovery.checkpoint, cleaner.swap) are each one fixed-size record:
//
//	+-------+---------+-------------------+--------+
//	| magic | version | payload           | crc32c |
//	| [4]   | u16     | fixed per format  | u32    |
//	+-------+---------+-------------------+--------+
//
// big-endian, the CRC-32C covering everything before it.
const recordOverhead = 4 + 2 + 4

// encodeStateRecord frames payload as a record of the given magic and version.
func encodeStateRecord(magic string, version uint16, payload []byte) []byte {
	b := make([]byte, 0, recordOverhead+len(payload))
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32c))
}

// decodeStateRecord checks b's length, magic, version and CRC and returns its
// payload of payloadSize bytes.
func decodeStateRecord(b []byte, magic string, version uint16, payloadSize int) ([]byte, error) {
	if len(b) != recordOverhead+payloadSize || string(b[:4]) != magic {
		return nil, fmt.Errorf("not a %q record of %d bytes", magic, recordOverhead+payloadSize)
	}
	if v := binary.BigEndian.Uint16(b[4:]); v != version {
		return nil, fmt.Errorf("unknown %q version %d", magic, v)
	}
	end := len(b) - 4
	if crc32.Checksum(b[:end], crc32c) != binary.BigEndian.Uint32(b[end:]) {
		return nil, fmt.Errorf("%q record CRC mismatch", magic)
	}
	return b[6:end], nil
}

// readStateRecord loads the record in dir/name; found is false when there is
// none, and err set (found false) when it is unreadable or malformed.
func readStateRecord(dir, name, magic string, version uint16, payloadSize int) (payload []byte, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s in %s: %w", name, dir, err)
	}
	payload, err = decodeStateRecord(b, magic, version, payloadSize)
	if err != nil {
		return nil, false, fmt.Errorf("%s in %s: %w", name, dir, err)
	}
	return payload, true, nil
}
