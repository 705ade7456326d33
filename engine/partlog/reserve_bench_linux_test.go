package partlog

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/chronik-go/chronik/uring"
)

// BenchmarkReleaseQuietReserve is the cost of freeing one quiet segment's
// reserved blocks (an ftruncate to its own size), which bounds how many a
// shard frees in one turn (engine's quietReleasesPerTurn). Logs are made
// 256 at a time, and removed after: each first takes 1.3 MiB, reserving past it, and is
// written back (a quiet partition's pages are, within the kernel's 30 s
// expiry); then one release each is timed, as a shard frees partitions
// that went quiet together.
//
//	go test ./engine/partlog -run '^$' -bench ReleaseQuietReserve -benchtime 300x -count 3
func BenchmarkReleaseQuietReserve(b *testing.B) {
	b.StopTimer()
	root := b.TempDir()
	for done := 0; done < b.N; {
		logs := make([]*Log, min(b.N-done, 256))
		for i := range logs {
			dir, err := os.MkdirTemp(root, "log")
			if err != nil {
				b.Fatal(err)
			}
			logs[i] = mustOpen(b, dir, Options{Opener: uring.PwriteOpener{}, SegmentBytes: 1 << 30, Preallocate: true}, false)
			for j := 0; j < 20; j++ {
				mustAppend(b, logs[i], simpleBatch(b, 4, 1_000, 16<<10))
			}
			logs[i].QuietReserve() // notes the size
		}
		unix.Sync()
		b.StartTimer()
		for _, l := range logs {
			if !l.QuietReserve() {
				b.Fatal("a 1.3 MiB segment holds no reservation")
			}
			if err := l.ReleaseQuietReserve(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		for _, l := range logs {
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(l.Dir()) // a long run would fill the disk
		}
		done += len(logs)
	}
}
