package engine

import (
	"testing"
)

// On a kernel whose syncfs does not report writeback errors, no turn is
// made durable through a syncfs: not through the shard WAL (whose
// checkpoints rely on one), not with one syncfs for many partitions. Each
// partition is synced with its own fdatasync instead.
func TestNoSyncfsDurabilityOnKernelsThatHideItsErrors(t *testing.T) {
	for _, c := range []struct {
		kernel  string
		trusted bool
	}{{"5.4.0-200-generic", false}, {"6.1.0", true}} {
		t.Run(c.kernel, func(t *testing.T) {
			tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), kernel: c.kernel, sets: []string{"num.shards=1",
				"log.flush.policy=always", "log.flush.wal.min.partitions=1", "log.flush.syncfs.min.partitions=2"}})
			const parts = 4
			createTestTopic(t, tb, "k", parts)
			cl := fetchClient(tb)
			defer cl.Close()
			for range 3 {
				answers, err := produceToEveryPartition(cl, "k", parts)
				if err != nil {
					t.Fatal(err)
				}
				for p, a := range answers {
					if a.ErrorCode != 0 {
						t.Fatalf("k-%d: error code %d", p, a.ErrorCode)
					}
				}
			}
			m := tb.b.Metrics()
			through := m.WALSyncs + m.Syncfs
			switch {
			case c.trusted && through == 0:
				t.Fatalf("no turn went through the WAL or a syncfs on a kernel that reports syncfs errors: %+v", m)
			case !c.trusted && through != 0:
				t.Fatalf("%d turns were made durable through a syncfs that hides writeback errors: %+v", through, m)
			case !c.trusted && m.Syncs < 3*parts:
				t.Fatalf("%d fdatasyncs for %d acknowledged batches", m.Syncs, 3*parts)
			}
		})
	}
}
