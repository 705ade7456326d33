package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
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
	f.Fuzz(func(t *testing.T, recs []byte, count int32, requireKeys bool) {
		if count < 0 || count > 1<<16 {
			return
		}
		plainRaw := fuzzBatch(0, recs, count)
		ph, err := batch.ParseHeader(plainRaw)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := CheckRecords(plainRaw, &ph, requireKeys)
		var zbuf bytes.Buffer
		zw, _ := zstd.NewWriter(&zbuf)
		zw.Write(recs)
		zw.Close()
		var lbuf bytes.Buffer
		lw := lz4.NewWriter(&lbuf)
		lw.Write(recs)
		lw.Close()
		for name, c := range map[string]struct {
			codec int16
			data  []byte
		}{
			"gzip": {1, gzipped(recs)}, "snappy": {2, snappy.Encode(nil, recs)}, "xerial": {2, appendXerial(nil, recs)},
			"lz4": {3, lbuf.Bytes()}, "zstd": {4, zbuf.Bytes()},
		} {
			raw := fuzzBatch(c.codec, c.data, count)
			h, err := batch.ParseHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := CheckRecords(raw, &h, requireKeys)
			if (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, ErrRecordWithoutKey) != errors.Is(wantErr, ErrRecordWithoutKey) {
				t.Fatalf("%s: %v; in place: %v", name, gotErr, wantErr)
			}
			if wantErr == nil && (got.MinTimestamp != want.MinTimestamp || got.MaxTimestamp != want.MaxTimestamp || got.Bytes != want.Bytes) {
				t.Fatalf("%s: saw %+v; in place %+v", name, got, want)
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
