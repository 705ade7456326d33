package partlog

import (
	"bytes"
	"testing"
)

// heldFiles is how many files the log has open through o.
func heldFiles(o *testOpener) int64 { return o.opens.Load() - o.closes.Load() }

// maxHeldFiles bounds the descriptors of a log whatever its segment count:
// the active segment's three, the last rolled segment's three until its
// seal is applied, and the one a read or lookup is in.
const maxHeldFiles = 9

// TestSealedSegmentFilesAreReleased rolls hundreds of segments, reads the
// whole log, looks offsets up by timestamp and reopens it: the log must not
// hold descriptors for every segment it rolled or read (it ran the broker
// out of them), and what it reads must not change.
func TestSealedSegmentFilesAreReleased(t *testing.T) {
	for _, sealer := range []struct {
		name string
		fn   func(*SealTask)
	}{
		{"sealed in place", nil},
		{"sealer goroutine", func(t *SealTask) { go t.Run() }},
	} {
		t.Run(sealer.name, func(t *testing.T) {
			o := &testOpener{}
			dir := t.TempDir()
			opts := testOptions(o)
			opts.SegmentBytes = 2 << 10
			opts.Sealer = sealer.fn
			l := mustOpen(t, dir, opts, false)
			const batches = 600
			for i := range batches {
				mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(l.segs); n < batches/2 {
				t.Fatalf("%d segments, want hundreds", n)
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after %d rolls the log holds %d files", len(l.segs)-1, h)
			}
			want := readAll(t, l)
			if got := len(splitBatches(t, want)); got != batches {
				t.Fatalf("read %d batches, want %d", got, batches)
			}
			// Fetch-sized reads from the start, as a consumer does.
			var got []byte
			for off := l.StartOffset(); off < l.NextOffset(); {
				b, err := l.Read(off, 16<<10)
				if err != nil {
					t.Fatal(err)
				}
				hs := splitBatches(t, b)
				got = append(got, b...)
				off = hs[len(hs)-1].LastOffset() + 1
			}
			if !bytes.Equal(got, want) {
				t.Fatal("reading in fetch-sized pieces gave other bytes than one read")
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after reading %d segments the log holds %d files", len(l.segs), h)
			}
			for _, ts := range []int64{1000, 1300, 1000 + batches - 1} {
				off, _, found, err := l.OffsetForTimestamp(ts)
				if err != nil || !found || off != 2*(ts-1000) {
					t.Fatalf("offset for timestamp %d: %d, %v, %v; want %d", ts, off, found, err, 2*(ts-1000))
				}
			}
			if off, ts := l.MaxTimestamp(); ts != 1000+batches-1 || off != 2*(batches-1) {
				t.Fatalf("max timestamp %d at %d", ts, off)
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after timestamp lookups the log holds %d files", h)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if h := heldFiles(o); h != 0 {
				t.Fatalf("a closed log holds %d files", h)
			}

			// Reopened, its segments are opened only as used.
			l = mustOpen(t, dir, opts, true)
			defer l.Close()
			if got := readAll(t, l); !bytes.Equal(got, want) {
				t.Fatal("the reopened log reads other bytes")
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after reading the reopened log it holds %d files", h)
			}
		})
	}
}

// TestRolledSegmentStaysOpenForEarlierSyncTask keeps a sync task prepared
// before a roll out while the roll's seal is applied: the task must still
// sync the rolled segment's file, which is released once the task is
// reported.
func TestRolledSegmentStaysOpenForEarlierSyncTask(t *testing.T) {
	o := &testOpener{}
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 2, 1000, 500))
	mustAppend(t, l, simpleBatch(t, 2, 1001, 500))
	task, err := l.PrepareSync()
	if err != nil || task == nil {
		t.Fatalf("PrepareSync: %v, %v", task, err)
	}
	held := heldFiles(o)
	for i := range 6 { // rolls, the seals applied in place
		mustAppend(t, l, simpleBatch(t, 2, int64(1002+i), 500))
	}
	if len(l.segs) < 3 {
		t.Fatalf("%d segments, want rolls", len(l.segs))
	}
	if err := task.Run(); err != nil {
		t.Fatalf("a sync task prepared before the roll: %v", err)
	}
	syncsBefore := o.logSyncs.Load()
	l.SyncDone(task, nil)
	if h := heldFiles(o); h > held+3 {
		t.Fatalf("after the task was reported the log holds %d files (%d before the rolls)", h, held)
	}
	if syncsBefore == 0 {
		t.Fatal("the task synced no .log")
	}
}
