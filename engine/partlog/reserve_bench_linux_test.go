package partlog

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/chronik-go/chronik/uring"
)

// BenchmarkReleaseQuietReserve is the cost of freeing one quiet segment's
// reserved blocks (an ftruncate to its own size), which bounds how many a
// shard frees in one turn (engine's quietReleasesPerTurn). b.N logs first
// take 1.3 MiB each, reserving past it, and are written back (a quiet
// partition's pages are, within the kernel's 30 s expiry); then one release
// each is timed, as a shard frees partitions that went quiet together.
//
//	go test ./engine/partlog -run '^$' -bench ReleaseQuietReserve -benchtime 300x -count 3
func BenchmarkReleaseQuietReserve(b *testing.B) {
	logs := make([]*Log, b.N)
	for i := range logs {
		logs[i] = mustOpen(b, b.TempDir(), Options{Opener: uring.PwriteOpener{}, SegmentBytes: 1 << 30, Preallocate: true}, false)
		for j := 0; j < 20; j++ {
			mustAppend(b, logs[i], simpleBatch(b, 4, 1_000, 16<<10))
		}
		logs[i].QuietReserve() // notes the size
	}
	unix.Sync()
	b.ResetTimer()
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
	}
}
