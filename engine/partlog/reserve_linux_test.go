package partlog

import (
	"bytes"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/chronik-go/chronik/uring"
)

// allocated is the disk space a file holds (st_blocks), which counts blocks
// reserved past its size.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks * 512
}

// appendMiB appends n batches of about 64 KiB.
func appendMiB(t *testing.T, l *Log, mib int) {
	t.Helper()
	for i := 0; i < mib*16; i++ {
		mustAppend(t, l, simpleBatch(t, 4, 1_000, 16<<10))
	}
}

// reserveSlack is what a file may hold past its size without a
// reservation: its last, partial block.
const reserveSlack = 64 << 10

// With preallocate on, a segment past 1 MiB holds blocks reserved ahead of
// its data, which its roll and a clean close free again; after a crash the
// blocks left behind are freed when the segment is sealed. The data reads
// back the same throughout. Off, nothing is reserved.
func TestPreallocateReservesAheadAndFreesAtSeal(t *testing.T) {
	{
		op := uring.PwriteOpener{}
		dir := t.TempDir()
		opts := Options{Opener: op, SegmentBytes: 16 << 20, Preallocate: true}
		l := mustOpen(t, dir, opts, false)
		appendMiB(t, l, 3)
		active := segmentLogFiles(t, dir)[0]
		if size, held, reserved := fileSize(t, active), allocated(t, active), l.active().reserved; reserved <= size || held < reserved&^4095 {
			t.Fatalf("a 3 MiB segment with preallocate holds %d bytes for %d of data, reserved to %d", held, size, reserved)
		}
		want := readAll(t, l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if size, held := fileSize(t, active), allocated(t, active); held > size+reserveSlack {
			t.Fatalf("after a clean close the segment holds %d bytes for %d of data", held, size)
		}

		// Reserve again, crash, recover: the blocks left behind go at the roll.
		// Its first append after the reopen reserves a step (2 MiB) ahead.
		l = mustOpen(t, dir, opts, true)
		mustAppend(t, l, simpleBatch(t, 4, 1_000, 16<<10))
		want = append(want, readAll(t, l)[len(want):]...)
		crash(l)
		if size, held := fileSize(t, active), allocated(t, active); held < size+1<<20 {
			t.Fatalf("before the crash the segment held %d bytes for %d of data: nothing reserved ahead", held, size)
		}
		opts.Preallocate = false // freed even once the topic no longer preallocates
		l = mustOpen(t, dir, opts, false)
		if got := readAll(t, l); !bytes.Equal(got, want) {
			t.Fatal("the log reads back differently after the crash")
		}
		l.SetRollLimits(l.Size(), 0) // the next append rolls
		mustAppend(t, l, simpleBatch(t, 1, 1_000, 100))
		if n := len(segmentLogFiles(t, dir)); n != 2 {
			t.Fatalf("%d segments, want the rolled one and a new one", n)
		}
		l.settleSeal()
		if size, held := fileSize(t, active), allocated(t, active); held > size+reserveSlack {
			t.Fatalf("the segment rolled after a crash holds %d bytes for %d of data", held, size)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}

		// Off: a new log reserves nothing (its file system may still
		// preallocate by itself, as XFS does, so blocks are not counted).
		dir = t.TempDir()
		l = mustOpen(t, dir, Options{Opener: op, SegmentBytes: 16 << 20}, false)
		appendMiB(t, l, 3)
		if s := l.active(); s.reserved != 0 || s.holdsReserve() {
			t.Fatalf("without preallocate the segment reserved up to %d", s.reserved)
		}
		l.Close()
	}
}

// noSpaceFile fails every reservation as a full disk does.
type noSpaceFile struct {
	uring.File
	truncatedTo []int64
}

func (f *noSpaceFile) ReserveSpace(int64, int64) error { return syscall.ENOSPC }

func (f *noSpaceFile) Truncate(size int64) error {
	f.truncatedTo = append(f.truncatedTo, size)
	return f.File.Truncate(size)
}

type noSpaceOpener struct{ files []*noSpaceFile }

func (o *noSpaceOpener) Kind() string { return "nospace" }

func (o *noSpaceOpener) Open(path string) (uring.File, error) {
	f, err := uring.PwriteOpener{}.Open(path)
	if err != nil {
		return nil, err
	}
	nf := &noSpaceFile{File: f}
	o.files = append(o.files, nf)
	return nf, nil
}

// A reservation refused for want of space (which may have granted part of
// the range first) stops the segment reserving, and its seal still
// truncates it to its data, freeing whatever was granted.
func TestPreallocateOnAFullDiskFreesAtSeal(t *testing.T) {
	op := &noSpaceOpener{}
	l := mustOpen(t, t.TempDir(), Options{Opener: op, SegmentBytes: 16 << 20, Preallocate: true}, false)
	defer l.Close()
	appendMiB(t, l, 2)
	s := l.active()
	if !s.noReserve || s.reserved != 0 {
		t.Fatalf("after a refused reservation: noReserve %v, reserved to %d", s.noReserve, s.reserved)
	}
	logFile, size := op.files[0], s.size
	l.SetRollLimits(size, 0)
	mustAppend(t, l, simpleBatch(t, 1, 1_000, 100))
	if err := l.settleSeal(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(logFile.truncatedTo, size) {
		t.Fatalf("the rolled segment (%d bytes) was truncated to %v, not to its data", size, logFile.truncatedTo)
	}
}

// A segment that took no append between two quiet checks frees its
// reservation at the second; one appended to in between keeps it. Its data
// is untouched, and appends after the release reserve again.
func TestQuietSegmentFreesItsReserve(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Opener: uring.PwriteOpener{}, SegmentBytes: 16 << 20, Preallocate: true}, false)
	defer l.Close()
	appendMiB(t, l, 3)
	active := segmentLogFiles(t, dir)[0]
	check := func() {
		t.Helper()
		if !l.QuietReserve() {
			return
		}
		if err := l.ReleaseQuietReserve(); err != nil {
			t.Fatal(err)
		}
	}
	holding := func() bool {
		s := l.active()
		return s.reserved > s.size && allocated(t, active) >= s.reserved&^4095
	}
	check() // the first check only notes the size
	if !holding() {
		t.Fatal("a 3 MiB segment holds no blocks reserved past its data")
	}
	// Append until a MiB is reserved past the data, so that freeing it shows.
	for i := 0; i == 0 || l.active().reserved-l.active().size < 1<<20; i++ {
		if i == 200 {
			t.Fatal("200 batches of 64 KiB left no MiB reserved past the data")
		}
		mustAppend(t, l, simpleBatch(t, 4, 1_000, 16<<10))
	}
	check()
	if !holding() {
		t.Fatal("a check after an append freed the segment's reservation")
	}
	want := readAll(t, l)
	check()
	if size, held := fileSize(t, active), allocated(t, active); held > size+reserveSlack || l.active().holdsReserve() {
		t.Fatalf("after a quiet interval the segment holds %d bytes for %d of data", held, size)
	}
	if got := readAll(t, l); !bytes.Equal(got, want) {
		t.Fatal("freeing the reservation changed the log's data")
	}
	appendMiB(t, l, 1)
	if !holding() {
		t.Fatal("appends after the release reserved nothing")
	}
}

