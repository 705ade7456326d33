package partlog

import (
	"encoding/binary"

	"github.com/chronik-go/chronik/uring"
)

// timeEntrySize is one .timeindex entry: timestamp int64, relative offset int32.
const timeEntrySize = 12

// noTimestamp is Kafka's "no timestamp" (RecordBatch.NO_TIMESTAMP); a time
// index only records timestamps above it.
const noTimestamp = -1

// timeIndex records, sparsely, how a segment's largest timestamp grew: each
// entry is a new maximum and the base offset of the first batch reaching it.
type timeIndex struct {
	indexEntries
	lastTS int64 // the last entry's timestamp, or noTimestamp
}

func newTimeIndex(path string, op uring.Opener) timeIndex {
	return timeIndex{indexEntries: indexEntries{entrySize: timeEntrySize, path: path, opener: op}, lastTS: noTimestamp}
}

func decodeTimeEntry(e []byte) (ts, rel int64) {
	return int64(binary.BigEndian.Uint64(e)), int64(int32(binary.BigEndian.Uint32(e[8:])))
}

// maybeAppend records (ts, rel) if ts is larger than the last entry's
// timestamp, keeping both columns monotonic.
func (x *timeIndex) maybeAppend(ts int64, rel int32) error {
	if ts <= x.lastTS {
		return nil
	}
	x.tail = binary.BigEndian.AppendUint64(x.tail, uint64(ts))
	x.tail = binary.BigEndian.AppendUint32(x.tail, uint32(rel))
	x.lastTS = ts
	return x.added()
}

// floor returns the relative offset of the last entry whose timestamp is <=
// ts; ok is false when there is none.
func (x *timeIndex) floor(ts int64) (rel int64, ok bool, err error) {
	lo, hi := 0, x.inFile
	if x.inFile < x.n {
		if first, _ := decodeTimeEntry(x.tail); first <= ts {
			lo, hi = x.inFile, x.n
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e, err := x.at(mid)
		if err != nil {
			return 0, false, err
		}
		if t, _ := decodeTimeEntry(e); t <= ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0, false, nil
	}
	e, err := x.at(lo - 1)
	if err != nil {
		return 0, false, err
	}
	_, rel = decodeTimeEntry(e)
	return rel, true, nil
}

// last returns the final entry; ok is false for an empty index.
func (x *timeIndex) last() (ts, rel int64, ok bool, err error) {
	if x.n == 0 {
		return 0, 0, false, nil
	}
	e, err := x.at(x.n - 1)
	if err != nil {
		return 0, 0, false, err
	}
	ts, rel = decodeTimeEntry(e)
	return ts, rel, true, nil
}

// refreshLast reloads lastTS after the entries changed other than by appends.
func (x *timeIndex) refreshLast() error {
	ts, _, ok, err := x.last()
	if err != nil {
		return err
	}
	x.lastTS = noTimestamp
	if ok {
		x.lastTS = ts
	}
	return nil
}

// truncateAtRel drops the entries pointing at batches at or above rel
// (relative offsets are non-decreasing).
func (x *timeIndex) truncateAtRel(rel int64) error {
	lo, hi := 0, x.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e, err := x.at(mid)
		if err != nil {
			return err
		}
		if _, r := decodeTimeEntry(e); r < rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if err := x.truncate(lo); err != nil {
		return err
	}
	return x.refreshLast()
}

func (x *timeIndex) reset() error {
	x.lastTS = noTimestamp
	return x.indexEntries.reset()
}

func (x *timeIndex) attach() error {
	if err := x.indexEntries.attach(); err != nil {
		return err
	}
	return x.refreshLast()
}
