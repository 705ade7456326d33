package partlog

import (
	"testing"

	"github.com/chronik-go/chronik/uring"
)

// Under write-behind, a written stretch of staged batches is handed to the
// Writeback hook (when set) as one hint covering exactly those bytes; a log
// that is not written behind gives none, and neither does a write its owner
// syncs next (SyncedNext): the fdatasync writes those bytes at once.
func TestWriteBehindHandsWritebackHints(t *testing.T) {
	so, _ := uring.NewShardOpener(uring.PwriteOpener{})
	bt := so.NewBatch()
	for _, c := range []struct {
		name              string
		behind, syncsNext bool
		wantHint          bool
	}{
		{"write-behind", true, false, true},
		{"write-behind, synced next", true, true, false},
		{"written through", false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hints []WritebackHint
			opts := testOptions(uring.PwriteOpener{})
			opts.Writeback = func(h WritebackHint) { hints = append(hints, h) }
			l := mustOpen(t, t.TempDir(), opts, false)
			defer l.Close()
			if c.behind {
				l.SetWriteBehind()
			}
			var n int64
			for range 2 {
				b := simpleBatch(t, 2, 5, 300)
				n += int64(len(b))
				if _, err := l.StageAppend(b, 0); err != nil {
					t.Fatal(err)
				}
			}
			if c.behind && !c.syncsNext {
				l.UnloggedStaged()
				l.MarkDurable(l.NextOffset())
			}
			w := l.SubmitStaged(bt)
			if c.syncsNext {
				w.SyncedNext()
			}
			res, _ := bt.Wait()
			if err := l.StagedDone(w, res); err != nil {
				t.Fatal(err)
			}
			if !c.wantHint {
				if len(hints) != 0 {
					t.Fatalf("got %d writeback hints, want none", len(hints))
				}
				return
			}
			if len(hints) != 1 || hints[0].Off != 0 || hints[0].N != n {
				t.Fatalf("hints = %+v, want one for bytes [0, %d)", hints, n)
			}
			if err := hints[0].File.StartWriteback(hints[0].Off, hints[0].N); err != nil {
				t.Fatalf("running the hint: %v", err)
			}
		})
	}
}
