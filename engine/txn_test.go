package engine

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnProduce runs one transaction of values to topic and ends it.
func txnProduce(t *testing.T, cl *kgo.Client, topic string, commit bool, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

// beginTxn opens a transaction of cl with its first record.
func beginTxn(t *testing.T, cl *kgo.Client, r *kgo.Record) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readValues consumes topic from the start at the given isolation until
// want records arrived, then waits quiet for any more, and returns them
// (sorted, the partitions interleave).
func readValues(t *testing.T, tb *testBroker, topic string, committed bool, want int) []string {
	t.Helper()
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	cl := tb.client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso), kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	quietUntil := time.Time{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		for _, e := range fs.Errors() {
			if e.Err != context.DeadlineExceeded {
				t.Fatalf("fetch: %v", e.Err)
			}
		}
		if len(got) >= want && quietUntil.IsZero() {
			quietUntil = time.Now().Add(time.Second)
		}
		if !quietUntil.IsZero() && time.Now().After(quietUntil) || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(got)
	return got
}

// freeLoopbackAddr is a loopback address no one listens on now, for a
// broker that must come back on the same address after a restart.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func valuesOf(prefix string, n int) []string {
	var vs []string
	for i := range n {
		vs = append(vs, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return vs
}

// A read_committed consumer sees the committed transactions' records and
// none of the aborted one's; a read_uncommitted one sees them all.
func TestTransactionsCommittedAndAbortedRecords(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "tx", 3)
	cl := tb.client(kgo.TransactionalID("tx-a"), kgo.TransactionTimeout(20*time.Second))
	txnProduce(t, cl, "tx", true, valuesOf("c1", 10)...)
	txnProduce(t, cl, "tx", false, valuesOf("ab", 10)...)
	txnProduce(t, cl, "tx", true, valuesOf("c2", 5)...)

	want := append(valuesOf("c1", 10), valuesOf("c2", 5)...)
	if got := readValues(t, tb, "tx", true, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed got %v\nwant %v", got, want)
	}
	all := append(append(valuesOf("ab", 10), valuesOf("c1", 10)...), valuesOf("c2", 5)...)
	slices.Sort(all)
	if got := readValues(t, tb, "tx", false, len(all)); !slices.Equal(got, all) {
		t.Fatalf("read_uncommitted got %v\nwant %v", got, all)
	}
}

// While a transaction is open its records are past the last stable offset:
// ListOffsets read_committed answers below them, read_uncommitted after
// them; the commit moves the last stable offset past its marker.
func TestTransactionHoldsTheLastStableOffset(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "lso", 1)
	adm := tb.admin()
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-lso"), kgo.DefaultProduceTopic("lso"))
	txnProduce(t, cl, "lso", true, "a", "b") // offsets 0, 1 and the marker at 2
	beginTxn(t, cl, &kgo.Record{Value: []byte("open")})
	ends := func() (committed, latest int64) {
		t.Helper()
		c, err := adm.ListCommittedOffsets(ctx, "lso") // read_committed
		if err != nil {
			t.Fatal(err)
		}
		l, err := adm.ListEndOffsets(ctx, "lso")
		if err != nil {
			t.Fatal(err)
		}
		co, _ := c.Lookup("lso", 0)
		lo, _ := l.Lookup("lso", 0)
		return co.Offset, lo.Offset
	}
	if c, l := ends(); c != 3 || l != 4 {
		t.Fatalf("open transaction at 3: read_committed end %d (want 3), latest %d (want 4)", c, l)
	}
	dp, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"lso": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	dp.EachProducer(func(p kadm.DescribedProducer) { starts = append(starts, p.CurrentTxnStartOffset) })
	if !slices.Equal(starts, []int64{3}) {
		t.Fatalf("DescribeProducers: open transactions start at %v, want [3]", starts)
	}
	if got := readValues(t, tb, "lso", true, 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("read_committed read %v during the open transaction, want [a b]", got)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if c, l := ends(); c != 5 || l != 5 {
		t.Fatalf("after the commit: read_committed end %d, latest %d, want 5 and 5", c, l)
	}
	if got := readValues(t, tb, "lso", true, 3); !slices.Equal(got, []string{"a", "b", "open"}) {
		t.Fatalf("read_committed read %v after the commit, want [a b open]", got)
	}
}

// A transaction open across a broker restart is still open after it (its
// records past the last stable offset), and its producer can commit it.
func TestTransactionSurvivesRestart(t *testing.T) {
	// The producer keeps its connection's address across the restart.
	tb := startBroker(t, "listeners=PLAINTEXT://"+freeLoopbackAddr(t))
	createTestTopic(t, tb, "txr", 2)
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-r"), kgo.DefaultProduceTopic("txr"), kgo.TransactionTimeout(time.Minute))
	txnProduce(t, cl, "txr", false, valuesOf("ab", 4)...)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range valuesOf("op", 4) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	tb.restart()
	if got := readValues(t, tb, "txr", true, 0); len(got) != 0 {
		t.Fatalf("read_committed read %v after the restart, want nothing (one aborted, one open)", got)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after the restart: %v", err)
	}
	if got := readValues(t, tb, "txr", true, 4); !slices.Equal(got, valuesOf("op", 4)) {
		t.Fatalf("read_committed read %v after the commit, want %v", got, valuesOf("op", 4))
	}
	tb.restart() // the aborted index and the ends come back from the snapshots
	if got := readValues(t, tb, "txr", true, 4); !slices.Equal(got, valuesOf("op", 4)) {
		t.Fatalf("read_committed read %v after a second restart, want %v", got, valuesOf("op", 4))
	}
}

// A transaction open past its timeout is aborted by the coordinator, which
// fences its producer: the late commit fails, nothing of it is readable
// committed, and the last stable offset moves on.
func TestTransactionTimeoutAbortsAndFences(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "txt", 1)
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-t"), kgo.DefaultProduceTopic("txt"), kgo.TransactionTimeout(time.Second))
	beginTxn(t, cl, &kgo.Record{Value: []byte("late")})
	adm := tb.admin()
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		c, err := adm.ListCommittedOffsets(ctx, "txt")
		if err != nil {
			return err
		}
		if o, _ := c.Lookup("txt", 0); o.Offset != 2 {
			return fmt.Errorf("read_committed end %d, want 2 (the record and the abort marker)", o.Offset)
		}
		return nil
	})
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("a commit after the coordinator aborted the transaction succeeded")
	}
	if got := readValues(t, tb, "txt", true, 0); len(got) != 0 {
		t.Fatalf("read_committed read %v, want nothing", got)
	}
}

