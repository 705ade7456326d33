package engine

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-go/chronik/uring"
)

// freeAddr is a loopback address to listen on, so that a client keeps its
// connection's address across the broker's restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// txnTarget picks a partition of topic whose shard is not the shard of the
// transactional id's coordinator, so their writes become durable apart.
func txnTarget(t *testing.T, tb *testBroker, id, topic string, partitions int32) (coord *shard, target int32) {
	t.Helper()
	ts, ok := tb.b.currentView().topic(txnStateTopic)
	if !ok {
		t.Fatal("no __transaction_state")
	}
	coord = tb.b.shardFor(partKey{txnStateTopic, txnPartitionFor(id, len(ts.Partitions))})
	for p := range partitions {
		if tb.b.shardFor(partKey{topic, p}) != coord {
			return coord, p
		}
	}
	t.Fatalf("every partition of %s is on the coordinator's shard", topic)
	return nil, 0
}

// openTxnAt reports whether producerID's transaction is open on k.
func openTxnAt(t *testing.T, tb *testBroker, k partKey, producerID int64) bool {
	t.Helper()
	var open bool
	onShard(t, tb.b.shardFor(k), func(s *shard) { _, open = s.parts[k].txns.Ongoing[producerID] })
	return open
}

// An end's markers are written only once its decision (PrepareCommit) is
// durable in the transaction log. Written before it, a crash in between
// would leave a partition committed while the restarted coordinator, back
// at Ongoing, times the transaction out and aborts the others.
func TestTransactionMarkersWaitForTheDecision(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=2", "log.flush.policy=always", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "dec", 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-dec"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	pid, _, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, target := txnTarget(t, tb, "tx-dec", "dec", 8)
	beginTxn(t, cl, &kgo.Record{Topic: "dec", Partition: target, Value: []byte("v")})
	k := partKey{"dec", target}
	if !openTxnAt(t, tb, k, pid) {
		t.Fatal("the transaction is not open on its partition")
	}

	release := fo.blockSync(txnStateTopic)
	defer release()
	ended := make(chan error, 1)
	go func() { ended <- cl.EndTransaction(ctx, kgo.TryCommit) }()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if fo.blockedSyncs.Load() == 0 {
			return context.DeadlineExceeded
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // room for a marker written too early
	if !openTxnAt(t, tb, k, pid) {
		t.Fatal("the commit marker was written before the decision to commit was durable")
	}
	release()
	if err := <-ended; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if openTxnAt(t, tb, k, pid) {
		t.Fatal("the transaction is still open on its partition after the commit")
	}
}

// txnCommitOffset adds group to cl's open transaction and commits offset for
// partition 0 of topic in it (AddOffsetsToTxn, TxnOffsetCommit).
func txnCommitOffset(t *testing.T, cl *kgo.Client, txnID, group, topic string, offset int64) {
	t.Helper()
	ctx := context.Background()
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = txnID, pid, epoch, group
	if ar, err := add.RequestWith(ctx, cl); err != nil || ar.ErrorCode != 0 {
		t.Fatalf("add offsets: %v %v", err, ar)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 3
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = txnID, group, pid, epoch
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{rp}}}
	if resp, err := req.RequestWith(ctx, cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("txn offset commit: %v %+v", err, resp)
	}
}

// committedOffset fetches group's offset of partition 0 of topic, stable.
func committedOffset(t *testing.T, cl *kgo.Client, group, topic string) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.RequireStable = true
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{0}}}
	req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Groups[0].ErrorCode != 0 {
		t.Fatalf("OffsetFetch: group error %d", resp.Groups[0].ErrorCode)
	}
	p := resp.Groups[0].Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// stableEnds returns each partition's read_committed and latest end offsets.
