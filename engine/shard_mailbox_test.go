package engine

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Submissions past a full mailbox reach the shard in the order they were
// made, as produce requests of one connection must be appended; and a
// submission made while earlier ones wait is not let in ahead of them when
// room appears.
func TestSubmitKeepsOrderPastAFullMailbox(t *testing.T) {
	s := newShard(nil, 0, 2)
	defer close(s.quit)
	const n = 200
	var mu sync.Mutex
	var order []int
	record := func(i int) func(*shard) {
		return func(*shard) {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}
	}
	for i := range n / 2 {
		s.submit(record(i))
	}
	// Drain slowly while more are submitted.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			select {
			case fn := <-s.mailbox:
				fn(s)
			case <-time.After(10 * time.Second):
				t.Error("mailbox fed nothing for 10s")
				return
			}
		}
	}()
	for i := n / 2; i < n; i++ {
		s.submit(record(i))
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(order) != n {
		t.Fatalf("%d of %d submissions ran", len(order), n)
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("submission %d ran in place %d: order %v", got, i, order)
		}
	}
}

// TestPipelinedIdempotentProducesStayInOrderPastAFullMailbox holds the
// only shard while one connection pipelines more idempotent produce
// requests to one partition than its mailbox holds: once the shard goes
// on, every batch must be appended in the order sent, none refused as out
// of sequence.
func TestPipelinedIdempotentProducesStayInOrderPastAFullMailbox(t *testing.T) {
	tb := startBroker(t, "num.shards=1", "shard.mailbox.size=16")
	createTestTopic(t, tb, "ord", 1)
	ip := initProducer(t, tb)
	c := dialRaw(t, tb.addr, 20*time.Second)
	release := make(chan struct{})
	tb.b.shards[0].submit(func(*shard) { <-release })
	const requests, perBatch = 48, 4
	writeIdempotentProduces(t, c, "ord", ip, requests, perBatch)
	// The requests fill the mailbox (16) and wait behind it.
	time.Sleep(300 * time.Millisecond)
	close(release)
	readProducesInOrder(t, c, requests, perBatch)
}

// initProducer asks tb for an idempotent producer id.
func initProducer(t *testing.T, tb *testBroker) *kmsg.InitProducerIDResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ip, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, fetchClient(tb))
	if err != nil || ip.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v, %v", err, kerr.ErrorForCode(ip.ErrorCode))
	}
	return ip
}

// dialRaw opens a raw connection to addr whose reads and writes must be
// done within limit; the test closes it.
func dialRaw(t *testing.T, addr string, limit time.Duration) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(limit))
	return c
}

// writeIdempotentProduces pipelines requests produce requests on c, each one
// batch of perBatch records of producer ip to partition 0 of topic, their
// sequences following on.
func writeIdempotentProduces(t *testing.T, c net.Conn, topic string, ip *kmsg.InitProducerIDResponse, requests, perBatch int) {
	t.Helper()
	writeProduces(t, c, topic, requests, func(i int) []byte {
		return rawBatch(perBatch, ip.ProducerID, ip.ProducerEpoch, int32(i*perBatch))
	})
}

// writeProduces pipelines requests produce requests on c, request i
// carrying batchFor(i) to partition 0 of topic.
func writeProduces(t *testing.T, c net.Conn, topic string, requests int, batchFor func(i int) []byte) {
	t.Helper()
	var frames []byte
	for i := range requests {
		frames = append(frames, sizePrefixed(encodeRequest(produceRequestOf(topic, 0, -1, batchFor(i)), 7))...)
	}
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
}

// readProducesInOrder reads the answers to writeIdempotentProduces: every
// batch appended, in the order sent.
func readProducesInOrder(t *testing.T, c net.Conn, requests, perBatch int) {
	t.Helper()
	for i := range requests {
		p := readProduceAnswer(t, c)
		if p.ErrorCode != 0 || p.BaseOffset != int64(i*perBatch) {
			t.Fatalf("request %d: %v at %d, want offset %d", i, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, i*perBatch)
		}
	}
}

// readProduceAnswer reads the next answer on c to a v7 produce of one
// partition.
func readProduceAnswer(t *testing.T, c net.Conn) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	body := readRawFrame(t, c, "produce answer")
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// Submissions from many goroutines at once, and from the shard itself while
// its mailbox is full, each keep their submitter's order, none is lost and
// the shard's own submissions never block it.
func TestSubmitKeepsEachSubmittersOrderUnderContention(t *testing.T) {
	s := newShard(nil, 0, 4)
	defer close(s.quit)
	const submitters, each = 8, 500
	// Touched only on the "shard" (the loop below).
	last := make([]int, submitters)
	for i := range last {
		last[i] = -1
	}
	ran, selfMade, selfRan := 0, 0, 0
	bad := ""
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				s.submit(func(s *shard) {
					ran++
					if bad == "" && last[g] != i-1 {
						bad = fmt.Sprintf("submitter %d: %d ran after %d", g, i, last[g])
					}
					last[g] = i
					if i%10 == 0 {
						// The shard submits to itself, mailbox full or not.
						k := selfMade
						selfMade++
						s.submit(func(*shard) {
							ran++
							if bad == "" && selfRan != k {
								bad = fmt.Sprintf("self-submission %d ran in place %d", k, selfRan)
							}
							selfRan++
						})
					}
				})
			}
		}()
	}
	want := submitters*each + submitters*each/10
	deadline := time.After(20 * time.Second)
	for ran < want {
		select {
		case fn := <-s.mailbox:
			fn(s)
		case <-deadline:
			t.Fatalf("%d of %d submissions ran in 20s", ran, want)
		}
	}
	wg.Wait()
	if bad != "" {
		t.Fatal(bad)
	}
}