// Exactly once through consume-transform-produce (franz-go's
// GroupTransactSession: TxnOffsetCommit, RequireStable offset fetches):
// the first worker stops half way with its last transaction aborted, the
// second takes over from the committed offsets, and the output holds each
// input record exactly once.
func TestTransactionsExactlyOnceThroughAGroup(t *testing.T) {
	tb := startBroker(t, "group.initial.rebalance.delay.ms=0")
	createTestTopic(t, tb, "eos-in", 2)
	createTestTopic(t, tb, "eos-out", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 200
	in := tb.client(kgo.DefaultProduceTopic("eos-in"))
	for i := range n {
		v := fmt.Sprintf("r-%03d", i)
		if err := in.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	worker := func(upTo int, abortLast bool) int {
		t.Helper()
		sess, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(tb.addr), kgo.TransactionalID("eos-worker"), kgo.TransactionTimeout(20*time.Second),
			kgo.ConsumerGroup("eos"), kgo.ConsumeTopics("eos-in"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic("eos-out"),
			kgo.FetchMaxWait(200*time.Millisecond), kgo.FetchMaxPartitionBytes(2000),
		)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		done, kept := 0, 0 // records processed, and of them committed
		for done < upTo && ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			fs := sess.PollFetches(pctx)
			pcancel()
			if fs.Empty() {
				continue
			}
			if err := sess.Begin(); err != nil {
				t.Fatal(err)
			}
			batch := 0
			fs.EachRecord(func(r *kgo.Record) {
				sess.Produce(ctx, &kgo.Record{Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
				batch++
			})
			done += batch
			commit := kgo.TryCommit
			if abortLast && done >= upTo {
				commit = kgo.TryAbort // this batch must be processed again by the next worker
			}
			committed, err := sess.End(ctx, commit)
			if err != nil {
				t.Fatalf("end: %v", err)
			}
			if committed {
				kept += batch
			} else if commit == kgo.TryCommit {
				t.Log("a transaction was aborted by the session (rebalance); its records are redone")
				done -= batch
			}
		}
		return kept
	}
	kept := worker(n/2, true)
	if kept >= n/2 {
		t.Fatalf("the first worker kept %d records, its last transaction aborted", kept)
	}
	worker(n-kept, false)

	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("out-r-%03d", i))
	}
	got := readValues(t, tb, "eos-out", true, n)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed output: %d records, want each of %d once:\n%v", len(got), n, got)
	}
	offs, err := tb.admin().FetchOffsets(ctx, "eos")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != n {
		t.Fatalf("the group committed offsets summing to %d, want %d", total, n)
	}
}

// DescribeTransactions and ListTransactions (kafka-transactions.sh, kadm)
// show an open transaction with its partitions, and its end.
func TestDescribeAndListTransactions(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "txd", 2)
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-d"), kgo.DefaultProduceTopic("txd"), kgo.TransactionTimeout(42*time.Second))
	beginTxn(t, cl, &kgo.Record{Value: []byte("v"), Partition: 1})
	adm := tb.admin()
	ds, err := adm.DescribeTransactions(ctx, "tx-d", "tx-none")
	if err != nil {
		t.Fatal(err)
	}
	d := ds["tx-d"]
	pid, epoch, _ := cl.ProducerID(ctx)
	if d.Err != nil || d.State != "Ongoing" || d.TimeoutMillis != 42000 || d.StartTimestamp <= 0 ||
		d.ProducerID != pid || d.ProducerEpoch != epoch || len(d.Topics["txd"]) != 1 {
		t.Fatalf("open transaction described as %+v (producer %d/%d)", d, pid, epoch)
	}
	if err := ds["tx-none"].Err; err == nil || !strings.Contains(err.Error(), "TRANSACTIONAL_ID_NOT_FOUND") {
		t.Fatalf("an unknown transactional id: %v", err)
	}
	ls, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ls["tx-d"]; !ok || len(ls) != 1 {
		t.Fatalf("ListTransactions Ongoing: %+v", ls)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	ds, err = adm.DescribeTransactions(ctx, "tx-d")
	if err != nil {
		t.Fatal(err)
	}
	if d := ds["tx-d"]; d.State != "CompleteCommit" || len(d.Topics) != 0 {
		t.Fatalf("committed transaction described as %+v", d)
	}
	if ls, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"}); err != nil || len(ls) != 0 {
		t.Fatalf("ListTransactions Ongoing after the commit: %+v %v", ls, err)
	}
}

