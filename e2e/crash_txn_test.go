package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The broker is killed with SIGKILL (one stop in six graceful) while a
// transactional producer commits transaction after transaction (one in four
// it aborts) of 1-20 records over three partitions of a topic and two of a
// compacted one (log.flush.policy=always, one shard, so markers,
// transactional batches and the coordinator's records share the WAL). The
// compacted topic's records have keys of their own, so its cleaner removes
// only aborted records and spent markers, under the kills. Each cycle's
// producer comes back with the same transactional id, which fences and
// aborts whatever the kill left open. Afterwards a read_committed consumer
// must read every committed transaction whole and exactly once, nothing of
// a transaction that was not committed except possibly the one whose commit
// the kill cut short (all of it or none), and must reach the end: no
// transaction left hanging holds the last stable offset back.
func TestCrashKillNineTransactions(t *testing.T) {
	bp := startBinary(t, "log.flush.policy=always", "num.shards=1", "log.segment.bytes=65536", "log.cleaner.backoff.ms=50")
	const topic, partitions = "crash-txn", 3
	const compacted, compactedPartitions = "crash-txn-compacted", 2
	createTopic(t, bp.addr, topic, partitions)
	createTopicWith(t, bp.addr, compacted, compactedPartitions, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("4096"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
		"delete.retention.ms":       kadm.StringPtr("0"),
	})
	// record j of a transaction goes to a partition of either topic.
	recordAt := func(value []byte, j int) *kgo.Record {
		if j%2 == 1 {
			return &kgo.Record{Topic: compacted, Key: value, Value: value, Partition: int32(j/2) % compactedPartitions}
		}
		return &kgo.Record{Value: value, Partition: int32(j/2) % partitions}
	}
	cycles := crashCycles(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("%d cycles, kill points from seed %d", cycles, seed)

	type txn struct {
		records   int
		abort     bool // ended with EndTxn(abort)
		committed bool // its EndTxn(commit) was answered
		lastOfRun bool // the kill may have cut its commit short
	}
	var mu sync.Mutex
	txns := map[string]*txn{}
	run := func(cycle int, rng *rand.Rand, stop <-chan struct{}) { // rng its own: the kills draw from the test's
		cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic(topic),
			kgo.TransactionalID("crash-txn"), kgo.TransactionTimeout(10*time.Second),
			kgo.RequestRetries(3), kgo.RetryTimeout(5*time.Second), kgo.ProduceRequestTimeout(5*time.Second))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		var last *txn
		defer func() {
			mu.Lock()
			if last != nil {
				last.lastOfRun = true
			}
			mu.Unlock()
		}()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			name := fmt.Sprintf("c%d-t%d", cycle, i)
			n := 1 + rng.Intn(20)
			tx := &txn{records: n, abort: rng.Intn(4) == 0}
			mu.Lock()
			txns[name], last = tx, tx
			mu.Unlock()
			if err := cl.BeginTransaction(); err != nil {
				cancel()
				return
			}
			var failed atomic.Bool
			for j := range n {
				cl.Produce(ctx, recordAt(fmt.Appendf(nil, "%s-r%d", name, j), j),
					func(_ *kgo.Record, err error) {
						if err != nil {
							failed.Store(true)
						}
					})
			}
			err := cl.Flush(ctx)
			if err == nil && failed.Load() {
				err = fmt.Errorf("a record of %s failed", name)
			}
			if err == nil {
				err = cl.EndTransaction(ctx, kgo.TransactionEndTry(!tx.abort))
			}
			cancel()
			if err != nil {
				return // the broker went away; the next cycle's producer fences this one
			}
			mu.Lock()
			tx.committed = !tx.abort
			mu.Unlock()
		}
	}
	for c := range cycles {
		stop := make(chan struct{})
		done := make(chan struct{})
		own := rand.New(rand.NewSource(rng.Int63()))
		go func() { defer close(done); run(c, own, stop) }()
		time.Sleep(time.Duration(50+rng.Intn(300)) * time.Millisecond)
		if rng.Intn(6) == 0 {
			bp.stop()
		} else {
			bp.kill()
		}
		close(stop)
		within(t, 60*time.Second, func() { <-done }, "the transactional producer did not stop after the broker did")
		bp.start()
	}
	// One more transaction after the last start: the end to read up to.
	stop := make(chan struct{})
	var final *txn
	func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic(topic), kgo.TransactionalID("crash-txn"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range 2 * partitions {
			if err := cl.ProduceSync(ctx, recordAt(fmt.Appendf(nil, "final-r%d", j), j)).FirstErr(); err != nil {
				t.Fatalf("produce after the last start: %v", err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatalf("commit after the last start: %v", err)
		}
		final = &txn{records: 2 * partitions, committed: true}
		txns["final"] = final
	}()
	close(stop)

	seen := map[string]int{} // records read per transaction
	ids := map[string]bool{}
	cons, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.ConsumeTopics(topic, compacted),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	deadline := time.Now().Add(60 * time.Second)
	for seen["final"] < final.records {
		if time.Now().After(deadline) {
			log := bp.stderr.String()
			t.Fatalf("read_committed did not reach the last transaction within 60s (read %d transactions); broker log tail:\n%s",
				len(seen), log[max(0, len(log)-8192):])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cons.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			id := string(r.Value)
			if ids[id] {
				t.Fatalf("record %s read twice", id)
			}
			ids[id] = true
			seen[id[:strings.LastIndex(id, "-r")]]++
		})
	}
	committed := 0
	for name, tx := range txns {
		switch n := seen[name]; {
		case tx.committed && n != tx.records:
			t.Errorf("committed transaction %s: %d of its %d records read", name, n, tx.records)
		case !tx.committed && n != 0 && (!tx.lastOfRun || tx.abort):
			t.Errorf("transaction %s was never committed, yet %d of its records were read", name, n)
		case !tx.committed && n != 0 && n != tx.records:
			t.Errorf("transaction %s, cut short by a kill, read in part: %d of %d records", name, n, tx.records)
		}
		if tx.committed {
			committed++
		}
	}
	for name := range seen {
		if txns[name] == nil {
			t.Errorf("records of an unknown transaction %s", name)
		}
	}
	t.Logf("%d transactions, %d committed, %d read", len(txns), committed, len(seen))
	if committed < cycles {
		t.Fatalf("only %d transactions committed in %d cycles: the kills did not land between commits", committed, cycles)
	}
	for p := range compactedPartitions {
		if _, err := os.Stat(filepath.Join(bp.dataDir, fmt.Sprintf("%s-%d", compacted, p), "cleaner.checkpoint")); err != nil {
			t.Errorf("the compacted topic's partition %d was never cleaned: %v", p, err)
		}
	}
}
