package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

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
	var acked []int64
	// 16 produces stage 256 KiB, which that turn writes behind the WAL;
	// two more stay staged.
	for i := 0; i < 18; i++ {
		p := produceRaw(t, cl, "wl", 0, 7, slices.Clone(batch))
		if p.ErrorCode != 0 {
			t.Fatalf("produce %d: error %d", i, p.ErrorCode)
		}
		acked = append(acked, p.BaseOffset)
	}
	path := filepath.Join(tb.dir, segment)
	info, err := os.Stat(path)
	if err != nil || info.Size() == 0 {
		t.Fatalf("nothing written behind the WAL yet (%v, %v)", info, err)
	}
	loseWrittenBytes(t, path, info.Size())
	fo.setSync(segment, syscall.EIO)
	fo.failWrites(walDirName, syscall.EIO, 1) // the resume job then syncs the partition file itself
	for i := 0; i < 2; i++ {
		produceRaw(t, cl, "wl", 0, 7, slices.Clone(batch)) // not acknowledged
	}
	fo.setSync(segment, nil)
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the partition was not reopened")
		}
		return nil
	})
	resumesHoldingAcknowledged(t, tb, cl, "wl", batch, acked)
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