func stableEnds(t *testing.T, tb *testBroker, topic string) (committed, latest map[int32]int64) {
	t.Helper()
	ctx := context.Background()
	adm := tb.admin()
	c, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	l, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	committed, latest = map[int32]int64{}, map[int32]int64{}
	c.Each(func(o kadm.ListedOffset) { committed[o.Partition] = o.Offset })
	l.Each(func(o kadm.ListedOffset) { latest[o.Partition] = o.Offset })
	return committed, latest
}

// A restart finishes an end that was decided (PrepareCommit in the log)
// with its markers written to some partitions only: every partition and
// the group's offsets commit, the last stable offsets reach the log ends,
// and the producer's retried EndTxn is answered NONE.
func TestTransactionDecidedEndFinishedAfterRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "crash"}[crash], func(t *testing.T) {
			sets := []string{"num.shards=2", "log.flush.policy=always", "log.flush.wal.enable=false"}
			tb := startBroker(t, sets...)
			createTestTopic(t, tb, "half", 2)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cl := tb.client(kgo.TransactionalID("tx-half"), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(time.Minute))
			if err := cl.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			for p, v := range []string{"a", "b"} {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "half", Partition: int32(p), Value: []byte(v)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			txnCommitOffset(t, cl, "tx-half", "g-half", "half", 7)
			pid, epoch, err := cl.ProducerID(ctx)
			if err != nil {
				t.Fatal(err)
			}

			// Decide the commit and write the marker to half-0 only, as a
			// crash in the middle of the markers leaves it.
			ts, _ := tb.b.currentView().topic(txnStateTopic)
			tp := txnPartitionFor("tx-half", len(ts.Partitions))
			tc := tb.b.txns
			onShard(t, tb.b.shardFor(partKey{txnStateTopic, tp}), func(s *shard) {
				tl := tc.byShard[s.id][tp]
				m := tl.txns["tx-half"]
				m.timer.Stop()
				m.state = kmsg.TransactionStatePrepareCommit
				tc.setOpen(m)
				if err := tc.persist(tl, m); err != nil {
					t.Error(err)
				}
			})
			k := partKey{"half", 0}
			onShard(t, tb.b.shardFor(k), func(s *shard) {
				if res := s.parts[k].appendMarker(pid, epoch, true, 0, s.b.settingsFor("half")); res.err != nil || res.errCode != 0 {
					t.Errorf("marker: %+v", res)
				}
			})
			for _, s := range tb.b.shards {
				onShard(t, s, func(*shard) {}) // the turns above are written
			}

			again := tb
			if crash {
				crashed := t.TempDir()
				if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
					t.Fatal(err)
				}
				again = openCrashCopy(t, crashed, sets)
			} else {
				tb.restart()
			}
			plain := again.client()
			checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
				c, l := stableEnds(t, again, "half")
				// (half-0 may hold its marker twice: the restart cannot
				// know which partitions have it.)
				if c[0] != l[0] || c[1] != l[1] || l[0] < 2 || l[1] != 2 {
					return fmt.Errorf("read_committed ends %v, latest %v; want them equal, past a record and its marker", c, l)
				}
				if o, code := committedOffset(t, plain, "g-half", "half"); o != 7 || code != 0 {
					return fmt.Errorf("group offset %d (error %d), want 7", o, code)
				}
				return nil
			})
			if got := readValues(t, again, "half", true, 2); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("read_committed read %v, want [a b]", got)
			}
			end := kmsg.NewPtrEndTxnRequest()
			end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "tx-half", pid, epoch, true
			if resp, err := end.RequestWith(ctx, plain); err != nil || resp.ErrorCode != 0 {
				t.Fatalf("retried commit: %v %v", err, resp)
			}
		})
	}
}

