package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// produceCode sends one small batch and returns its error code and offset.
func produceCode(t *testing.T, cl *kgo.Client, topic string) (int16, int64) {
	t.Helper()
	p := produceRaw(t, cl, topic, 0, 11, rawBatch(2, -1, -1, -1))
	return p.ErrorCode, p.BaseOffset
}

// readOffsets returns the base offsets of the batches stored in a partition.
func readBatchOffsets(t *testing.T, cl *kgo.Client, topic string) []int64 {
	t.Helper()
	return readPartitionBatchOffsets(t, cl, topic, 0)
}

// readPartitionBatchOffsets is readBatchOffsets for any partition.
func readPartitionBatchOffsets(t *testing.T, cl *kgo.Client, topic string, part int32) []int64 {
	t.Helper()
	return readPartitionBatchOffsetsUpTo(t, cl, topic, part, 1<<20)
}

// readPartitionBatchOffsetsUpTo is readPartitionBatchOffsets for the first
// maxBytes of the partition.
func readPartitionBatchOffsetsUpTo(t *testing.T, cl *kgo.Client, topic string, part int32, maxBytes int32) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq(topic, part, 0, 1, 0, maxBytes).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	raw := resp.Topics[0].Partitions[0].RecordBatches
	for len(raw) >= 61 {
		offs = append(offs, int64(uint64(raw[0])<<56|uint64(raw[1])<<48|uint64(raw[2])<<40|uint64(raw[3])<<32|uint64(raw[4])<<24|uint64(raw[5])<<16|uint64(raw[6])<<8|uint64(raw[7])))
		n := 12 + int(uint32(raw[8])<<24|uint32(raw[9])<<16|uint32(raw[10])<<8|uint32(raw[11]))
		raw = raw[n:]
	}
	return offs
}

func TestStorageFaultOnWrite(t *testing.T) { forEachWritePath(t, testStorageFaultOnWrite) }

func testStorageFaultOnWrite(t *testing.T, inner uring.Opener) {
	for _, fault := range []error{syscall.EIO, syscall.ENOSPC} {
		t.Run(fault.Error(), func(t *testing.T) {
			fo := newFaultOpener(inner)
			tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false")
			createTestTopic(t, tb, "wa", 1)
			createTestTopic(t, tb, "wb", 1)
			cl := fetchClient(tb)
			if code, off := produceCode(t, cl, "wa"); code != 0 || off != 0 {
				t.Fatalf("first produce: %v at %d", kerr.ErrorForCode(code), off)
			}
			fo.setWrite("wa-0", fault)
			if code, _ := produceCode(t, cl, "wa"); code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce during %v: %v, want KAFKA_STORAGE_ERROR", fault, kerr.ErrorForCode(code))
			}
			if code, _ := produceCode(t, cl, "wb"); code != 0 {
				t.Fatalf("other partition on the same shard during the fault: %v", kerr.ErrorForCode(code))
			}
			fo.setWrite("wa-0", nil)
			// The partition resumes (after a reopen if the failed write left it unusable).
			if off := produceWhenResumed(t, cl, "wa"); off != 2 {
				t.Fatalf("offset after recovery %d, want 2 (the failed write must leave no trace)", off)
			}
			if got := readBatchOffsets(t, cl, "wa"); fmt.Sprint(got) != "[0 2]" {
				t.Fatalf("stored batches at %v, want [0 2]", got)
			}
		})
	}
}

