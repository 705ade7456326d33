package partlog

import (
	"encoding/binary"

	"github.com/chronik-go/chronik/uring"
)

// offsetEntrySize is one .index entry: relative offset int32, position int32.
const offsetEntrySize = 8

// offsetIndex maps a segment's relative offsets to positions in its .log,
// sparsely: one entry per IndexIntervalBytes of appended data.
type offsetIndex struct {
	indexEntries
}

func newOffsetIndex(path string, op uring.Opener) offsetIndex {
	return offsetIndex{indexEntries{entrySize: offsetEntrySize, path: path, opener: op}}
}

func decodeOffsetEntry(e []byte) (rel, pos int64) {
	return int64(int32(binary.BigEndian.Uint32(e))), int64(int32(binary.BigEndian.Uint32(e[4:])))
}

func (x *offsetIndex) append(rel, pos int32) error {
	x.tail = binary.BigEndian.AppendUint32(x.tail, uint32(rel))
	x.tail = binary.BigEndian.AppendUint32(x.tail, uint32(pos))
	return x.added()
}

// search returns the number of entries whose relative offset is <= rel
// (entries are sorted by relative offset). Targets at or past the in-memory
// tail are searched there only.
func (x *offsetIndex) search(rel int64) (int, error) {
	lo, hi := 0, x.inFile
	if x.inFile < x.n {
		if first, _ := decodeOffsetEntry(x.tail); first <= rel {
			lo, hi = x.inFile, x.n
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e, err := x.at(mid)
		if err != nil {
			return 0, err
		}
		if r, _ := decodeOffsetEntry(e); r <= rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// floor returns the position of the last entry whose relative offset is <=
// rel, or 0: the batch holding rel starts there or later.
func (x *offsetIndex) floor(rel int64) (int64, error) {
	i, err := x.search(rel)
	if err != nil || i == 0 {
		return 0, err
	}
	e, err := x.at(i - 1)
	if err != nil {
		return 0, err
	}
	_, pos := decodeOffsetEntry(e)
	return pos, nil
}

// last returns the final entry; ok is false for an empty index.
func (x *offsetIndex) last() (rel, pos int64, ok bool, err error) {
	if x.n == 0 {
		return 0, 0, false, nil
	}
	e, err := x.at(x.n - 1)
	if err != nil {
		return 0, 0, false, err
	}
	rel, pos = decodeOffsetEntry(e)
	return rel, pos, true, nil
}

// truncateAtRel drops the entries for batches at or above rel.
func (x *offsetIndex) truncateAtRel(rel int64) error {
	i, err := x.search(rel - 1)
	if err != nil {
		return err
	}
	return x.truncate(i)
}
