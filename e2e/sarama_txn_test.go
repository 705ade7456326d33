package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// saramaTxnVersions are the protocol versions sarama's transaction manager
// is run at: 2.5 (InitProducerId v3, TxnOffsetCommit v3, the other
// transaction APIs v1) and 4.0 (the flexible versions: AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn v3, InitProducerId v4, as from 2.8; 3.6 and
// 4.0 were checked to send the same).
var saramaTxnVersions = []sarama.KafkaVersion{sarama.V2_5_0_0, sarama.V4_0_0_0}

// IBM/sarama's transactional producer against the real binary: committed
// and aborted transactions over two partitions read back at read_committed
// (franz-go and sarama consumers) as exactly the committed records; then
// sarama's exactly-once consume-transform-produce loop (a consumer group,
// a transactional producer, the consumed offsets added to each
// transaction) leaves each input record once in the output and the group's
// committed offsets at the end of what was consumed.
func TestSaramaTransactions(t *testing.T) {
	bp := startBinary(t, groupSets...)
	for _, v := range saramaTxnVersions {
		t.Run("v"+v.String(), func(t *testing.T) {
			t.Run("produce", func(t *testing.T) { saramaTxnProduce(t, bp.addr, v) })
			t.Run("exactly-once", func(t *testing.T) { saramaExactlyOnce(t, bp.addr, v) })
		})
	}
}

func saramaTxnConfig(v sarama.KafkaVersion, txnID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = "e2e-sarama-txn"
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = txnID
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Transaction.Timeout = 30 * time.Second
	cfg.Producer.Transaction.Retry.Max = 20
	cfg.Producer.Transaction.Retry.Backoff = 50 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 5
	return cfg
}

func newSaramaTxnProducer(t *testing.T, addr string, v sarama.KafkaVersion, txnID string) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, saramaTxnConfig(v, txnID))
	if err != nil {
		t.Fatalf("sarama transactional producer %s: %v", txnID, err)
	}
	return p
}

// saramaTxnProduce runs committed and aborted transactions and reads back
// exactly the committed records.
func saramaTxnProduce(t *testing.T, addr string, v sarama.KafkaVersion) {
	topic := "sarama-txn-" + strings.ReplaceAll(v.String(), ".", "-")
	createTopic(t, addr, topic, 2)
	p := newSaramaTxnProducer(t, addr, v, "sarama-txn-produce-"+v.String())
	defer p.Close()

	var committed, all []string
	run := func(prefix string, n int, parts []int32, commit bool) {
		t.Helper()
		if err := p.BeginTxn(); err != nil {
			t.Fatalf("begin %s: %v", prefix, err)
		}
		msgs := make([]*sarama.ProducerMessage, 0, n)
		for i := range n {
			val := fmt.Sprintf("%s-%02d", prefix, i)
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: parts[i%len(parts)],
				Key: sarama.StringEncoder(val), Value: sarama.StringEncoder(val)})
			all = append(all, val)
			if commit {
				committed = append(committed, val)
			}
		}
		// half one at a time, half as one batch
		for _, m := range msgs[:n/2] {
			if _, _, err := p.SendMessage(m); err != nil {
				t.Fatalf("send %s: %v (txn status %v)", prefix, err, p.TxnStatus())
			}
		}
		if err := p.SendMessages(msgs[n/2:]); err != nil {
			t.Fatalf("send batch %s: %v (txn status %v)", prefix, err, p.TxnStatus())
		}
		if commit {
			if err := p.CommitTxn(); err != nil {
				t.Fatalf("commit %s: %v (txn status %v)", prefix, err, p.TxnStatus())
			}
		} else if err := p.AbortTxn(); err != nil {
			t.Fatalf("abort %s: %v (txn status %v)", prefix, err, p.TxnStatus())
		}
		if s := p.TxnStatus(); s&sarama.ProducerTxnFlagReady == 0 {
			t.Fatalf("after %s the producer is not ready: %v", prefix, s)
		}
	}
	both := []int32{0, 1}
	run("c1", 10, both, true)
	run("a1", 10, both, false)
	run("c2", 10, both, true)
	run("a2", 6, []int32{0}, false)
	run("c3", 6, []int32{1}, true)
	run("a3", 8, both, false)
	run("c4", 8, both, true)
	slices.Sort(committed)
	slices.Sort(all)

	if got := readFranz(t, addr, topic, true, len(committed)); !slices.Equal(got, committed) {
		t.Fatalf("read_committed (franz-go) read\n%v\nwant\n%v", got, committed)
	}
	if got := readFranz(t, addr, topic, false, len(all)); !slices.Equal(got, all) {
		t.Fatalf("read_uncommitted (franz-go) read\n%v\nwant\n%v", got, all)
	}
	if got := readSaramaCommitted(t, addr, topic, v, 2, len(committed)); !slices.Equal(got, committed) {
		t.Fatalf("read_committed (sarama) read\n%v\nwant\n%v", got, committed)
	}

	// A second producer with the same transactional ID fences the first:
	// its next transaction fails and its records are never read.
	p2 := newSaramaTxnProducer(t, addr, v, "sarama-txn-produce-"+v.String())
	defer p2.Close()
	if err := p.BeginTxn(); err != nil {
		t.Fatalf("begin on the fenced producer: %v", err)
	}
	_, _, sendErr := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder("zombie")})
	commitErr := p.CommitTxn()
	if sendErr == nil && commitErr == nil {
		t.Fatal("the fenced producer committed a transaction")
	}
	// Kafka answers PRODUCER_FENCED from request versions that know it
	// (KIP-588: InitProducerId v4, AddPartitionsToTxn v2, ...), which
	// sarama sends from 2.7; older ones get INVALID_PRODUCER_EPOCH.
	// (sarama's KError(90).Error() text is "Unknown error ... 90".)
	wantFenced := sarama.ErrInvalidProducerEpoch
	if v.IsAtLeast(sarama.V2_7_0_0) {
		wantFenced = sarama.ErrProducerFenced
	}
	if !errors.Is(sendErr, wantFenced) || !errors.Is(commitErr, wantFenced) {
		t.Fatalf("fenced producer: send %v; commit %v; want %v", sendErr, commitErr, wantFenced)
	}
	if s := p.TxnStatus(); s&sarama.ProducerTxnFlagFatalError == 0 {
		t.Fatalf("fenced producer's status %v is not fatal", s)
	}
	if err := p2.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p2.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 1, Value: sarama.StringEncoder("c5-00")}); err != nil {
		t.Fatalf("send on the new producer: %v", err)
	}
	if err := p2.CommitTxn(); err != nil {
		t.Fatalf("commit on the new producer: %v", err)
	}
	committed = append(committed, "c5-00")
	if got := readFranz(t, addr, topic, true, len(committed)); !slices.Equal(got, committed) {
		t.Fatalf("read_committed after fencing read\n%v\nwant\n%v", got, committed)
	}
}

