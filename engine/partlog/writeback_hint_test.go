package partlog

import (
	"testing"

	"github.com/chronik-go/chronik/uring"
)

// Under write-behind, a written stretch of staged batches is handed to the
// Writeback hook (when set) as one hint covering exactly those bytes; a log
// that is not written behind gives none.
func TestWriteBehindHandsWritebackHints(t *testing.T) {
	so, _ := uring.NewShardOpener(uring.PwriteOpener{})
	bt := so.NewBatch()
	for _, behind := range []bool{true, false} {
		var hints []WritebackHint
		opts := testOptions(uring.PwriteOpener{})
		opts.Writeback = func(h WritebackHint) { hints = append(hints, h) }
		l := mustOpen(t, t.TempDir(), opts, false)
		if behind {
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
		if behind {
			l.UnloggedStaged()
			l.MarkDurable(l.NextOffset())
		}
		if errs := commitStaged(t, bt, l); errs[0] != nil {
			t.Fatal(errs[0])
		}
		defer l.Close()
		if !behind {
			if len(hints) != 0 {
				t.Fatalf("a log not written behind gave %d writeback hints", len(hints))
			}
			continue
		}
		if len(hints) != 1 || hints[0].Off != 0 || hints[0].N != n {
			t.Fatalf("hints = %+v, want one for bytes [0, %d)", hints, n)
		}
		if err := hints[0].File.StartWriteback(hints[0].Off, hints[0].N); err != nil {
			t.Fatalf("running the hint: %v", err)
		}
	}
}