// Written behind a WAL, a quiet segment's last batches may wait staged for a
// checkpoint: freeing its reservation writes them first, so a quiet
// partition frees its blocks all the same, and every batch reads back from
// the file.
func TestQuietWriteBehindSegmentWritesItsStagedBatchesAndFreesItsReserve(t *testing.T) {
	so, _ := uring.NewShardOpener(uring.PwriteOpener{})
	bt := so.NewBatch()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Opener: uring.PwriteOpener{}, SegmentBytes: 16 << 20, Preallocate: true}, false)
	defer l.Close()
	l.SetWriteBehind()
	var all []byte
	stage := func() {
		t.Helper()
		b := simpleBatch(t, 4, 1_000, 16<<10)
		if _, err := l.StageAppend(b, 0); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for i := 0; i < 48; i++ { // 3 MiB written, reserving past it
		stage()
	}
	if errs := commitStaged(t, bt, l); errs[0] != nil {
		t.Fatal(errs[0])
	}
	stage() // left staged, as a partition's last batches under write-behind
	l.UnloggedStaged()
	l.MarkDurable(l.NextOffset())
	active := segmentLogFiles(t, dir)[0]
	if l.QuietReserve() || !l.QuietReserve() {
		t.Fatal("a segment holding a reservation and no new append is not found quiet at the second check")
	}
	if err := l.ReleaseQuietReserve(); err != nil {
		t.Fatal(err)
	}
	if n := l.StagedBytes(); n != 0 {
		t.Fatalf("%d bytes still staged after the release", n)
	}
	if size, held := fileSize(t, active), allocated(t, active); size != int64(len(all)) || held > size+reserveSlack {
		t.Fatalf("after the release the segment holds %d bytes for %d of data, want %d of data", held, size, len(all))
	}
	if got := readAll(t, l); !bytes.Equal(got, all) {
		t.Fatal("the log reads back differently after the release")
	}
}

