package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// A write-behind partition whose file lost pages the WAL had made durable
// (a failed writeback: the disk holds zeros there, and the file's next
// fdatasync fails) is reopened from disk; the reopen restores the lost
// batches from the shard's WAL, so every acknowledged batch reads back and
// no new batch takes an acknowledged offset, after a restart too.
func TestWriteBehindReopenRestoresWhatTheFileLost(t *testing.T) {
	forEachWritePath(t, testWriteBehindReopenRestoresWhatTheFileLost)
}

func testWriteBehindReopenRestoresWhatTheFileLost(t *testing.T, inner uring.Opener) {
	fo, tb, cl, batch := startWriteBehindBroker(t, inner, "wl")
	segment := filepath.Join("wl-0", "00000000000000000000.log")
	// 16 produces stage 256 KiB, which that turn writes behind the WAL;
	// two more stay staged.
	acked := produceAcknowledged(t, cl, "wl", batch, 18)
	if info, err := os.Stat(filepath.Join(tb.dir, segment)); err != nil || info.Size() == 0 {
		t.Fatalf("nothing written behind the WAL yet (%v, %v)", info, err)
	}
	acked = append(acked, loseFileAndReopen(t, fo, tb, cl, "wl", batch)...)
	resumesHoldingAcknowledged(t, tb, cl, "wl", batch, acked)
}

// loseFileAndReopen zeroes what partition 0 of topic's first segment holds
// on disk, as a failed writeback leaves it, and fails its next fdatasync
// and one WAL write, so that the shard, resuming after the WAL fault, syncs
// the file itself and fails the log; produces go on (each a turn) until it
// has, and the fault then clears until the log is reopened. It returns the
// offsets acknowledged meanwhile.
func loseFileAndReopen(t *testing.T, fo *faultOpener, tb *testBroker, cl *kgo.Client, topic string, batch []byte) []int64 {
	t.Helper()
	segment := filepath.Join(topic+"-0", "00000000000000000000.log")
	path := filepath.Join(tb.dir, segment)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	loseWrittenBytes(t, path, info.Size())
	fo.setSync(segment, syscall.EIO)
	fo.failWrites(walDirName, syscall.EIO, 1)
	var acked []int64
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if p := produceRaw(t, cl, topic, 0, 7, slices.Clone(batch)); p.ErrorCode == 0 {
			acked = append(acked, p.BaseOffset)
		}
		if !tb.b.offline.has(partKey{topic, 0}) {
			return fmt.Errorf("the partition's failed sync has not failed its log")
		}
		return nil
	})
	fo.setSync(segment, nil)
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the partition was not reopened")
		}
		return nil
	})
	return acked
}

// produceAcknowledged produces n copies of batch to partition 0 of topic,
// each of which must be acknowledged, and returns their offsets.
func produceAcknowledged(t *testing.T, cl *kgo.Client, topic string, batch []byte, n int) []int64 {
	t.Helper()
	var acked []int64
	for i := range n {
		p := produceRaw(t, cl, topic, 0, 7, slices.Clone(batch))
		if p.ErrorCode != 0 {
			t.Fatalf("produce %d: %v", i, kerr.ErrorForCode(p.ErrorCode))
		}
		acked = append(acked, p.BaseOffset)
	}
	return acked
}

// loseWrittenBytes zeroes the first n bytes of a file on disk, as a failed
// writeback of their pages leaves them.
func loseWrittenBytes(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, n), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// A turn whose WAL entry is still being synced can fail its partition (its
// write of earlier batches fails); the entry is acknowledged once its sync
// returns. The reopen waits for it: taken before, it read an acknowledged
// end short of that entry and found the entry in no WAL file yet, and the
// next produce took the offset the entry's batch was acknowledged at.
func TestWriteBehindReopenWaitsForItsWALJobs(t *testing.T) {
	fo, tb, cl, batch := startWriteBehindBroker(t, uring.PwriteOpener{}, "wf")
	path := filepath.Join(tb.dir, "wf-0", "00000000000000000000.log")
	acked := produceAcknowledged(t, cl, "wf", batch, 30)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	loseWrittenBytes(t, path, info.Size())
	gate := fo.gateSyncs(t, walDirName)
	answers := make(chan kmsg.ProduceResponseTopicPartition, 2)
	go func() { answers <- produceRaw(t, cl, "wf", 0, 7, slices.Clone(batch)) }()
	held := gate.next(t) // its WAL entry is written, its fdatasync held
	fo.failWrites("wf-0", syscall.EIO, 1)
	cl2 := fetchClient(tb)
	go func() { answers <- produceRaw(t, cl2, "wf", 0, 7, slices.Clone(batch)) }()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !fo.writeFaultUsedUp("wf-0") {
			return fmt.Errorf("the partition write has not failed yet")
		}
		return nil
	})
	// Past the reopen delay (a second), no reopen may start while the job
	// is held.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := tb.b.Metrics().Reopens; n > 0 {
			t.Fatalf("the partition was reopened (%d) while a WAL job of its batches was in flight", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fo.ungateSyncs(walDirName)
	held.letCheck()
	held.letLeave()
	for range 2 {
		if p := <-answers; p.ErrorCode == 0 {
			acked = append(acked, p.BaseOffset)
		}
	}
	resumesHoldingAcknowledged(t, tb, cl, "wf", batch, acked)
}
