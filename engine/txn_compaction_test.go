package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

// compactedTxnTopic starts a broker whose cleaner runs at once and creates
// a compacted topic of small segments whose markers go with no delete
// retention. round(r, commit) writes one transaction of keys records, one
// per key, to it: "committed-KK@r" plus pad, or "aborted-KK@r".
func compactedTxnTopic(t *testing.T, topic, txnID, dirtyRatio string, keys int, pad string) (*testBroker, func(r int, commit bool)) {
	t.Helper()
	tb := startBroker(t, "listeners=PLAINTEXT://"+freeAddr(t), "log.cleaner.backoff.ms=20", "log.cleaner.io.max.bytes.per.second=104857600")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("4096"),
		"min.cleanable.dirty.ratio": kadm.StringPtr(dirtyRatio),
		"delete.retention.ms":       kadm.StringPtr("0"),
	}, topic); err != nil {
		t.Fatal(err)
	}
	cl := tb.client(kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	t.Cleanup(cl.Close)
	return tb, func(r int, commit bool) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for k := range keys {
			v := fmt.Sprintf("committed-%02d@%d%s", k, r, pad)
			if !commit {
				v = fmt.Sprintf("aborted-%02d@%d", k, r)
			}
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("key-%02d", k)), Value: []byte(v)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
}

// txnLogView is partition 0 of a topic as its log holds it: the values of
// its data records, its markers of each kind, and how many aborted
// transactions a read_committed fetch from the start is told of.
type txnLogView struct {
	values         []string
	commits, abort int
	markers        map[int64]int64 // offset -> producer id
	abortedTold    int
}

func viewTxnLog(t *testing.T, tb *testBroker, topic string) txnLogView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := fetchClient(tb)
	defer cl.Close()
	v := txnLogView{markers: map[int64]int64{}}
	for offset, hw := int64(0), int64(1); offset < hw; {
		req := fetchReq(topic, 0, offset, 0, 0, 50<<20)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("fetch at %d: %v", offset, err)
		}
		hw = p.HighWatermark
		if len(p.RecordBatches) == 0 {
			break
		}
		_, err = batch.Split(p.RecordBatches, func(h batch.Header, raw []byte) error {
			offset = h.LastOffset() + 1
			if h.Control() {
				typ, err := batch.ControlType(raw)
				if err != nil {
					return err
				}
				v.markers[h.BaseOffset] = h.ProducerID
				if typ == batch.ControlCommit {
					v.commits++
				} else {
					v.abort++
				}
				return nil
			}
			recs := raw[batch.HeaderSize:]
			for range h.NumRecords {
				size, n := binary.Varint(recs)
				var r kmsg.Record
				if err := r.ReadFrom(recs[:n+int(size)]); err != nil {
					return err
				}
				recs = recs[n+int(size):]
				v.values = append(v.values, string(r.Value))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	req := fetchReq(topic, 0, 0, 0, 0, 50<<20)
	req.IsolationLevel = 1
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	v.abortedTold = len(resp.Topics[0].Partitions[0].AbortedTransactions)
	return v
}

// On a compacted topic the cleaner removes aborted transactions' records,
// then the markers of transactions with nothing left (delete.retention.ms
// after), and stops telling read_committed consumers of aborted
// transactions it removed: the log of a transactional producer on a
// compacted topic (as __consumer_offsets under exactly-once) does not keep
// growing with markers. Before markers go, the producer-state snapshot on
// disk stops naming them and the state kept from the last clean shutdown
// is retired: adopted after a crash, either would bring back an aborted
// transaction whose marker is gone, and a consumer told of it would skip
// the producer's later transactions, or an open transaction whose marker
// is gone, holding the last stable offset back for good.
func TestCompactionRemovesAbortedTransactionsAndMarkers(t *testing.T) {
	const topic, keys = "txc", 10
	pad := strings.Repeat("p", 100)
	tb, round := compactedTxnTopic(t, topic, "tx-markers", "0.01", keys, pad)
	snapshot := filepath.Join(tb.dir, topic+"-0", producerStateFile)
	readSnapshot := func() producerSnapshot {
		t.Helper()
		raw, err := os.ReadFile(snapshot)
		if err != nil {
			t.Fatal(err)
		}
		var snap producerSnapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			t.Fatal(err)
		}
		return snap
	}
	// awaitSeal waits for the partition's last rolled segment to be sealed,
	// so that the cleaner's next pass covers it.
	k := partKey{topic, 0}
	awaitSeal := func() {
		t.Helper()
		checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			pending := true
			onShard(t, tb.b.shardFor(k), func(s *shard) {
				s.parts[k].log.ApplySeal()
				pending = s.parts[k].log.SealPending()
			})
			if pending {
				return fmt.Errorf("the rolled segment is not sealed yet")
			}
			return nil
		})
	}
	// The cleaner waits while the transactions are written, and one round
	// more rolls their last segment.
	tb.pauseCleaner(true)
	r, lastCommitted := 0, -1
	for ; r < 30; r++ {
		round(r, r%3 != 2)
	}
	for rolled := readSnapshot().Offset; readSnapshot().Offset == rolled; r++ {
		round(r, true)
		lastCommitted = r
	}
	// Its first pass removes the aborted records and keeps every marker.
	awaitSeal()
	passes := tb.b.cleanerPasses()
	tb.pauseCleaner(false)
	checkFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		if n := tb.b.cleanerPasses(); n == passes {
			return fmt.Errorf("no pass yet")
		}
		return nil
	})
	v := viewTxnLog(t, tb, topic)
	for _, val := range v.values {
		if strings.HasPrefix(val, "aborted") {
			t.Fatalf("after the first pass: aborted record %q still in the log", val)
		}
	}
	if v.abort != 10 || v.abortedTold != 10 {
		t.Fatalf("after the first pass: %d abort markers, %d aborted transactions told; want 10 and 10", v.abort, v.abortedTold)
	}
	// A clean restart keeps this state, which lists the aborted
	// transactions, as the last clean shutdown's: a crash start adopts it
	// for a partition whose own snapshot is unusable.
	tb.restart()
	tb.pauseCleaner(true)
	if _, err := os.Stat(filepath.Join(tb.dir, lastCleanStateFile)); err != nil {
		t.Fatalf("no state kept from the clean restart: %v", err)
	}
	// A roll writes a snapshot listing the aborted transactions; the next
	// pass finds nothing left of them and stamps a delete horizon on their
	// markers, and the pass after it, without a roll, removes them.
	for rolled := readSnapshot().Offset; readSnapshot().Offset == rolled; r++ {
		round(r, true)
		lastCommitted = r
	}
	if n := len(readSnapshot().Aborted); n != 10 {
		t.Fatalf("the roll's snapshot lists %d aborted transactions, want 10", n)
	}
	awaitSeal()
	tb.pauseCleaner(false)
	checkFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		// Kept: the markers of the last segment (about three rounds fill
		// one) and of the segment before it, uncleaned when it rolled.
		if v := viewTxnLog(t, tb, topic); v.abort > 0 || v.abortedTold > 0 || v.commits > 8 {
			return fmt.Errorf("%d abort and %d commit markers left, %d aborted transactions told (%d passes)", v.abort, v.commits, v.abortedTold, tb.b.cleanerPasses())
		}
		return nil
	})
	// Read after the log: a marker the log no longer holds went after
	// this snapshot was written, which must not name it.
	v = viewTxnLog(t, tb, topic)
	snap := readSnapshot()
	for _, a := range snap.Aborted {
		if pid, ok := v.markers[a.LastOffset]; !ok || pid != a.ProducerID {
			t.Fatalf("the snapshot at %d lists the aborted transaction %+v, whose marker is not in the log", snap.Offset, a)
		}
	}
	check := func(when string, tb *testBroker) {
		t.Helper()
		latest := latestByKey(consumeCommitted(t, tb, topic))
		for k := range keys {
			key := fmt.Sprintf("key-%02d", k)
			if want := fmt.Sprintf("committed-%02d@%d%s", k, lastCommitted, pad); string(latest[key]) != want {
				t.Fatalf("%s: %s = %.20q, want %.20q", when, key, latest[key], want)
			}
		}
		if v := viewTxnLog(t, tb, topic); v.abortedTold > 0 {
			t.Fatalf("%s: a read_committed fetch is told of %d aborted transactions the cleaner removed", when, v.abortedTold)
		}
	}
	check("compacted", tb)
	tb.stop()
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	// The crash: no clean-shutdown marker, and the partition's snapshot
	// unusable (written past what reached the log, say). The state kept
	// from the clean restart must not stand in for it.
	for _, name := range []string{cleanShutdownMarker, filepath.Join(topic+"-0", producerStateFile)} {
		if err := os.Remove(filepath.Join(crashed, name)); err != nil {
			t.Fatal(err)
		}
	}
	check("after a crash", openCrashCopy(t, crashed, nil))
}

