package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// openDescriptors counts the broker process's open files.
func openDescriptors(t *testing.T, bp *brokerProc) int {
	t.Helper()
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(bp.cmd.Process.Pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// TestManySegmentsFewDescriptors rolls thousands of 1 KiB segments in the
// real binary and reads them all back, before and after a restart: the
// broker must not hold a descriptor per segment (it used to hold three per
// segment it rolled and one per segment it read, until the open-file limit
// stopped it accepting connections and rolling segments).
func TestManySegmentsFewDescriptors(t *testing.T) {
	const records, value = 3000, 1000
	bp := startBinary(t, "log.segment.bytes=1024")
	createTopic(t, bp.addr, "fds", 1)
	base := openDescriptors(t, bp)
	limit := base + 60 // connections, the WAL, raft: not per segment

	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("fds"),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	val := []byte(strings.Repeat("v", value))
	for i := range records {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: val}).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	cl.Close()
	logs, _ := filepath.Glob(filepath.Join(bp.dataDir, "fds-0", "*.log"))
	if len(logs) < records/2 {
		t.Fatalf("%d segments, want thousands", len(logs))
	}
	if n := openDescriptors(t, bp); n > limit {
		t.Fatalf("after rolling %d segments the broker holds %d descriptors (%d after start)", len(logs), n, base)
	}

	readAll := func(when string) {
		t.Helper()
		cons, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.ConsumeTopics("fds"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Close()
		read := 0
		for read < records && ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("%s: fetch: %v", when, err) })
			read += fs.NumRecords()
		}
		if read != records {
			t.Fatalf("%s: read %d of %d records", when, read, records)
		}
		if n := openDescriptors(t, bp); n > limit {
			t.Fatalf("%s: after reading %d segments the broker holds %d descriptors (%d after start)", when, len(logs), n, base)
		}
	}
	readAll("before a restart")
	bp.restart()
	readAll("after a restart")
}