// startFaultBroker starts a one-shard broker over a fault layer, under
// flush=always with the WAL off (each partition synced in its own turn), and
// creates topics of one partition, each written once (at offset 0).
func startFaultBroker(t *testing.T, inner uring.Opener, settings []string, topics ...string) (*faultOpener, *testBroker, *kgo.Client) {
	t.Helper()
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, append([]string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false"}, settings...)...)
	cl := fetchClient(tb)
	for _, topic := range topics {
		createTestTopic(t, tb, topic, 1)
		if code, off := produceCode(t, cl, topic); code != 0 || off != 0 {
			t.Fatalf("first produce to %s: %v at %d", topic, kerr.ErrorForCode(code), off)
		}
	}
	return fo, tb, cl
}

func TestStorageFaultOnFsync(t *testing.T) { forEachWritePath(t, testStorageFaultOnFsync) }

func testStorageFaultOnFsync(t *testing.T, inner uring.Opener) {
	fo, tb, cl := startFaultBroker(t, inner, nil, "fa", "fb")
	fo.setSync("fa-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "fa"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	if code, _ := produceCode(t, cl, "fb"); code != 0 {
		t.Fatalf("other partition during the fault: %v", kerr.ErrorForCode(code))
	}
	if code, _ := produceCode(t, cl, "fa"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("a log whose fdatasync failed must refuse writes until reopened: %v", kerr.ErrorForCode(code))
	}
	fo.setSync("fa-0", nil)
	var acked []int64
	checkFor(t, 5*time.Second, 100*time.Millisecond, func() error {
		code, off := produceCode(t, cl, "fa")
		if code != 0 {
			return fmt.Errorf("produce after the fault cleared: %v", kerr.ErrorForCode(code))
		}
		acked = append(acked, off)
		return nil
	})
	stored := map[int64]bool{}
	for _, o := range readBatchOffsets(t, cl, "fa") {
		stored[o] = true
	}
	for _, o := range append([]int64{0}, acked...) {
		if !stored[o] {
			t.Fatalf("acknowledged batch at %d missing after recovery; stored %v", o, stored)
		}
	}
	if m := tb.b.Metrics(); m.Reopens == 0 || m.StorageErrors == 0 {
		t.Fatalf("metrics do not show the fault: %+v", m)
	}
}

// While the fault lasts a reopen can fail too, leaving the partition without
// a log: produces get KAFKA_STORAGE_ERROR, the shard's periodic work
// (retention, producer expiry) passes the partition by, other partitions
// keep serving, and the partition comes back once the disk does.
func TestStorageFaultFailedReopen(t *testing.T) { forEachWritePath(t, testStorageFaultFailedReopen) }

func testStorageFaultFailedReopen(t *testing.T, inner uring.Opener) {
	fo, tb, cl := startFaultBroker(t, inner, []string{"log.retention.check.interval.ms=20", "log.retention.ms=-1",
		"producer.id.expiration.check.interval.ms=20"}, "ra", "rb")
	// The failed sync schedules a reopen at once: the open fault must be
	// there before it.
	fo.setSync("ra-0", syscall.EIO)
	fo.setOpen("ra-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "ra"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	// The failed sync schedules a reopen; it fails, and produces meanwhile fail too.
	checkFor(t, 5*time.Second, 100*time.Millisecond, func() error {
		if code, _ := produceCode(t, cl, "ra"); code != kerr.KafkaStorageError.Code {
			t.Fatalf("produce during the fault: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
		}
		if tb.b.Metrics().ReopenFailures == 0 {
			return fmt.Errorf("no failed reopen yet")
		}
		return nil
	})
	if code, _ := produceCode(t, cl, "ra"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce to a partition whose reopen failed: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	time.Sleep(200 * time.Millisecond) // several retention and expiry checks
	if code, _ := produceCode(t, cl, "rb"); code != 0 {
		t.Fatalf("other partition while the reopen fails: %v", kerr.ErrorForCode(code))
	}
	fo.setSync("ra-0", nil)
	fo.setOpen("ra-0", nil)
	resumesKeepingFirstBatch(t, cl, "ra")
}

// resumesKeepingFirstBatch waits until a produce to topic's partition 0
// succeeds again after a fault, and checks that the partition holds the
// acknowledged batch at 0 and ends with the new one.
func resumesKeepingFirstBatch(t *testing.T, cl *kgo.Client, topic string) {
	t.Helper()
	off := produceWhenResumed(t, cl, topic)
	stored := fmt.Sprint(readBatchOffsets(t, cl, topic))
	if !strings.HasPrefix(stored, "[0 ") || !strings.HasSuffix(stored, fmt.Sprintf(" %d]", off)) {
		t.Fatalf("stored batches %s, want the acknowledged one at 0 and the one after the fault (%d)", stored, off)
	}
}

// produceWhenResumed waits until a produce to topic's partition 0 succeeds
// again after a fault (past a reopen's backoff) and returns its offset.
func produceWhenResumed(t *testing.T, cl *kgo.Client, topic string) int64 {
	t.Helper()
	var off int64
	checkFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		code, o := produceCode(t, cl, topic)
		if code != 0 {
			return fmt.Errorf("produce after the fault: %v", kerr.ErrorForCode(code))
		}
		off = o
		return nil
	})
	return off
}

// A log whose fdatasync failed is reopened without a produce asking (no
// client produces to __consumer_offsets, say), and a reopen that fails is
// retried until the disk answers.
func TestFailedLogReopensWithoutProduce(t *testing.T) {
	forEachWritePath(t, testFailedLogReopensWithoutProduce)
}

func testFailedLogReopensWithoutProduce(t *testing.T, inner uring.Opener) {
	fo, tb, cl := startFaultBroker(t, inner, nil, "na")
	fo.setSync("na-0", syscall.EIO)
	fo.setOpen("na-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "na"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().ReopenFailures == 0 {
			return fmt.Errorf("no reopen tried")
		}
		return nil
	})
	fo.setSync("na-0", nil)
	fo.setOpen("na-0", nil)
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the partition was not reopened once the disk answered")
		}
		return nil
	})
	resumesKeepingFirstBatch(t, cl, "na")
}

