package engine

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/group"
	"github.com/chronik-go/chronik/engine/partlog"
)

// Group records go into __consumer_offsets as ordinary magic-2 batches and
// come back out in log order, tombstones (nil values) included, also from
// batches a log cleaner might have recompressed.
func TestGroupLogBatchesRoundTrip(t *testing.T) {
	l, err := partlog.Open(t.TempDir(), partlog.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first := []group.Record{{Key: []byte("k1"), Value: []byte("v1")}, {Key: []byte("k2")}}
	raw := encodeGroupBatch(first, time.Now())
	if _, err := batch.Validate(raw); err != nil {
		t.Fatalf("encoded batch does not validate: %v", err)
	}
	if _, err := l.Append(raw, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(gzipBatch(t, encodeGroupBatch([]group.Record{{Key: []byte("k3"), Value: []byte("v3")}}, time.Now())), 0); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = replayGroupLog(l, func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%s=%v", k, v != nil))
		if v != nil {
			got[len(got)-1] += ":" + string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[k1=true:v1 k2=false k3=true:v3]"; fmt.Sprint(got) != want {
		t.Fatalf("replayed %v, want %s", got, want)
	}
}

// gzipBatch recompresses an uncompressed batch's records with gzip.
func gzipBatch(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(raw[batch.HeaderSize:])
	w.Close()
	out := append(append([]byte(nil), raw[:batch.HeaderSize]...), buf.Bytes()...)
	binary.BigEndian.PutUint16(out[21:], binary.BigEndian.Uint16(out[21:])|1)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-batch.LengthFieldEnd))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := batch.Validate(out); err != nil {
		t.Fatalf("gzip batch: %v", err)
	}
	return out
}
