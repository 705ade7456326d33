//go:build !linux

package engine

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Without syncfs (clean_shutdown.go) each partition keeps its own state
// files at a clean close.

// A clean close writes the producer-state snapshot only when it changed:
// an idle partition closes without touching it (10,000 partitions would
// otherwise spend seconds rewriting identical files), and a partition that
// took idempotent writes since gets a fresh one.
func TestProducerSnapshotRewrittenOnlyWhenChanged(t *testing.T) {
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "snap"); err != nil {
		t.Fatal(err)
	}
	produce := func(n int) {
		cl := tb.client(kgo.DefaultProduceTopic("snap"))
		defer cl.Close()
		for i := 0; i < n; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	snapshot := filepath.Join(tb.dir, "snap-0", producerStateFile)
	inode := func() uint64 {
		t.Helper()
		st, err := os.Stat(snapshot)
		if err != nil {
			t.Fatalf("producer state after a clean close: %v", err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}

	produce(3)
	tb.restart()
	first := inode()
	tb.restart() // nothing produced: the snapshot stays as it is
	if inode() != first {
		t.Fatal("an unchanged producer snapshot was rewritten on close")
	}
	produce(2)
	tb.restart()
	if inode() == first {
		t.Fatal("the producer snapshot was not rewritten after new idempotent writes")
	}
	// The restored state still deduplicates: a new producer session works.
	produce(1)
}
