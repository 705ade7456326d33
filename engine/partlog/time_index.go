package partlog

import "encoding/binary"

// timeEntrySize is one .timeindex entry: timestamp int64, relative offset int32.
const timeEntrySize = 12

// noTimestamp is Kafka's "no timestamp" (RecordBatch.NO_TIMESTAMP); a time
// index only records timestamps above it.
const noTimestamp = -1

// timeIndex records, sparsely, how a segment's largest timestamp grew: each
// entry is a new maximum and the base offset of the first batch reaching it.
type timeIndex struct {
	indexEntries
}

func newTimeIndex(path string) timeIndex {
	return timeIndex{indexEntries{entrySize: timeEntrySize, path: path}}
}

func decodeTimeEntry(e []byte) (ts, rel int64) {
	return int64(binary.BigEndian.Uint64(e)), int64(int32(binary.BigEndian.Uint32(e[8:])))
}

// maybeAppend records (ts, rel) if ts is larger than the last entry's
// timestamp, keeping both columns monotonic. Only for in-memory indexes.
func (x *timeIndex) maybeAppend(ts int64, rel int32) {
	lastTS := int64(noTimestamp)
	if x.n > 0 {
		lastTS, _ = decodeTimeEntry(x.mem[(x.n-1)*timeEntrySize:])
	}
	if ts <= lastTS {
		return
	}
	x.mem = binary.BigEndian.AppendUint64(x.mem, uint64(ts))
	x.mem = binary.BigEndian.AppendUint32(x.mem, uint32(rel))
	x.n++
}

// floor returns the relative offset of the last entry whose timestamp is <=
// ts; ok is false when there is none.
func (x *timeIndex) floor(ts int64) (rel int64, ok bool, err error) {
	lo, hi := 0, x.n
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

// truncateAtRel drops the in-memory entries pointing at batches at or above
// rel (relative offsets are non-decreasing).
func (x *timeIndex) truncateAtRel(rel int64) {
	lo, hi := 0, x.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if _, r := decodeTimeEntry(x.mem[mid*timeEntrySize:]); r < rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	x.truncate(lo)
}