// A crash that leaves transactional batches and their markers only in the
// shard's write-ahead log: the replay rebuilds the partition's side (the
// aborted transaction, the open one holding the last stable offset) and the
// coordinator's, which then times the open transaction out.
func TestTransactionStateReplayedFromTheWAL(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "wtx", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-wal"), kgo.DefaultProduceTopic("wtx"), kgo.TransactionTimeout(3*time.Second))
	txnProduce(t, cl, "wtx", true, "a")  // 0, marker 1
	txnProduce(t, cl, "wtx", false, "b") // 2, marker 3
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("c")}).FirstErr(); err != nil { // 4, open
		t.Fatal(err)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, "wtx-0")); n != 0 {
		t.Fatalf("the partition file already holds %d bytes: nothing left for the WAL to restore", n)
	}
	again := openCrashCopy(t, crashed, sets)
	if c, l := stableEnds(t, again, "wtx"); c[0] != 4 || l[0] != 5 {
		t.Fatalf("after the replay: read_committed end %d (want 4, the open transaction), latest %d (want 5)", c[0], l[0])
	}
	if got := readValues(t, again, "wtx", true, 1); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("read_committed read %v, want [a]", got)
	}
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		if c, l := stableEnds(t, again, "wtx"); c[0] != 6 || l[0] != 6 {
			return fmt.Errorf("read_committed end %d, latest %d; want 6 once the open transaction timed out", c[0], l[0])
		}
		return nil
	})
	if got := readValues(t, again, "wtx", true, 1); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("read_committed read %v after the timeout, want [a]", got)
	}
}

// consumeCommitted reads partition 0 of topic read_committed from its start
// until a second passes without records.
func consumeCommitted(t *testing.T, tb *testBroker, topic string) []*kgo.Record {
	t.Helper()
	cl := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	defer cl.Close()
	var recs []*kgo.Record
	for quiet := time.Now().Add(time.Second); time.Now().Before(quiet); {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		for _, e := range fs.Errors() {
			if e.Err != context.DeadlineExceeded {
				t.Fatalf("fetch: %v", e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, r)
			quiet = time.Now().Add(time.Second)
		})
	}
	return recs
}

// Compaction of a partition holding committed and aborted transactions
// keeps each key's last committed value for read_committed consumers,
// before and after a restart, and never lets an aborted record stand for
// a key.
func TestTransactionsSurviveCompactionAndRestart(t *testing.T) {
	const topic, keys, rounds = "ctx", 10, 40
	pad := strings.Repeat("p", 100)
	tb, round := compactedTxnTopic(t, topic, "tx-compact", "0.1", keys, pad)
	for r := range rounds {
		round(r, r%3 != 2)
	}
	round(rounds, false)
	lastCommitted := rounds - 1
	if lastCommitted%3 == 2 {
		lastCommitted--
	}
	check := func(when string, tb *testBroker) int {
		t.Helper()
		recs := consumeCommitted(t, tb, topic)
		latest := latestByKey(recs)
		for k := range keys {
			key := fmt.Sprintf("key-%02d", k)
			if want := fmt.Sprintf("committed-%02d@%d%s", k, lastCommitted, pad); string(latest[key]) != want {
				t.Fatalf("%s: %s = %q, want %q", when, key, latest[key], want)
			}
		}
		for _, r := range recs {
			if strings.HasPrefix(string(r.Value), "aborted") {
				t.Fatalf("%s: read_committed read the aborted %q", when, r.Value)
			}
		}
		return len(recs)
	}
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if n := check("compacting", tb); n > 3*keys {
			return fmt.Errorf("%d committed records left (%d passes)", n, tb.b.cleanerPasses())
		}
		return nil
	})
	tb.restart()
	check("after a restart", tb)
	for r := rounds + 1; r < rounds+10; r++ {
		round(r, true)
		lastCommitted = r
	}
	round(rounds+10, false)
	passes := tb.b.cleanerPasses()
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if tb.b.cleanerPasses() <= passes {
			return fmt.Errorf("no pass after the restart")
		}
		return nil
	})
	check("compacted after the restart", tb)
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	check("after a crash", openCrashCopy(t, crashed, nil))
	tb.restart()
	check("after a second restart", tb)
}