// readFranz consumes topic from the start until want records arrived, then
// waits a second for any more; the values come back sorted.
func readFranz(t *testing.T, addr, topic string, committed bool, want int) []string {
	t.Helper()
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	var quietUntil time.Time
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s: %v", topic, e.Err)
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

// readSaramaCommitted reads every partition of topic with sarama's
// partition consumer at read_committed, as readFranz does.
func readSaramaCommitted(t *testing.T, addr, topic string, v sarama.KafkaVersion, partitions int32, want int) []string {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer c.Close()
	var mu sync.Mutex
	var got []string
	pcs := make([]sarama.PartitionConsumer, 0, partitions)
	for p := range partitions {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		pcs = append(pcs, pc)
	}
	errs := make(chan error, partitions)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, pc := range pcs {
		wg.Go(func() {
			for {
				select {
				case m := <-pc.Messages():
					mu.Lock()
					got = append(got, string(m.Value))
					mu.Unlock()
				case err := <-pc.Errors():
					errs <- err
					return
				case <-stop:
					return
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-errs:
			t.Fatalf("sarama consume %s: %v", topic, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(time.Second) // any more would be too many
	close(stop)
	wg.Wait()
	for _, pc := range pcs {
		pc.Close()
	}
	select {
	case err := <-errs:
		t.Fatalf("sarama consume %s: %v", topic, err)
	default:
	}
	slices.Sort(got)
	return got
}

// eosHandler copies each consumed record to the output topic in its own
// transaction, with the record's offset committed in that transaction.
// The first record of each partition is first copied in a transaction that
// is aborted, so neither that copy nor its offset may survive.
type eosHandler struct {
	t      *testing.T
	prod   sarama.SyncProducer
	group  string
	output string
	limit  int64 // records to process before stopping
	done   context.CancelFunc

	mu        sync.Mutex // one transaction at a time over the claims
	processed atomic.Int64
	aborted   map[int32]bool
	errOnce   sync.Once
	err       error
}

func (h *eosHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *eosHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *eosHandler) fail(err error) error {
	h.errOnce.Do(func() { h.err = err; h.done() })
	return err
}

func (h *eosHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-s.Context().Done():
			return nil
		case msg, ok := <-c.Messages():
			if !ok {
				return nil
			}
			if err := h.copy(s, msg); err != nil {
				return h.fail(err)
			}
			if h.processed.Add(1) == h.limit {
				h.done()
			}
		}
	}
}

func (h *eosHandler) copy(s sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	txn := func(value string, commit bool) error {
		if err := h.prod.BeginTxn(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		out := &sarama.ProducerMessage{Topic: h.output, Partition: msg.Partition, Key: sarama.ByteEncoder(msg.Key),
			Value: sarama.StringEncoder(value)}
		if _, _, err := h.prod.SendMessage(out); err != nil {
			return fmt.Errorf("send %s: %w (txn status %v)", value, err, h.prod.TxnStatus())
		}
		// Each way of adding the consumed offset: with the session's member
		// and generation (TxnOffsetCommit fencing), by group ID alone per
		// message, and as an explicit offsets map.
		var err error
		switch {
		case msg.Partition == 0:
			err = h.prod.AddMessageToTxnWithGroupMetadata(msg, sarama.NewConsumerGroupMetadataFromSession(s, h.group, nil), nil)
		case msg.Offset%2 == 0:
			err = h.prod.AddMessageToTxn(msg, h.group, nil)
		default:
			err = h.prod.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{
				msg.Topic: {{Partition: msg.Partition, Offset: msg.Offset + 1}},
			}, h.group)
		}
		if err != nil {
			return fmt.Errorf("add offsets of %s: %w", value, err)
		}
		if commit {
			err = h.prod.CommitTxn()
		} else {
			err = h.prod.AbortTxn()
		}
		if err != nil {
			return fmt.Errorf("end %s (commit %v): %w (txn status %v)", value, commit, err, h.prod.TxnStatus())
		}
		return nil
	}
	if !h.aborted[msg.Partition] {
		h.aborted[msg.Partition] = true
		if err := txn("aborted-"+string(msg.Value), false); err != nil {
			return err
		}
	}
	return txn("out-"+string(msg.Value), true)
}

// saramaExactlyOnce runs sarama's consume-transform-produce loop in two
// rounds: the second resumes from the offsets the first committed in its
// transactions.
func saramaExactlyOnce(t *testing.T, addr string, v sarama.KafkaVersion) {
	suffix := strings.ReplaceAll(v.String(), ".", "-")
	input, output, group := "sarama-eos-in-"+suffix, "sarama-eos-out-"+suffix, "sarama-eos-"+suffix
	const partitions, perRound = 2, 40 // records per partition per round
	createTopic(t, addr, input, partitions)
	createTopic(t, addr, output, partitions)
	prod := newSaramaTxnProducer(t, addr, v, "sarama-eos-"+v.String())
	defer prod.Close()

	var want []string
	for round := range 2 {
		in, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		for p := range int32(partitions) {
			for i := range perRound {
				val := fmt.Sprintf("r%d-p%d-%03d", round, p, i)
				want = append(want, "out-"+val)
				if err := in.ProduceSync(ctx, &kgo.Record{Topic: input, Partition: p, Value: []byte(val)}).FirstErr(); err != nil {
					t.Fatalf("produce input: %v", err)
				}
			}
		}
		cancel()
		in.Close()

		cfg := saramaTxnConfig(v, "")
		cfg.Producer.Idempotent = false
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Enable = false
		cfg.Consumer.Group.Session.Timeout = 6 * time.Second
		cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
		cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
		cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
		if err != nil {
			t.Fatalf("sarama consumer group: %v", err)
		}
		runCtx, stop := context.WithTimeout(context.Background(), 60*time.Second)
		h := &eosHandler{t: t, prod: prod, group: group, output: output, limit: partitions * perRound,
			done: stop, aborted: map[int32]bool{}}
		consumeErr := make(chan error, 1)
		go func() {
			for runCtx.Err() == nil {
				if err := cg.Consume(runCtx, []string{input}, h); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
					consumeErr <- err
					return
				}
			}
			consumeErr <- nil
		}()
		<-runCtx.Done()
		timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded)
		stop()
		if err := <-consumeErr; err != nil && h.err == nil {
			t.Fatalf("round %d: consume: %v", round, err)
		}
		if err := cg.Close(); err != nil {
			t.Errorf("round %d: close group: %v", round, err)
		}
		if h.err != nil {
			t.Fatalf("round %d: %v", round, h.err)
		}
		if timedOut {
			t.Fatalf("round %d: processed %d of %d records in 60s", round, h.processed.Load(), h.limit)
		}
		if got := h.processed.Load(); got != h.limit {
			t.Fatalf("round %d: processed %d records, want %d (a resumed group must not redeliver)", round, got, h.limit)
		}

		sorted := slices.Sorted(slices.Values(want))
		if got := readFranz(t, addr, output, true, len(sorted)); !slices.Equal(got, sorted) {
			t.Fatalf("round %d: read_committed output\n%v\nwant\n%v", round, got, sorted)
		}
		cl, actx, done := briefClient(t, addr, 15*time.Second)
		offs, err := kadm.NewClient(cl).FetchOffsets(actx, group)
		done()
		if err != nil {
			t.Fatalf("fetch offsets of %s: %v", group, err)
		}
		gotOffs := map[int32]int64{}
		offs.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil {
				t.Errorf("offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
			}
			if o.Topic == input {
				gotOffs[o.Partition] = o.At
			}
		})
		wantOffs := map[int32]int64{0: int64(perRound * (round + 1)), 1: int64(perRound * (round + 1))}
		if !maps.Equal(gotOffs, wantOffs) {
			t.Fatalf("round %d: committed offsets %v, want %v", round, gotOffs, wantOffs)
		}
	}
}
