package engine

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// reservedPastData is how many bytes the active segment of a topic's
// partition holds on disk beyond its data.
func reservedPastData(t *testing.T, tb *testBroker, topic string, partition int32) int64 {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(partitionDir(tb.dir, partKey{topic, partition}), "*.log"))
	if err != nil || len(logs) != 1 {
		t.Fatalf("segments %v, %v: want one", logs, err)
	}
	st, err := os.Stat(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks*512 - st.Size()
}

// A topic's preallocate, altered while it takes writes, applies from the
// next produce on: its busy partition's segment then reserves blocks past
// its data, which it did not before — where the data directory is on ext4;
// elsewhere the broker reserves nothing either way. (On is the broker's
// default.)
func TestTopicPreallocateReservesSegmentBlocks(t *testing.T) {
	op := &fileCallCounter{inner: uring.PwriteOpener{}}
	tb := startBrokerWith(t, op)
	adm := tb.admin()
	if _, err := adm.CreateTopic(adminCtx(t), 1, 1, map[string]*string{"preallocate": kadm.StringPtr("false")}, "pre"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	batch := sweepBatch(sweepSmallBatches) // 16 KiB of values
	produce := func(n int) {
		for i := 0; i < n; i++ {
			if p := produceRaw(t, cl, "pre", 0, 7, slices.Clone(batch)); p.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	produce(80) // past 1 MiB, where a segment starts to reserve
	if n := op.reserves.Load(); n != 0 {
		t.Fatalf("without preallocate the segment reserved blocks %d times", n)
	}
	if _, err := adm.AlterTopicConfigs(adminCtx(t), []kadm.AlterConfig{{Name: "preallocate", Value: kadm.StringPtr("true")}}, "pre"); err != nil {
		t.Fatal(err)
	}
	produce(1)
	usable, why := segmentReserveUsable(tb.dir)
	if !usable {
		if n := op.reserves.Load(); n != 0 {
			t.Fatalf("%s, yet the segment reserved blocks %d times", why, n)
		}
		return
	}
	if n := op.reserves.Load(); n == 0 {
		t.Fatal("with preallocate on ext4 the segment reserved nothing")
	}
	if n := reservedPastData(t, tb, "pre", 0); n < 1<<20 {
		t.Fatalf("with preallocate the segment holds %d bytes past its data, want a reservation of a MiB or more", n)
	}
}

// Busy partitions that go quiet give back the blocks they reserved ahead
// at the retention checks, without a roll or a stop: disk space that
// DescribeLogDirs does not count is not held for long. More partitions than
// a shard frees in one turn, so the rest are freed in the turns after; and
// written behind the WAL too, where each partition's last batches (under
// 256 KiB) are still staged when it goes quiet. (Where the broker reserves
// nothing, not on ext4, nothing is given back.)
func TestQuietPartitionsFreeReservedBlocks(t *testing.T) {
	for name, sets := range map[string][]string{
		"direct":       nil,
		"write-behind": {"log.flush.policy=always", "log.flush.wal.min.partitions=1"},
	} {
		t.Run(name, func(t *testing.T) {
			const partitions = quietReleasesPerTurn + 4
			op := &fileCallCounter{inner: uring.PwriteOpener{}}
			tb := startBrokerWith(t, op, append(sets, "num.shards=1", "log.retention.check.interval.ms=100")...)
			adm := tb.admin()
			if _, err := adm.CreateTopic(adminCtx(t), partitions, 1, nil, "quiet"); err != nil {
				t.Fatal(err)
			}
			cl := fetchClient(tb)
			batch := sweepBatch(sweepSmallBatches) // 16 KiB of values
			// Every partition takes a batch in turn, so that all go quiet at
			// once; 85 batches are past 1 MiB, where a segment starts to
			// reserve, and leave 5 staged under write-behind.
			for i := 0; i < 85; i++ {
				for p := int32(0); p < partitions; p++ {
					if r := produceRaw(t, cl, "quiet", p, 7, slices.Clone(batch)); r.ErrorCode != 0 {
						t.Fatal(kerr.ErrorForCode(r.ErrorCode))
					}
				}
			}
			if usable, why := segmentReserveUsable(tb.dir); !usable {
				if n := op.reserves.Load(); n != 0 {
					t.Fatalf("%s, yet segments reserved blocks %d times", why, n)
				}
				return
			}
			if n := op.reserves.Load(); n < partitions {
				t.Fatalf("%d busy partitions reserved blocks %d times", partitions, n)
			}
			deadline := time.Now().Add(10 * time.Second)
			for p := int32(0); p < partitions; p++ {
				for reservedPastData(t, tb, "quiet", p) > 64<<10 {
					if time.Now().After(deadline) {
						t.Fatalf("10 s without a produce, partition %d still holds %d bytes past its data", p, reservedPastData(t, tb, "quiet", p))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}
