package engine

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/uring"
)

// The storage fault tests of storage_fault_test.go run with the WAL off;
// these cover log.flush.policy=always with the shard's write-ahead log on
// (and used from the first turn: log.flush.wal.min.partitions=1).

// A failing WAL (EIO or ENOSPC on its write, EIO on its fdatasync) answers
// the turn it hit with KAFKA_STORAGE_ERROR; the shard then syncs partitions
// directly, so produces succeed while the fault lasts, and it goes back to
// its WAL once the fault has cleared. Nothing acknowledged is lost.
func TestWALFaults(t *testing.T) { forEachWritePath(t, testWALFaults) }

func testWALFaults(t *testing.T, inner uring.Opener) {
	for _, fault := range []struct {
		name string
		set  func(fo *faultOpener, match string, err error)
		err  error
	}{
		{"write-EIO", (*faultOpener).setWrite, syscall.EIO},
		{"write-ENOSPC", (*faultOpener).setWrite, syscall.ENOSPC},
		{"fdatasync-EIO", (*faultOpener).setSync, syscall.EIO},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fo := newFaultOpener(inner)
			tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1",
				"log.flush.wal.checkpoint.bytes=65536")
			createTestTopic(t, tb, "la", 1)
			cl := fetchClient(tb)
			var acked []int64
			produce := func() int16 {
				code, off := produceCode(t, cl, "la")
				if code == 0 {
					acked = append(acked, off)
				}
				return code
			}
			if code := produce(); code != 0 {
				t.Fatal(kerr.ErrorForCode(code))
			}
			if tb.b.Metrics().WALSyncs == 0 {
				t.Fatal("the produce did not go through the WAL")
			}
			fault.set(fo, walDirName, fault.err)
			if code := produce(); code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce with a failing WAL: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
			}
			// The shard syncs directly now: produces succeed during the fault.
			checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
				if code := produce(); code != 0 {
					return fmt.Errorf("produce while the WAL fails: %v", kerr.ErrorForCode(code))
				}
				return nil
			})
			fault.set(fo, walDirName, nil)
			walSyncs := tb.b.Metrics().WALSyncs
			checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
				if code := produce(); code != 0 {
					return fmt.Errorf("produce after the fault cleared: %v", kerr.ErrorForCode(code))
				}
				if tb.b.Metrics().WALSyncs == walSyncs {
					return fmt.Errorf("the shard has not gone back to its WAL")
				}
				return nil
			})
			// The file left behind by the failure goes with the next
			// checkpoints, as does the one in use now.
			before, err := tb.b.listWALFiles()
			if err != nil {
				t.Fatal(err)
			}
			if len(before) < 2 {
				t.Fatalf("WAL files after the fault: %v, want the abandoned one and the current one", before)
			}
			big := sweepBatch(sweepSmallBatches) // 16 KiB: a few fill the 64 KiB WAL
			checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
				p := produceRaw(t, cl, "la", 0, 7, slices.Clone(big))
				if p.ErrorCode != 0 {
					return fmt.Errorf("produce: %v", kerr.ErrorForCode(p.ErrorCode))
				}
				acked = append(acked, p.BaseOffset)
				if err := walFilesGone(tb, before); err != nil {
					return fmt.Errorf("checkpoints %d: %w", tb.b.Metrics().WALCheckpoints, err)
				}
				return nil
			})
			tb.restart()
			stored := readBatchOffsets(t, fetchClient(tb), "la")
			for _, off := range acked {
				if !slices.Contains(stored, off) {
					t.Fatalf("acknowledged batch at %d missing after restart; stored %v", off, stored)
				}
			}
		})
	}
}

// A stalled WAL fdatasync answers its produce with an error within
// io.timeout.ms, and the shard keeps serving fetches.
func TestWALStalledFsync(t *testing.T) { forEachWritePath(t, testWALStalledFsync) }

func testWALStalledFsync(t *testing.T, inner uring.Opener) {
	stalledFsync(t, inner, walDirName, "log.flush.wal.min.partitions=1")
}

// Batches acknowledged through the WAL are written to the partition file
// later (at the latest at a WAL checkpoint). If that write fails they are
// kept, still readable, the partition refuses new appends, and once the
// fault clears they reach the file: nothing acknowledged is lost.
func TestWriteBehindFaultKeepsAcknowledgedBatches(t *testing.T) {
	forEachWritePath(t, testWriteBehindFaultKeepsAcknowledgedBatches)
}

