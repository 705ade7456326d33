package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

// FuzzStreamedWalkMatchesInPlace feeds the same records section to
// CheckRecords uncompressed (parsed in place) and under each codec
// (streamed): both must accept or refuse it alike and see the same
// timestamps, however the section is framed or how long its records are.
func FuzzStreamedWalkMatchesInPlace(f *testing.F) {
	var recs []byte
	for i, v := range []string{"a", strings.Repeat("long value ", 8000), ""} {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i * 10), Key: []byte{byte('k' + i)}, Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	f.Add(recs, int32(3), true)
	f.Add(recs[:len(recs)-3], int32(3), false)
	f.Add(recs, int32(2), false)
	f.Add([]byte{0x02, 0, 0}, int32(1), false)
	// Records with headers, short and past the stream's window, and with
	// every offset delta 0.
	var withHeaders []byte
	for _, v := range []string{"a", strings.Repeat("long value ", 8000)} {
		r := kmsg.Record{OffsetDelta: 0, Key: []byte{'k'}, Value: []byte(v),
			Headers: []kmsg.Header{{Key: "h", Value: []byte("v")}, {Key: "", Value: nil}}}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		withHeaders = r.AppendTo(withHeaders)
	}
	f.Add(withHeaders, int32(2), true)
	// A keyless record past the stream's window between keyed ones: the
	// streamed walk skips its fields and must still see it has no key.
	var keyless []byte
	for i, key := range [][]byte{{'k'}, nil, {'m'}} {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i * 7), Key: key, Value: []byte(strings.Repeat("long value ", 8000))}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		keyless = r.AppendTo(keyless)
	}
	f.Add(keyless, int32(3), true)
	// Timestamps are also checked against a window that refuses some of
	// the records' deltas (a fuzzed batch's base timestamp is 0).
	timeRules := RecordRules{CheckTimestamps: true, Now: 10, BeforeMs: 5, AfterMs: 5}
	f.Fuzz(func(t *testing.T, recs []byte, count int32, requireKeys bool) {
		if count < 0 || count > 1<<16 {
			return
		}
		plainRaw := fuzzBatch(0, recs, count)
		ph, err := batch.ParseHeader(plainRaw)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := CheckRecords(plainRaw, &ph, RecordRules{RequireKeys: requireKeys}, 0)
		timeRules.RequireKeys = requireKeys
		wantTimed, wantTimedErr := CheckRecords(plainRaw, &ph, timeRules, 0)
		for name, c := range compressedEachWay(recs) {
			raw := fuzzBatch(c.codec, c.data, count)
			h, err := batch.ParseHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := CheckRecords(raw, &h, RecordRules{RequireKeys: requireKeys}, 0)
			if (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, ErrRecordWithoutKey) != errors.Is(wantErr, ErrRecordWithoutKey) {
				t.Fatalf("%s: %v; in place: %v", name, gotErr, wantErr)
			}
			if wantErr == nil && (got.MaxTimestamp != want.MaxTimestamp || got.Bytes != want.Bytes ||
				got.OffsetDeltasOff != want.OffsetDeltasOff) {
				t.Fatalf("%s: saw %+v; in place %+v", name, got, want)
			}
			if errors.Is(wantErr, ErrRecordWithoutKey) && !slices.Equal(got.Refused, want.Refused) {
				t.Fatalf("%s: refused %v; in place %v", name, got.Refused, want.Refused)
			}
			gotTimed, gotTimedErr := CheckRecords(raw, &h, timeRules, 0)
			for _, refusal := range []error{ErrRecordWithoutKey, ErrTimestampOutOfRange, ErrMalformedRecords} {
				if errors.Is(gotTimedErr, refusal) != errors.Is(wantTimedErr, refusal) {
					t.Fatalf("%s with timestamps checked: %v; in place: %v", name, gotTimedErr, wantTimedErr)
				}
			}
			if !slices.Equal(gotTimed.Refused, wantTimed.Refused) {
				t.Fatalf("%s with timestamps checked: refused %v; in place %v", name, gotTimed.Refused, wantTimed.Refused)
			}
		}
	})
}

func fuzzBatch(codec int16, recs []byte, count int32) []byte {
	rb := kmsg.RecordBatch{Magic: 2, Attributes: codec, LastOffsetDelta: max(count-1, 0), FirstTimestamp: 1000, MaxTimestamp: 1000,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: count, Records: recs}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	return raw
}

// FuzzStreamedWalkMatchesDecompress feeds arbitrary bytes as a compressed
// records section: the streamed walk may accept it only where decompress
// does and the decompressed section passes the in-place walk with the same
// timestamps; where decompress refuses, so must the walk. (The walk may be
// stricter only on zstd windows past maxStreamZstdWindow.)
func FuzzStreamedWalkMatchesDecompress(f *testing.F) {
	var recs []byte
	for i, v := range []string{"a", strings.Repeat("long value ", 8000)} {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i * 10), Key: []byte{'k'}, Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	for _, c := range compressedEachWay(recs) {
		f.Add(c.data, uint8(c.codec), int32(2))
	}
	f.Fuzz(func(t *testing.T, section []byte, codec uint8, count int32) {
		if codec < 1 || codec > 4 || count < 1 || count > 1<<16 {
			return
		}
		raw := fuzzBatch(int16(codec), section, count)
		h, _ := batch.ParseHeader(raw)
		got, gotErr := CheckRecords(raw, &h, RecordRules{}, 0)
		plain, decErr := decompress(int8(codec), section)
		if decErr != nil {
			if gotErr == nil {
				t.Fatalf("walk accepts a section decompress refuses: %v", decErr)
			}
			return
		}
		plainRaw := fuzzBatch(0, plain, count)
		ph, _ := batch.ParseHeader(plainRaw)
		want, wantErr := CheckRecords(plainRaw, &ph, RecordRules{}, 0)
		switch {
		case gotErr == nil && wantErr != nil:
			t.Fatalf("walk accepts what the in-place walk refuses: %v", wantErr)
		case gotErr != nil && wantErr == nil && codec != 4:
			t.Fatalf("walk refuses what decompress and the in-place walk accept: %v", gotErr)
		case gotErr == nil && (got.MaxTimestamp != want.MaxTimestamp || got.Bytes != want.Bytes ||
			got.OffsetDeltasOff != want.OffsetDeltasOff):
			t.Fatalf("walk saw %+v, in place %+v", got, want)
		}
	})
}

// compressedSection is a records section compressed one way.
type compressedSection struct {
	codec int16
	data  []byte
}

// compressedEachWay compresses recs with every codec and framing a
// producer may send.
func compressedEachWay(recs []byte) map[string]compressedSection {
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	zw.Write(recs)
	zw.Close()
	var lbuf bytes.Buffer
	lw := lz4.NewWriter(&lbuf)
	lw.Write(recs)
	lw.Close()
	return map[string]compressedSection{
		"gzip": {1, gzipped(recs)}, "snappy": {2, snappy.Encode(nil, recs)}, "xerial": {2, appendXerial(nil, recs)},
		"lz4": {3, lbuf.Bytes()}, "zstd": {4, zbuf.Bytes()},
	}
}