// Offsets sent to transactions go to __consumer_offsets as transactional
// batches and markers: its cleaner removes the markers of transactions
// whose offsets later commits replaced, as on any compacted topic, so an
// exactly-once pipeline's offsets partition does not grow by a marker per
// transaction. (The coordinator's transactional appends count in the
// partition's producer state, or every marker would pass for its
// producer's last entry, which stays.)
func TestConsumerOffsetsMarkersAreCleaned(t *testing.T) {
	tb := startBroker(t, "offsets.topic.num.partitions=1", "offsets.topic.segment.bytes=1024",
		"log.cleaner.backoff.ms=20", "log.cleaner.io.max.bytes.per.second=104857600",
		"log.cleaner.delete.retention.ms=0", "log.cleaner.min.cleanable.ratio=0.01")
	createTestTopic(t, tb, "in", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-offsets"), kgo.DefaultProduceTopic("in"), kgo.ProducerLinger(0))
	defer cl.Close()
	const txns = 40
	for i := range txns {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		txnCommitOffset(t, cl, "tx-offsets", "g-offsets", "in", int64(i))
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		// Kept: the markers of the segments not cleaned yet (a segment
		// holds a few transactions) and of the last transaction.
		if v := viewTxnLog(t, tb, offsetsTopic); v.commits > txns/4 {
			return fmt.Errorf("%d of %d commit markers left (%d passes)", v.commits, txns, tb.b.cleanerPasses())
		}
		return nil
	})
	fetched, err := tb.admin().FetchOffsets(ctx, "g-offsets")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup("in", 0); o.At != txns-1 {
		t.Fatalf("committed offset %d, want %d", o.At, txns-1)
	}
}