// A transactional id idle past transactional.id.expiration.ms is removed,
// across restarts too; one with a transaction open stays.
func TestTransactionalIDsExpire(t *testing.T) {
	tb := startBroker(t, "transactional.id.expiration.ms=300", "transaction.remove.expired.transaction.cleanup.interval.ms=100")
	createTestTopic(t, tb, "txe", 1)
	ctx := context.Background()
	done := tb.client(kgo.TransactionalID("tx-idle"), kgo.DefaultProduceTopic("txe"))
	txnProduce(t, done, "txe", true, "a")
	done.Close()
	open := tb.client(kgo.TransactionalID("tx-open"), kgo.DefaultProduceTopic("txe"), kgo.TransactionTimeout(time.Minute))
	beginTxn(t, open, &kgo.Record{Value: []byte("b")})
	adm := tb.admin()
	state := func(id string) string {
		ds, err := adm.DescribeTransactions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := ds[id].Err; err != nil {
			return err.Error()
		}
		return ds[id].State
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if s := state("tx-idle"); !strings.Contains(s, "TRANSACTIONAL_ID_NOT_FOUND") {
			return fmt.Errorf("tx-idle is %s", s)
		}
		return nil
	})
	if s := state("tx-open"); s != "Ongoing" {
		t.Fatalf("the open transaction's id is %s, want Ongoing", s)
	}
	tb.stop()
	tb.sets = append(tb.sets, "transactional.id.expiration.ms=3600000")
	tb.open()
	adm = tb.admin()
	if s := state("tx-idle"); !strings.Contains(s, "TRANSACTIONAL_ID_NOT_FOUND") {
		t.Fatalf("after a restart the expired id is %s", s)
	}
	if s := state("tx-open"); s != "Ongoing" {
		t.Fatalf("after a restart the open transaction's id is %s, want Ongoing", s)
	}
}

// A producer fenced by a newer one of its transactional id is refused
// INVALID_PRODUCER_EPOCH on any partition, as Kafka answers a zombie,
// and the new producer's transactions go on.
func TestTransactionZombieIsFenced(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "txz", 2)
	ctx := context.Background()
	old := tb.client(kgo.TransactionalID("tx-z"), kgo.DefaultProduceTopic("txz"))
	txnProduce(t, old, "txz", true, "old")
	pid, epoch, err := old.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur := tb.client(kgo.TransactionalID("tx-z"), kgo.DefaultProduceTopic("txz"))
	if _, _, err := cur.ProducerID(ctx); err != nil { // its InitProducerId fences the old one
		t.Fatal(err)
	}
	zombie := func(when string) {
		t.Helper()
		for p := range int32(2) {
			if code := tb.b.txns.checkWrite(pid, epoch, partKey{"txz", p}); code != kerr.InvalidProducerEpoch.Code {
				t.Fatalf("%s: the zombie's write to partition %d: %v, want INVALID_PRODUCER_EPOCH", when, p, kerr.ErrorForCode(code))
			}
		}
	}
	zombie("after the new producer's InitProducerId")
	txnProduce(t, cur, "txz", true, "new")
	zombie("after the new producer's transaction")
	if err := old.BeginTransaction(); err == nil {
		if err := old.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie")}).FirstErr(); err == nil {
			t.Fatal("the fenced producer wrote again")
		}
	}
	if got := readValues(t, tb, "txz", true, 2); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("read_committed read %v, want [new old]", got)
	}
}

// InitProducerId naming a producer id without an epoch, or an epoch without
// an id, is INVALID_REQUEST, as Kafka answers it (with or without a
// transactional id).
func TestInitProducerIDWithHalfAPairIsInvalid(t *testing.T) {
	tb := startBroker(t)
	ctx := context.Background()
	cl := tb.client()
	for _, txn := range []*string{nil, kmsg.StringPtr("tx-half")} {
		for _, pair := range [][2]int64{{5, -1}, {-1, 0}} {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version = 4
			req.TransactionalID, req.TransactionTimeoutMillis = txn, 60000
			req.ProducerID, req.ProducerEpoch = pair[0], int16(pair[1])
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ErrorCode != kerr.InvalidRequest.Code || resp.ProducerID != -1 {
				t.Fatalf("transactional id %v, producer %v: %v (id %d), want INVALID_REQUEST", txn != nil, pair, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID)
			}
		}
	}
}