// A transaction open across a restart takes its producer's writes as soon
// as the broker serves again: the partitions' shards check a transactional
// write against the coordinators' open transactions, which must be loaded
// by then, however long the transaction log takes to read. (A produce that
// came first was refused INVALID_TXN_STATE, which fails the transaction.)
func TestTransactionOpenAcrossARestartTakesWritesAtOnce(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "listeners=PLAINTEXT://"+freeAddr(t), "num.shards=2")
	createTestTopic(t, tb, "early", 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-early"), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(time.Minute))
	if _, _, err := cl.ProducerID(ctx); err != nil {
		t.Fatal(err)
	}
	_, target := txnTarget(t, tb, "tx-early", "early", 8)
	beginTxn(t, cl, &kgo.Record{Topic: "early", Partition: target, Value: []byte("before")})
	tb.stop()
	// The coordinator's load reads its log; it takes a while here.
	release := fo.blockRead(txnStateTopic)
	defer release()
	time.AfterFunc(time.Second, release)
	tb.open()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "early", Partition: target, Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("produce in the open transaction right after the restart: %v", err)
	}
	if fo.blockedReads.Load() == 0 {
		t.Fatal("the coordinator's load read nothing of its log: the test did not slow it")
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readValues(t, tb, "early", true, 2); !slices.Equal(got, []string{"after", "before"}) {
		t.Fatalf("read_committed read %v, want [after before]", got)
	}
}

// txnRequests is a client pinned to the transaction APIs' versions this
// broker serves, for raw requests.
func txnRequests(tb *testBroker) *kgo.Client {
	v := kversion.Stable()
	v.SetMaxKeyVersion(22, 5)
	v.SetMaxKeyVersion(24, 3)
	v.SetMaxKeyVersion(25, 4)
	v.SetMaxKeyVersion(26, 4)
	v.SetMaxKeyVersion(28, 4)
	return tb.client(kgo.MaxVersions(v))
}

// initTxnID sends InitProducerId for id until it is not CONCURRENT_
// TRANSACTIONS (or COORDINATOR_NOT_AVAILABLE while the log is created).
func initTxnID(t *testing.T, cl *kgo.Client, id string, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = &id, 60000, pid, epoch
	for i := 0; ; i++ {
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			t.Fatal(err)
		}
		if (resp.ErrorCode != kerr.ConcurrentTransactions.Code && resp.ErrorCode != kerr.CoordinatorNotAvailable.Code) || i == 100 {
			return resp
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addTxnPartition sends AddPartitionsToTxn for partition 0 of topic.
func addTxnPartition(t *testing.T, cl *kgo.Client, id string, pid int64, epoch int16, topic string) int16 {
	t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
	req.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: topic, Partitions: []int32{0}}}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// A producer whose epoch is the last one before exhaustion (32766) is still
// fenced when a new producer of its id aborts its open transaction: the
// abort bumps the epoch to 32767, as Kafka's does, rather than leaving the
// old producer its epoch to start (and commit) a new transaction with
// before the new one is answered its new producer id.
func TestTransactionFenceAtTheLastEpoch(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "last", 1)
	cl := txnRequests(tb)
	r := initTxnID(t, cl, "tx-last", -1, -1)
	if r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	pid, epoch := r.ProducerID, int16(math.MaxInt16-1)
	ts, _ := tb.b.currentView().topic(txnStateTopic)
	tp := txnPartitionFor("tx-last", len(ts.Partitions))
	onShard(t, tb.b.shardFor(partKey{txnStateTopic, tp}), func(s *shard) {
		tl := tb.b.txns.byShard[s.id][tp]
		tl.txns["tx-last"].epoch = epoch // as 32766 InitProducerIds leave it
		if err := tb.b.txns.persist(tl, tl.txns["tx-last"]); err != nil {
			t.Error(err)
		}
	})
	if code := addTxnPartition(t, cl, "tx-last", pid, epoch, "last"); code != 0 {
		t.Fatalf("add partition at epoch %d: %v", epoch, kerr.ErrorForCode(code))
	}
	// A new producer of the id: its first InitProducerId aborts the open
	// transaction, fencing the old producer.
	req := kmsg.NewPtrInitProducerIDRequest()
	id := "tx-last"
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Fatalf("InitProducerId over an open transaction: %v %v, want CONCURRENT_TRANSACTIONS", err, resp)
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		var state kmsg.TransactionState
		onShard(t, tb.b.shardFor(partKey{txnStateTopic, tp}), func(s *shard) {
			state = tb.b.txns.byShard[s.id][tp].txns["tx-last"].state
		})
		if state != kmsg.TransactionStateCompleteAbort {
			return fmt.Errorf("state %v", state)
		}
		return nil
	})
	if code := addTxnPartition(t, cl, "tx-last", pid, epoch, "last"); code != kerr.ProducerFenced.Code {
		t.Fatalf("the old producer's AddPartitionsToTxn after the fence: %v, want PRODUCER_FENCED", kerr.ErrorForCode(code))
	}
	r = initTxnID(t, cl, "tx-last", -1, -1)
	if r.ErrorCode != 0 || r.ProducerID == pid || r.ProducerEpoch != 0 {
		t.Fatalf("the new producer's InitProducerId: %v, producer id %d epoch %d; want a new producer id at epoch 0",
			kerr.ErrorForCode(r.ErrorCode), r.ProducerID, r.ProducerEpoch)
	}
}