// The reopen after a storage fault recovers the log off the shard's thread:
// while its reads of the segment hang, the shard's other partitions take
// produces and serve fetches, and the partition itself answers
// KAFKA_STORAGE_ERROR; once the reads go through it resumes with every
// acknowledged batch.
func TestReopenDoesNotHoldShard(t *testing.T) { forEachWritePath(t, testReopenDoesNotHoldShard) }

func testReopenDoesNotHoldShard(t *testing.T, inner uring.Opener) {
	fo, tb, cl := startFaultBroker(t, inner, nil, "oa", "ob")
	// The failed sync schedules the reopen at once; its recovery reads hang.
	release := fo.blockRead("oa-0")
	defer release()
	fo.setSync("oa-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "oa"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	fo.setSync("oa-0", nil)
	checkFor(t, 5*time.Second, 100*time.Millisecond, func() error {
		p, err := tryProduceRaw(cl, "oa", 0, 11, rawBatch(2, -1, -1, -1))
		if err != nil {
			t.Fatalf("produce while the reopen may run: %v", err)
		}
		if p.ErrorCode != kerr.KafkaStorageError.Code {
			t.Fatalf("produce before the reopen finished: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(p.ErrorCode))
		}
		if fo.blockedReads.Load() == 0 {
			return fmt.Errorf("the reopen has not read the segment yet")
		}
		return nil
	})
	// The partition itself is offline meanwhile, as on a failed log dir.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := fetchReq("oa", 0, 0, 1, 0, 1<<20).RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	} else if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.KafkaStorageError.Code {
		t.Fatalf("fetch during the reopen: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "oa"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	// Straight to the broker: Metadata names no leader for the partition
	// meanwhile, so the client would not route the request there.
	if resp, err := cl.Broker(int(tb.cfg.NodeID)).Request(ctx, lo); err != nil {
		t.Fatal(err)
	} else if code := resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.KafkaStorageError.Code {
		t.Fatalf("ListOffsets during the reopen: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	p, err := tryProduceRaw(cl, "ob", 0, 11, rawBatch(2, -1, -1, -1))
	if err != nil || p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("other partition while the reopen hangs: %v, %v at %d; want success at 2", err, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if got := readFrom(t, cl, "ob", 2); got != 2 {
		t.Fatalf("fetch of the other partition at 2 found the batch at %d", got)
	}
	release()
	resumesKeepingFirstBatch(t, cl, "oa")
	if m := tb.b.Metrics(); m.Reopens == 0 {
		t.Fatalf("no reopen counted: %+v", m)
	}
}

// DeleteTopics of a partition whose log is being reopened waits for the
// reopen and deletes its files; one whose reopen failed (no log) has its
// files deleted too, so a topic created again under the name starts empty.
func TestDeleteTopicDuringReopen(t *testing.T) { forEachWritePath(t, testDeleteTopicDuringReopen) }

func testDeleteTopicDuringReopen(t *testing.T, inner uring.Opener) {
	for _, reopen := range []string{"hanging", "failed"} {
		t.Run(reopen, func(t *testing.T) {
			fo, tb, cl := startFaultBroker(t, inner, nil, "da")
			// The failed sync schedules the reopen at once: it hangs in its
			// reads of the segment, or fails to open it.
			release := func() {}
			if reopen == "hanging" {
				release = fo.blockRead("da-0")
				defer release() // if the test fails before the delete below
			} else {
				fo.setOpen("da-0", syscall.EIO)
			}
			fo.setSync("da-0", syscall.EIO)
			if code, _ := produceCode(t, cl, "da"); code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce with failing fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
			}
			fo.setSync("da-0", nil)
			checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
				if fo.blockedReads.Load() == 0 && tb.b.Metrics().ReopenFailures == 0 {
					return fmt.Errorf("the reopen has not hung or failed yet")
				}
				return nil
			})
			fo.setOpen("da-0", nil)
			time.AfterFunc(200*time.Millisecond, release) // while DeleteTopics waits
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if res, err := tb.admin().DeleteTopics(ctx, "da"); err != nil || res["da"].Err != nil {
				t.Fatalf("delete topic: %v %v", err, res["da"].Err)
			}
			if m := tb.b.Metrics(); m.Reopens+m.ReopenFailures == 0 {
				t.Fatal("DeleteTopics answered before the partition's reopen finished")
			}
			if _, err := os.Stat(filepath.Join(tb.dir, "da-0")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("partition directory after DeleteTopics: %v", err)
			}
			createTestTopic(t, tb, "da", 1)
			if code, off := produceCode(t, cl, "da"); code != 0 || off != 0 {
				t.Fatalf("first produce to the topic created again: %v at %d, want success at 0", kerr.ErrorForCode(code), off)
			}
		})
	}
}

// A stalled fdatasync answers its produce with an error within io.timeout.ms
// and does not freeze the shard: fetches keep being served.
func TestStorageStalledFsync(t *testing.T) { forEachWritePath(t, testStorageStalledFsync) }

func testStorageStalledFsync(t *testing.T, inner uring.Opener) {
	stalledFsync(t, inner, "sa-0", "log.flush.wal.enable=false")
}

// stalledFsync holds every fdatasync of files matching stall while a
// produce to "sa" waits for one, and checks that the produce is answered
// KAFKA_STORAGE_ERROR within io.timeout.ms, the stall is counted, fetches
// of "sb" on the same shard are served meanwhile, and produces succeed
// once the stall ends.
func stalledFsync(t *testing.T, inner uring.Opener, stall string, sets ...string) {
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, append([]string{"num.shards=1", "log.flush.policy=always", "io.timeout.ms=300"}, sets...)...)
	createTestTopic(t, tb, "sa", 1)
	createTestTopic(t, tb, "sb", 1)
	cl := fetchClient(tb)
	if code, _ := produceCode(t, cl, "sb"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	release := fo.blockSync(stall)
	defer func() {
		if release != nil {
			release()
		}
	}()
	start := time.Now()
	code, _ := produceCode(t, cl, "sa")
	took := time.Since(start)
	if code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce behind a stalled fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	if took > 5*time.Second {
		t.Fatalf("stalled fdatasync surfaced after %v, want about io.timeout.ms", took)
	}
	// The shard still serves: a fetch on the other partition answers at once.
	if offs := readBatchOffsets(t, cl, "sb"); len(offs) != 1 {
		t.Fatalf("fetch during the stall returned %v", offs)
	}
	if m := tb.b.Metrics(); m.SyncStalls == 0 {
		t.Fatalf("stall not counted: %+v", m)
	}
	release()
	release = nil
	checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if code, _ := produceCode(t, cl, "sa"); code != 0 {
			return fmt.Errorf("after the stall: %v", kerr.ErrorForCode(code))
		}
		return nil
	})
}

// A stop whose shard waits on a stalled fdatasync ends within the longer of
// io.timeout.ms and shutdown.timeout.ms: Close names the stuck shard and
// writes no clean-shutdown marker, and once the disk answers the next start
// recovers every acknowledged record.
func TestStopOverStalledFsyncIsBounded(t *testing.T) {
	forEachWritePath(t, testStopOverStalledFsyncIsBounded)
}

func testStopOverStalledFsyncIsBounded(t *testing.T, inner uring.Opener) {
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "io.timeout.ms=300",
		"shutdown.timeout.ms=300", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "sa", 1)
	cl := fetchClient(tb)
	if code, off := produceCode(t, cl, "sa"); code != 0 || off != 0 {
		t.Fatalf("first produce: %v at %d", kerr.ErrorForCode(code), off)
	}
	release := fo.blockSync("sa-0") // idempotent
	defer release()
	if code, _ := produceCode(t, cl, "sa"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce behind a stalled fdatasync: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	cl.Close()
	closeOverStalledDisk(t, tb, "did not stop", release)
	cl = fetchClient(tb)
	// The unacknowledged batch may or may not be there, as in Kafka; the
	// acknowledged one is, and offsets stay contiguous.
	if got := fmt.Sprint(readBatchOffsets(t, cl, "sa")); got != "[0]" && got != "[0 2]" {
		t.Fatalf("batches after the recovering start %s, want [0] or [0 2]", got)
	}
}

// closeOverStalledDisk stops tb's one-shard broker while a disk call of its
// is held, and checks that Close gives up within the limit
// (io.timeout.ms=300, shutdown.timeout.ms=300) with an error containing
// want and writes no clean-shutdown marker. Then it releases the disk,
// waits for the shard to finish stopping and
// starts the broker again on the same data, recovering as after a crash.
func closeOverStalledDisk(t *testing.T, tb *testBroker, want string, release func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	tb.shutdownListeners(ctx) // produces may still be waiting: cut short
	shard := tb.b.shards[0]
	start := time.Now()
	err := tb.b.Close()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("close over a stalled disk: %v, want an error saying %q", err, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("close took %v with io.timeout.ms=300 and shutdown.timeout.ms=300", took)
	}
	if _, err := os.Stat(filepath.Join(tb.dir, cleanShutdownMarker)); !os.IsNotExist(err) {
		t.Fatalf("clean-shutdown marker although a shard did not stop: %v", err)
	}
	release()
	select {
	case <-shard.done: // the disk answered: the shard closes its partitions
	case <-time.After(20 * time.Second):
		t.Fatal("the shard did not stop after the stall ended")
	}
	if err := tb.store.Close(); err != nil {
		t.Fatal(err)
	}
	tb.b = nil
	tb.open()
}

// The stop stays bounded when the shard's loop itself is held: with an
// fdatasync stalled and produces still arriving, the loop blocks handing
// its 65th turn to the full sync queue and answers neither the group
// coordinators' close nor its own quit until the disk does.
func TestStopWithShardHeldBehindFullSyncQueueIsBounded(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "io.timeout.ms=300",
		"shutdown.timeout.ms=300", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "sq", 1)
	cl := fetchClient(tb)
	if code, _ := produceCode(t, cl, "sq"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	release := fo.blockSync("sq-0") // idempotent
	defer release()
	shard := tb.b.shards[0]
	// Produces one after another, each its own turn, until the queue is
	// full and the loop waits on it; they are answered once the stall
	// ends (or not at all: the test does not wait for them).
	// Several connections: each holds at most socket.max.inflight.requests.
	clients := []*kgo.Client{cl, fetchClient(tb), fetchClient(tb), fetchClient(tb)}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 200 {
			select {
			case <-stop:
				return
			default:
			}
			go tryProduceRaw(clients[i%len(clients)], "sq", 0, 11, rawBatch(1, -1, -1, -1))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := len(shard.syncQ); n < cap(shard.syncQ) {
			return fmt.Errorf("%d of %d turns queued behind the stalled fdatasync", n, cap(shard.syncQ))
		}
		return nil
	})
	close(stop)
	<-sent
	closeOverStalledDisk(t, tb, "no clean-shutdown marker", release)
	// The acknowledged batch is there, offsets contiguous from it.
	offs := readBatchOffsets(t, fetchClient(tb), "sq")
	if len(offs) == 0 || offs[0] != 0 {
		t.Fatalf("batches after the recovering start: %v", offs)
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] != offs[i-1]+2 && offs[i] != offs[i-1]+1 {
			t.Fatalf("batches after the recovering start not contiguous: %v", offs)
		}
	}
}