// A crash before a roll's seal reached the disk leaves the rolled segment
// holding the blocks it reserved ahead. Recovery validates that segment and
// frees them: at once when it is whole, at its next seal or clean close
// when its tail was lost and it becomes the active segment again.
func TestRolledSegmentCutByACrashFreesItsReserve(t *testing.T) {
	for _, tail := range []string{"whole", "lost"} {
		t.Run(tail, func(t *testing.T) {
			dir, held := t.TempDir(), &heldSeals{}
			opts := Options{Opener: uring.PwriteOpener{}, SegmentBytes: 16 << 20, Preallocate: true, Sealer: held.hold}
			l := mustOpen(t, dir, opts, false)
			appendMiB(t, l, 3)
			rolled, size := segmentLogFiles(t, dir)[0], l.active().size
			l.SetRollLimits(l.Size(), 0) // the next append rolls; its seal is held
			mustAppend(t, l, simpleBatch(t, 1, 1_000, 100))
			if len(held.tasks) != 1 {
				t.Fatalf("%d seals held, want the roll's", len(held.tasks))
			}
			want := readAll(t, l)
			crash(l)
			if got := allocated(t, rolled); got < size+1<<20 {
				t.Fatalf("before the crash the rolled segment held %d bytes for %d of data: nothing reserved ahead", got, size)
			}
			if tail == "lost" {
				// Its last batch never reached the disk, the blocks past it did.
				last := simpleBatch(t, 4, 1_000, 16<<10)
				size -= int64(len(last))
				want = want[:size]
				cutKeepingBlocks(t, rolled, size, 4<<20)
			}

			l = mustOpen(t, dir, opts, false)
			if got := readAll(t, l); !bytes.Equal(got, want) {
				t.Fatalf("after recovery the log reads %d bytes, want %d", len(got), len(want))
			}
			if tail == "lost" {
				if n := len(segmentLogFiles(t, dir)); n != 1 {
					t.Fatalf("%d segments after the rolled one lost its tail, want it alone", n)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				defer l.Close()
			}
			if got := allocated(t, rolled); got > size+reserveSlack {
				t.Fatalf("after recovery the rolled segment holds %d bytes for %d of data", got, size)
			}
		})
	}
}

// cutKeepingBlocks cuts the file at path to size, as a power cut loses a
// tail that was never synced, and reserves keep bytes past it again, as
// blocks reserved before the cut stay allocated.
func cutKeepingBlocks(t *testing.T, path string, size, keep int64) {
	t.Helper()
	f, err := uring.PwriteOpener{}.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.(uring.SpaceReserver).ReserveSpace(size, keep); err != nil {
		t.Fatal(err)
	}
}