// A topic deleted while a transaction holds records in it: the end writes
// the markers of the partitions left and completes, the other partitions'
// last stable offsets move past it, and a topic of the same name created
// again takes the producer's next transaction.
func TestTransactionEndsAfterItsTopicIsDeleted(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "gone", 1)
	createTestTopic(t, tb, "stays", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-gone"))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"gone", "stays"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(topic)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tb.admin().DeleteTopics(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after a topic of the transaction was deleted: %v", err)
	}
	if c, l := stableEnds(t, tb, "stays"); c[0] != 2 || l[0] != 2 {
		t.Fatalf("stays-0: read_committed end %d, latest %d; want 2 (the record and its marker)", c[0], l[0])
	}
	createTestTopic(t, tb, "gone", 1)
	txnProduce(t, cl, "gone", true, "again")
	if got := readValues(t, tb, "gone", true, 1); !slices.Equal(got, []string{"again"}) {
		t.Fatalf("read_committed read %v from the topic created again, want [again]", got)
	}
}

// An AddPartitionsToTxn retried after its record failed to sync is written
// again, not answered from memory: a restart would otherwise find the
// partition missing from the transaction and never write its marker.
func TestTransactionAddRetriedAfterAFailedSyncIsWrittenAgain(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "resync", 1)
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-resync"), kgo.DefaultProduceTopic("resync"))
	beginTxn(t, cl, &kgo.Record{Value: []byte("v")})
	ts, _ := tb.b.currentView().topic(txnStateTopic)
	p := txnPartitionFor("tx-resync", len(ts.Partitions))
	s := tb.b.shardFor(partKey{txnStateTopic, p})
	written := func(unsynced bool) int64 {
		var grew int64
		onShard(t, s, func(s *shard) {
			tl := tb.b.txns.logOn(s, p)
			m := tl.txns["tx-resync"]
			m.unsynced = unsynced // as a failed sync of the last record leaves it
			before := tl.part.log.NextOffset()
			if code := tb.b.txns.addToTxn(s, tl, m, []partKey{{"resync", 0}}); code != 0 {
				t.Errorf("add: %v", code)
			}
			grew = tl.part.log.NextOffset() - before
		})
		return grew
	}
	if n := written(false); n != 0 {
		t.Fatalf("adding a partition already in the transaction wrote %d records", n)
	}
	if n := written(true); n != 1 {
		t.Fatalf("adding it again after a failed sync wrote %d records, want 1", n)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
}