// An idempotent batch whose write failed is never acknowledged by a retry
// while the fault lasts (the producer state that named it is taken back with
// it), the partition's data stays readable throughout, and once the fault
// clears the retry is stored exactly once.
func TestStorageFaultRetryIsNotADuplicate(t *testing.T) {
	forEachWritePath(t, testStorageFaultRetryIsNotADuplicate)
}

func testStorageFaultRetryIsNotADuplicate(t *testing.T, inner uring.Opener) {
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "ia", 1)
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "ia", 0, 11, rawBatch(1, 7, 0, 0)); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first produce: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	fo.setWrite("ia-0", syscall.ENOSPC)
	for i := range 3 {
		if p := produceRaw(t, cl, "ia", 0, 11, rawBatch(1, 7, 0, 1)); p.ErrorCode == 0 {
			t.Fatalf("retry %d of a batch whose write failed was acknowledged at %d during the fault", i, p.BaseOffset)
		}
		if got := readBatchOffsets(t, cl, "ia"); fmt.Sprint(got) != "[0]" {
			t.Fatalf("during the fault the partition reads batches %v, want [0]", got)
		}
	}
	fo.setWrite("ia-0", nil)
	if p := produceRaw(t, cl, "ia", 0, 11, rawBatch(1, 7, 0, 1)); p.ErrorCode != 0 || p.BaseOffset != 1 {
		t.Fatalf("retry after the fault cleared: %v at %d, want success at 1", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := produceRaw(t, cl, "ia", 0, 11, rawBatch(1, 7, 0, 1)); p.ErrorCode != 0 || p.BaseOffset != 1 {
		t.Fatalf("a true duplicate: %v at %d, want its original offset 1", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if got := readBatchOffsets(t, cl, "ia"); fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("stored batches %v, want [0 1]", got)
	}
}

// A roll hands the sealed segment's fdatasync to the shard's sealer: under
// flush=never a produce that rolls is answered while that fdatasync hangs,
// and the partition goes on serving; once the disk answers, the next roll
// goes through and every batch reads back.
func TestRollDoesNotWaitForStalledSeal(t *testing.T) {
	forEachWritePath(t, testRollDoesNotWaitForStalledSeal)
}

func testRollDoesNotWaitForStalledSeal(t *testing.T, inner uring.Opener) {
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=never", "log.segment.bytes=1024", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "roll", 1)
	createTestTopic(t, tb, "other", 1)
	cl := fetchClient(tb)
	big := func() (int16, int64) { // 120 records: over 1 KiB, a segment of its own
		p := produceRaw(t, cl, "roll", 0, 11, rawBatch(120, -1, -1, -1))
		return p.ErrorCode, p.BaseOffset
	}
	// Roll once and let that seal finish (the recovery point moves to the
	// second segment, at 120); then stall the disk.
	for i := 0; i < 2; i++ {
		if code, _ := big(); code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		b, err := os.ReadFile(filepath.Join(tb.dir, "roll-0", "recovery.checkpoint"))
		if err != nil || len(b) != 18 || binary.BigEndian.Uint64(b[6:]) != 120 {
			return fmt.Errorf("recovery point %x (%v), want 120", b, err)
		}
		return nil
	})
	release := fo.blockSync("roll-0")
	defer func() {
		if release != nil {
			release()
		}
	}()
	type answer struct {
		code int16
		err  error
	}
	answered := make(chan answer, 1)
	go func() { // rolls: its seal hangs in fdatasync
		p, err := tryProduceRaw(cl, "roll", 0, 11, rawBatch(120, -1, -1, -1))
		answered <- answer{p.ErrorCode, err}
	}()
	select {
	case a := <-answered:
		if a.err != nil || a.code != 0 {
			t.Fatalf("produce that rolled during the stall: %v, %v", a.err, kerr.ErrorForCode(a.code))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a produce that rolled the segment waited for the sealed segment's fdatasync")
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if fo.blockedSyncs.Load() == 0 {
			return fmt.Errorf("the seal's fdatasync never reached the stalled disk")
		}
		return nil
	})
	// The shard goes on serving: another partition takes writes, and the
	// batch that rolled reads back. (A further roll of "roll" would wait:
	// a partition has one seal pending at most.)
	if code, _ := produceCode(t, cl, "other"); code != 0 {
		t.Fatalf("produce to another partition during the stall: %v", kerr.ErrorForCode(code))
	}
	if got := readFrom(t, cl, "roll", 240); got != 240 {
		t.Fatalf("fetch at 240 during the stall found the batch at %d", got)
	}
	release()
	release = nil
	if code, off := big(); code != 0 || off != 360 {
		t.Fatalf("rolling produce after the stall: %v at %d, want 360", kerr.ErrorForCode(code), off)
	}
	for _, from := range []int64{0, 120, 240, 360} {
		if got := readFrom(t, cl, "roll", from); got != from {
			t.Fatalf("fetch at %d found the batch at %d", from, got)
		}
	}
}

// readFrom returns the base offset of the first batch a fetch at offset from
// partition 0 of topic returns.
func readFrom(t *testing.T, cl *kgo.Client, topic string, offset int64) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq(topic, 0, offset, 1, 0, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	raw := resp.Topics[0].Partitions[0].RecordBatches
	if len(raw) < 8 {
		t.Fatalf("fetch of %s at %d returned no batch", topic, offset)
	}
	return int64(binary.BigEndian.Uint64(raw))
}

// DeleteGroups whose tombstones failed to reach the disk is not answered
// as a success (a restart could bring the group back), as commits are not.
func TestDeleteGroupsSyncFailureIsNotASuccess(t *testing.T) {
	fo, tb, _ := startFaultBroker(t, uring.PwriteOpener{}, []string{"offsets.topic.num.partitions=1"}, "dg")
	adm := tb.admin()
	ctx := adminCtx(t)
	offs := make(kadm.Offsets)
	offs.AddOffset("dg", 0, 1, -1)
	if _, err := adm.CommitOffsets(ctx, "doomed", offs); err != nil {
		t.Fatal(err)
	}
	fo.setSync("__consumer_offsets-0", syscall.EIO)
	// On the wire, without a client's retries: the first answer counts.
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = []string{"doomed"}
	body, err := rawExchange(t, tb.addr, encodeRequest(req, 2))
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrDeleteGroupsResponse()
	resp.Version = 2
	if err := resp.ReadFrom(body[5:]); err != nil { // correlation id, empty tags
		t.Fatal(err)
	}
	if code := resp.Groups[0].ErrorCode; code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("DeleteGroups with its tombstones unsynced: %v, want COORDINATOR_NOT_AVAILABLE", kerr.ErrorForCode(code))
	}
}