func testWriteBehindFaultKeepsAcknowledgedBatches(t *testing.T, inner uring.Opener) {
	fo := newFaultOpener(inner)
	// A 64 KiB WAL checkpoint: a few 16 KiB batches make every staged
	// batch go to its file.
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1", "log.flush.wal.checkpoint.bytes=65536")
	createTestTopic(t, tb, "wb", 1)
	cl := fetchClient(tb)
	batch := sweepBatch(sweepSmallBatches)
	var acked []int64
	p := produceRaw(t, cl, "wb", 0, 7, slices.Clone(batch))
	if p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	acked = append(acked, p.BaseOffset)
	fo.setWrite("wb-0", syscall.EIO)
	// Acknowledged through the WAL until the checkpoint's write fails and
	// the partition stops taking appends.
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		p := produceRaw(t, cl, "wb", 0, 7, slices.Clone(batch))
		if p.ErrorCode == 0 {
			acked = append(acked, p.BaseOffset)
			return fmt.Errorf("still taking appends")
		}
		if p.ErrorCode != kerr.KafkaStorageError.Code {
			t.Fatalf("produce after the deferred write failed: %v", kerr.ErrorForCode(p.ErrorCode))
		}
		return nil
	})
	if len(acked) < 2 {
		t.Fatalf("only %d batches acknowledged before the partition refused appends", len(acked))
	}
	if got := readBatchOffsets(t, cl, "wb"); !slices.Equal(got, acked) {
		t.Fatalf("during the fault the partition reads %v, want the acknowledged %v", got, acked)
	}
	fo.setWrite("wb-0", nil)
	// The partition is reopened (its staged batches written) without
	// waiting for another produce to ask.
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the partition was not reopened once the disk answered")
		}
		return nil
	})
	resumesHoldingAcknowledged(t, tb, cl, "wb", batch, acked)
}

// resumesHoldingAcknowledged waits until a produce of batch to topic's
// partition 0 succeeds again after a fault, then checks that the partition
// holds exactly the acknowledged batches (acked and that one), before and
// after a restart.
func resumesHoldingAcknowledged(t *testing.T, tb *testBroker, cl *kgo.Client, topic string, batch []byte, acked []int64) {
	t.Helper()
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		p := produceRaw(t, cl, topic, 0, 7, slices.Clone(batch))
		if p.ErrorCode != 0 {
			return fmt.Errorf("produce after the fault: %v", kerr.ErrorForCode(p.ErrorCode))
		}
		acked = append(acked, p.BaseOffset)
		return nil
	})
	if got := readBatchOffsets(t, cl, topic); !slices.Equal(got, acked) {
		t.Fatalf("the partition reads %v, want the acknowledged %v", got, acked)
	}
	tb.restart()
	if got := readBatchOffsets(t, fetchClient(tb), topic); !slices.Equal(got, acked) {
		t.Fatalf("after restart the partition holds %v, want the acknowledged %v", got, acked)
	}
}

// A write of staged batches to the partition file that fails once — its
// retry, when the shard reopens the log, goes through — leaves the turn's
// commit with no log for a moment: the broker must not stumble over it, and
// every acknowledged batch reads back, after a restart too.
func TestWriteBehindTransientWriteFault(t *testing.T) {
	forEachWritePath(t, testWriteBehindTransientWriteFault)
}

// startWriteBehindBroker starts a one-shard broker whose single partition
// of topic goes through the WAL (log.flush.policy=always), its files under
// a fault layer, and returns the 16 KiB batch the tests produce: staged
// batches reach the partition file once 256 KiB have gathered (16
// produces), in the turn of the produce that passes that mark.
func startWriteBehindBroker(t *testing.T, inner uring.Opener, topic string) (*faultOpener, *testBroker, *kgo.Client, []byte) {
	t.Helper()
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1")
	createTestTopic(t, tb, topic, 1)
	return fo, tb, fetchClient(tb), sweepBatch(sweepSmallBatches)
}

func testWriteBehindTransientWriteFault(t *testing.T, inner uring.Opener) {
	fo, tb, cl, batch := startWriteBehindBroker(t, inner, "wt")
	fo.failWrites("wt-0", syscall.EIO, 1)
	var acked []int64
	for i := 0; i < 40; i++ {
		p := produceRaw(t, cl, "wt", 0, 7, slices.Clone(batch))
		switch p.ErrorCode {
		case 0:
			acked = append(acked, p.BaseOffset)
		case kerr.KafkaStorageError.Code:
		default:
			t.Fatalf("produce %d: %v", i, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	if !fo.writeFaultUsedUp("wt-0") {
		t.Fatal("the write fault was never hit")
	}
	resumesHoldingAcknowledged(t, tb, cl, "wt", batch, acked)
}

// A partition whose write-behind write fails in a shard turn (256 KiB
// staged, far from a WAL checkpoint) is reopened, its staged batches
// written, without waiting for another produce to ask: here none comes
// after the one whose turn hit the fault.
func TestWriteBehindTurnWriteFaultReopensWithoutProduce(t *testing.T) {
	forEachWritePath(t, testWriteBehindTurnWriteFaultReopensWithoutProduce)
}

func testWriteBehindTurnWriteFaultReopensWithoutProduce(t *testing.T, inner uring.Opener) {
	fo, tb, cl, batch := startWriteBehindBroker(t, inner, "wr")
	fo.failWrites("wr-0", syscall.EIO, 1)
	var acked []int64
	for i := 0; i < 40 && !fo.writeFaultUsedUp("wr-0"); i++ {
		p := produceRaw(t, cl, "wr", 0, 7, slices.Clone(batch))
		if p.ErrorCode != 0 {
			t.Fatalf("produce %d: %v (the WAL acknowledges it whatever the file write does)", i, kerr.ErrorForCode(p.ErrorCode))
		}
		acked = append(acked, p.BaseOffset)
	}
	if !fo.writeFaultUsedUp("wr-0") {
		t.Fatal("the write fault was never hit")
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the partition was not reopened after its failed write")
		}
		return nil
	})
	resumesHoldingAcknowledged(t, tb, cl, "wr", batch, acked)
}
