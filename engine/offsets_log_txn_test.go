package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/group"
	"github.com/chronik-go/chronik/engine/partlog"
)

// asProducerBatch rewrites an encoded group batch as producer pid's at
// epoch 3 with the given attributes (transactional, control).
func asProducerBatch(t testing.TB, raw []byte, attrs uint16, pid int64) []byte {
	t.Helper()
	out := append([]byte(nil), raw...)
	binary.BigEndian.PutUint16(out[21:], binary.BigEndian.Uint16(out[21:])|attrs)
	binary.BigEndian.PutUint64(out[43:], uint64(pid))
	binary.BigEndian.PutUint16(out[51:], 3)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := batch.Validate(out); err != nil {
		t.Fatalf("producer batch: %v", err)
	}
	return out
}

// replayLog records what loadGroupLog hands a coordinator.
type replayLog struct{ calls []string }

func (r *replayLog) Replay(k, v []byte) error {
	if string(k) == "bad" {
		return fmt.Errorf("unreadable")
	}
	r.calls = append(r.calls, "plain "+string(k))
	return nil
}

func (r *replayLog) ReplayTxn(pid int64, k, v []byte) error {
	r.calls = append(r.calls, fmt.Sprintf("txn[%d] %s", pid, k))
	return nil
}

func (r *replayLog) CompleteTxn(pid int64, commit bool) {
	r.calls = append(r.calls, fmt.Sprintf("end[%d] commit=%v", pid, commit))
}

// loadGroupLog sends plain records to Replay, transactional ones (also
// recompressed) to ReplayTxn with their producer, and markers to
// CompleteTxn, in log order; unreadable records and markers are skipped.
func TestLoadGroupLogTransactions(t *testing.T) {
	l, err := partlog.Open(t.TempDir(), partlog.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now()
	enc := func(keys ...string) []byte {
		var recs []group.Record
		for _, k := range keys {
			recs = append(recs, group.Record{Key: []byte(k), Value: []byte("v")})
		}
		return encodeGroupBatch(recs, now)
	}
	badMarker := asProducerBatch(t, enc("x"), 0x30, 9) // a marker whose key is no marker type
	for _, raw := range [][]byte{
		enc("a"),
		asProducerBatch(t, enc("t1", "t2"), 0x10, 7),
		asProducerBatch(t, gzipBatch(t, enc("t3")), 0x10, 8),
		enc("bad", "b"),
		batch.AppendControlBatch(nil, 7, 3, true, 0, now.UnixMilli()),
		badMarker,
		batch.AppendControlBatch(nil, 8, 3, false, 0, now.UnixMilli()),
		asProducerBatch(t, enc("c"), 0, 5), // idempotent, not transactional
	} {
		if _, err := l.Append(raw, 0); err != nil {
			t.Fatal(err)
		}
	}
	var r replayLog
	var skipped []string
	n, err := loadGroupLog(l, &r, func(err error) { skipped = append(skipped, err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	want := "plain a|txn[7] t1|txn[7] t2|txn[8] t3|plain b|end[7] commit=true|end[8] commit=false|plain c"
	if got := strings.Join(r.calls, "|"); got != want {
		t.Fatalf("replayed\n%s\nwant\n%s", got, want)
	}
	if n != 10 || len(skipped) != 2 || !strings.Contains(skipped[1], "marker") {
		t.Fatalf("read %d records, skipped %q", n, skipped)
	}

	// replayGroupLog (the transaction log's reader) still sees every data
	// record and no marker.
	var keys []string
	if err := replayGroupLog(l, func(k, v []byte) error { keys = append(keys, string(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys, " "); got != "a t1 t2 t3 bad b c" {
		t.Fatalf("replayGroupLog read %s", got)
	}
}

// txnTestTopics is one topic of one partition, for a real coordinator.
type txnTestTopics struct{}

func (txnTestTopics) Version() uint64 { return 1 }
func (txnTestTopics) Lookup(name string) ([16]byte, int32, bool) {
	return [16]byte{1}, 1, name == "t"
}
func (txnTestTopics) Name(id [16]byte) (string, bool) { return "t", id == [16]byte{1} }
func (txnTestTopics) Names() []string                 { return []string{"t"} }

type txnTestClock struct{}

func (txnTestClock) Now() time.Time                                { return time.UnixMilli(1_700_000_000_000) }
func (txnTestClock) AfterFunc(time.Duration, func()) (stop func()) { return func() {} }

// logJournal appends a coordinator's batches to a partition log as the
// engine's journal does, transactional ones as the producer's.
type logJournal struct {
	t *testing.T
	l *partlog.Log
}

func (j logJournal) Append(recs []group.Record) error {
	_, err := j.l.Append(encodeGroupBatch(recs, time.Now()), 0)
	return err
}

func (j logJournal) AppendTxn(pid int64, epoch int16, recs []group.Record) error {
	_, err := j.l.Append(asProducerBatch(j.t, encodeGroupBatch(recs, time.Now()), 0x10, pid), 0)
	return err
}

// A coordinator loaded from a __consumer_offsets log holds a committed
// transaction's offsets and keeps an open one's pending.
func TestLoadGroupLogRebuildsTransactionalOffsets(t *testing.T) {
	l, err := partlog.Open(t.TempDir(), partlog.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := group.Config{OffsetMetadataMaxBytes: 100, OffsetsRetention: time.Hour}
	c := group.New(cfg, txnTestClock{}, logJournal{t, l}, txnTestTopics{})
	c.Loaded()
	commit := func(group string, pid int64, offset int64) {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.Version = 3
		req.Group, req.ProducerID, req.ProducerEpoch = group, pid, 3
		req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: offset, LeaderEpoch: -1}}}}
		c.TxnOffsetCommit(req, func(resp kmsg.Response) {
			if code := resp.(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
				t.Fatalf("txn commit: %d", code)
			}
		})
	}
	commit("g", 7, 10)
	commit("h", 8, 20)
	if _, err := l.Append(batch.AppendControlBatch(nil, 7, 3, true, 0, 0), 0); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c = group.New(cfg, txnTestClock{}, logJournal{t, l}, txnTestTopics{})
	if _, err := loadGroupLog(l, c, func(err error) { t.Fatal(err) }); err != nil {
		t.Fatal(err)
	}
	c.Loaded()
	fetch := func(group string) string {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}
		sp := c.OffsetFetchStable(8, &rg, true).Topics[0].Partitions[0]
		return fmt.Sprintf("%d/%d", sp.Offset, sp.ErrorCode)
	}
	if got := fetch("g") + " " + fetch("h"); got != "10/0 -1/88" {
		t.Fatalf("after the load: %s, want g committed at 10 and h pending (88)", got)
	}
	c.CompleteTxn(8, true)
	if got := fetch("h"); got != "20/0" {
		t.Fatalf("after completing the open transaction: %s", got)
	}
}
