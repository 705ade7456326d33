package engine

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/uring"
)

// Under log.flush.policy=always, bytes written behind the shard's WAL get a
// writeback hint, but a partition synced directly (too few partitions for
// the WAL) gets none: its fdatasync follows the write at once, and the hint
// would only add a hand-off to another goroutine to every acknowledgement.
func TestWritebackHintsOnlyForBytesWrittenBehind(t *testing.T) {
	for _, c := range []struct {
		name      string
		sets      []string
		wantHints bool
	}{
		{"synced directly", []string{"log.flush.wal.light.bytes.per.second=0"}, false},
		{"written behind the WAL", []string{"log.flush.wal.min.partitions=1", "log.flush.wal.checkpoint.bytes=262144"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := &fileCallCounter{inner: uring.PwriteOpener{}, match: "hints-0"}
			tb := startBrokerWith(t, o, append([]string{"num.shards=1", "log.flush.policy=always"}, c.sets...)...)
			createTestTopic(t, tb, "hints", 1)
			cl := fetchClient(tb)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			value := make([]byte, 16<<10)
			rand.Read(value)           // incompressible: the client compresses batches
			for i := 0; i < 100; i++ { // 1.6 MB: past write-behind's 256 KiB and several checkpoints
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "hints", Value: value}).FirstErr(); err != nil {
					t.Fatalf("produce %d: %v", i, err)
				}
			}
			m := tb.b.Metrics()
			hints := o.hints.Load()
			if c.wantHints && (hints == 0 || m.WALSyncs == 0) {
				t.Fatalf("%d writeback hints, %d WAL syncs: want both", hints, m.WALSyncs)
			}
			if !c.wantHints && (hints != 0 || m.WALSyncs != 0) {
				t.Fatalf("%d writeback hints, %d WAL syncs: want none of either", hints, m.WALSyncs)
			}
		})
	}
}
