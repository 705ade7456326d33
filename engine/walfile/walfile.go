// Package walfile is the format of the shards' write-ahead log files: their
// names and their entries, as the broker's replay and chronik-dump-log read
// them (the broker's writer, engine/wal.go, lays them out).
//
// A file holds entries one after the other, then zeros (its preallocated
// rest) or entries of an earlier generation (a recycled file's old
// content). An entry is the magic "CWAL", the file's generation (uint64),
// the body's length (uint64) and a CRC-32C of generation, length and body,
// then the body: items, each a topic ID (16 bytes), a partition (int32),
// the topic name's length (uint16) and name, a record batch's length
// (uint32) and the batch.
package walfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	// Magic starts every entry.
	Magic = "CWAL"
	// EntryHeaderSize is magic, generation, body length and CRC.
	EntryHeaderSize = 24
	// ItemHeaderSize is an item's fixed part: topic ID, partition, name
	// length and batch length (the name comes between the last two).
	ItemHeaderSize = 16 + 4 + 2 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileName orders WAL files by generation (a broker-wide counter) and names
// the shard that wrote them; a partition's entries always come from one
// shard, so replaying files in generation order keeps each partition's
// entries in order.
func FileName(gen uint64, shard int) string {
	return fmt.Sprintf("%016x-%04d.wal", gen, shard)
}

// ParseFileName is FileName's inverse.
func ParseFileName(name string) (gen uint64, shard int, ok bool) {
	if _, err := fmt.Sscanf(name, "%016x-%04d.wal", &gen, &shard); err != nil || FileName(gen, shard) != name {
		return 0, 0, false
	}
	return gen, shard, true
}

// Entry is one entry of a file, its CRC checked.
type Entry struct {
	Pos  int    // where it starts in the file
	Gen  uint64 // the generation of the file that wrote it
	Body []byte // its items (ParseBody)
}

// Item is one record batch of one partition in an entry.
type Item struct {
	TopicID   [16]byte
	Topic     string
	Partition int32
	Batch     []byte
}

// Scan calls fn for each entry of data in order, until fn returns false or
// the entries end: at zeros, the end of data, or the first entry that is
// short or fails its CRC (torn says why, as a crash mid-write leaves it).
func Scan(data []byte, fn func(e Entry) bool) (torn string) {
	for pos := 0; pos < len(data); {
		rest := data[pos:]
		if len(rest) < EntryHeaderSize {
			if allZero(rest) {
				return ""
			}
			return "short entry header"
		}
		if string(rest[:4]) != Magic {
			if allZero(rest[:EntryHeaderSize]) {
				return ""
			}
			return fmt.Sprintf("no entry at byte %d", pos)
		}
		n := binary.BigEndian.Uint64(rest[12:])
		if n > uint64(len(rest)-EntryHeaderSize) {
			return fmt.Sprintf("entry at byte %d runs past the end", pos)
		}
		body := rest[EntryHeaderSize : EntryHeaderSize+int(n)]
		if EntryCRC(rest, body) != binary.BigEndian.Uint32(rest[20:]) {
			return fmt.Sprintf("CRC mismatch in entry at byte %d", pos)
		}
		if !fn(Entry{Pos: pos, Gen: binary.BigEndian.Uint64(rest[4:]), Body: body}) {
			return ""
		}
		pos += EntryHeaderSize + int(n)
	}
	return ""
}

// EntryCRC is the CRC an entry with header hdr and body should carry: over
// its generation, its length and the body.
func EntryCRC(hdr, body []byte) uint32 {
	return crc32.Update(HeaderCRC(hdr), castagnoli, body)
}

// HeaderCRC is the entry CRC over what of header hdr it covers (generation
// and length), for a writer that adds the body piece by piece
// (crc32.Update with the Castagnoli table) and then PutEntryCRC.
func HeaderCRC(hdr []byte) uint32 { return crc32.Checksum(hdr[4:20], castagnoli) }

// AppendEntryHeader appends the header of an entry of generation gen whose
// body is bodyLen bytes, its CRC left zero for PutEntryCRC.
func AppendEntryHeader(dst []byte, gen, bodyLen uint64) []byte {
	dst = append(dst, Magic...)
	dst = binary.BigEndian.AppendUint64(dst, gen)
	dst = binary.BigEndian.AppendUint64(dst, bodyLen)
	return append(dst, 0, 0, 0, 0)
}

// PutEntryCRC sets the CRC of the entry header hdr.
func PutEntryCRC(hdr []byte, crc uint32) { binary.BigEndian.PutUint32(hdr[20:], crc) }

// ItemSize is the size in a body of an item of topic holding a batch of
// batchLen bytes.
func ItemSize(topic string, batchLen int) int { return ItemHeaderSize + len(topic) + batchLen }

// AppendItemHeader appends the header of an item of a partition whose
// batch of batchLen bytes follows it.
func AppendItemHeader(dst []byte, topicID [16]byte, topic string, partition int32, batchLen int) []byte {
	dst = append(dst, topicID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(partition))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(topic)))
	dst = append(dst, topic...)
	return binary.BigEndian.AppendUint32(dst, uint32(batchLen))
}

// FirstEntryGen reads the generation of the entry at the start of r, a file
// of size bytes; ok is false when it does not start with a whole entry
// (never written, or torn).
func FirstEntryGen(r io.Reader, size int64) (gen uint64, ok bool) {
	hdr := make([]byte, EntryHeaderSize)
	if _, err := io.ReadFull(r, hdr); err != nil || string(hdr[:4]) != Magic {
		return 0, false
	}
	n := binary.BigEndian.Uint64(hdr[12:])
	if n > uint64(size-EntryHeaderSize) {
		return 0, false
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, false
	}
	if EntryCRC(hdr, body) != binary.BigEndian.Uint32(hdr[20:]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(hdr[4:]), true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ParseBody splits an entry's body into items. The batches point into
// body.
func ParseBody(body []byte) ([]Item, error) {
	var items []Item
	for len(body) > 0 {
		if len(body) < ItemHeaderSize {
			return nil, errors.New("short item header")
		}
		var it Item
		copy(it.TopicID[:], body[:16])
		it.Partition = int32(binary.BigEndian.Uint32(body[16:]))
		nameLen := int(binary.BigEndian.Uint16(body[20:]))
		if len(body) < ItemHeaderSize+nameLen {
			return nil, errors.New("short topic name")
		}
		it.Topic = string(body[22 : 22+nameLen])
		at := 22 + nameLen
		size := int(binary.BigEndian.Uint32(body[at:]))
		at += 4
		if len(body)-at < size {
			return nil, errors.New("short batch")
		}
		it.Batch = body[at : at+size]
		items = append(items, it)
		body = body[at+size:]
	}
	return items, nil
}
