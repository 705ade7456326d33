package engine

import (
	"encoding/binary"
	"fmt"
	"github.com/twmb/franz-go/pkg/kmsg"
	"net"
	"testing"
	"time"
)

// Kafka reads one request of a connection at a time (the channel is muted
// until the response is sent), so a request it cannot serve is read only
// after every earlier one was answered: a client pipelining [Fetch
// (long poll), Metadata v99] gets the fetch answer, then the close.
func TestEarlierAnswersSurviveABadRequest(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "order-bad", 1)
	c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fetch := encodeRequest(fetchReq("order-bad", 0, 0, 1, 300, 1<<20), 12)
	binary.BigEndian.PutUint32(fetch[4:], 1) // correlation id 1
	bad := []byte{0, 3, 0, 99, 0, 0, 0, 2, 0xff, 0xff}
	if _, err := c.Write(append(sizePrefixed(fetch), sizePrefixed(bad)...)); err != nil {
		t.Fatal(err)
	}
	corr, err := readCorrelation(c)
	if err != nil {
		t.Fatalf("fetch pipelined before a bad request got no answer: %v", err)
	}
	if corr != 1 {
		t.Fatalf("correlation %d", corr)
	}
}

// The same with a produce: Kafka acknowledges it before it reads the bad
// request; here the records are appended and the client never hears so,
// and retries them (a plain producer duplicates them).
func TestProduceAckSurvivesABadRequestBehindIt(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "order-bad-p", 1)
	c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	produce := encodeRequest(produceRequestOf("order-bad-p", 0, -1, rawBatch(3, -1, -1, -1)), 9)
	binary.BigEndian.PutUint32(produce[4:], 1)
	bad := []byte{0x7f, 0x00, 0, 0, 0, 0, 0, 2, 0xff, 0xff} // unknown key
	if _, err := c.Write(append(sizePrefixed(produce), sizePrefixed(bad)...)); err != nil {
		t.Fatal(err)
	}
	corr, err := readCorrelation(c)
	// Show the side effect: the records were written.
	p := produceRaw(t, fetchClient(tb), "order-bad-p", 0, 9, rawBatch(1, -1, -1, -1))
	if err != nil {
		t.Fatalf("produce pipelined before a bad request got no answer (%v), yet its records were appended: next base offset %d", err, p.BaseOffset)
	}
	if corr != 1 {
		t.Fatalf("correlation %d", corr)
	}
}

// A client that sends its pipelined requests one byte at a time gets every
// answer, in request order, whatever the transport.
func TestPipelinedRequestsSentByteByByteAnswerInOrder(t *testing.T) {
	for _, tr := range []string{"gnet", "std"} {
		t.Run(tr, func(t *testing.T) {
			tb := startBroker(t, "net.transport="+tr)
			createTestTopic(t, tb, "order-slow", 1)
			c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			av3 := kmsg.NewPtrApiVersionsRequest()
			av3.ClientSoftwareName, av3.ClientSoftwareVersion = "x", "1"
			var frames []byte
			frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(fetchReq("order-slow", 0, 0, 1, 200, 1<<20), 12), 1))...)
			frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(av3, 3), 2))...)
			frames = append(frames, acksZeroFrame(3, "order-slow")...)
			frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(kmsg.NewPtrMetadataRequest(), 12), 4))...)
			frames = append(frames, sizePrefixed([]byte{0, 18, 0, 99, 0, 0, 0, 5, 0xff, 0xff})...) // null client id, KIP-511
			frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("order-slow", 0, 1, rawBatch(1, -1, -1, -1)), 9), 6))...)
			go func() {
				for i := range frames {
					if _, err := c.Write(frames[i : i+1]); err != nil {
						return
					}
					if i%64 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			for _, want := range []int32{1, 2, 4, 5, 6} {
				got, err := readCorrelation(c)
				if err != nil || got != want {
					t.Fatalf("got correlation %d (%v), want %d", got, err, want)
				}
			}
		})
	}
}

// A request the broker cannot parse closes its connection, and Kafka never
// reads what the client pipelined behind it. Held before Start, the
// requests behind it are served anyway: a produce is appended, though its
// connection is gone and the client, never acknowledged, sends it again.
func TestRequestsBehindABadOneHeldBeforeStartAreNotServed(t *testing.T) {
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "early-bad", 1)
	tb.stop()
	var c net.Conn
	tb.beforeStart = func(addr string) {
		var err error
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		bad := sizePrefixed([]byte{0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff})
		produce := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("early-bad", 0, 1, rawBatch(3, -1, -1, -1)), 9), 2))
		if _, err := c.Write(append(bad, produce...)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	tb.open()
	defer c.Close()
	if corr, err := readCorrelation(c); err == nil {
		t.Fatalf("answer %d after a bad request", corr)
	}
	p := produceRaw(t, fetchClient(tb), "early-bad", 0, 9, rawBatch(1, -1, -1, -1))
	if p.BaseOffset != 0 {
		t.Fatalf("the produce pipelined behind a bad request on a closed connection was appended: next base offset %d, want 0", p.BaseOffset)
	}
}

// Kafka handles a connection's requests one at a time, so a ListOffsets
// pipelined behind an acknowledged produce sees its records: here the
// produce's batch may still be staged in the shard's turn when the
// ListOffsets reaches the shard, and a produce large enough to be checked
// on the connection's lane could be overtaken by it altogether. Under each
// flush policy (the WAL writes behind: staged past the turn), and for a
// small and a lane-sized batch.
func TestListOffsetsPipelinedBehindAProduceSeesIt(t *testing.T) {
	for _, flush := range []string{"interval", "always"} {
		for _, records := range []int{1000, 120000} { // 120000: over 1 MiB, checked on the lane
			t.Run(fmt.Sprintf("flush=%s/records=%d", flush, records), func(t *testing.T) {
				testListOffsetsPipelinedBehindAProduce(t, records, "log.flush.policy="+flush, "log.flush.wal.min.partitions=1")
			})
		}
	}
}

func testListOffsetsPipelinedBehindAProduce(t *testing.T, records int, sets ...string) {
	tb := startBroker(t, append(sets, "message.max.bytes=4194304")...)
	createTestTopic(t, tb, "order-lane", 1)
	c := dialRaw(t, tb.addr, 10*time.Second)
	lo := listOffsetsLatestReq("order-lane")
	frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("order-lane", 0, 1, rawBatch(records, -1, -1, -1)), 9), 1))
	frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(lo, 7), 2))...)
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{readRawFrame(t, c, "produce"), readRawFrame(t, c, "ListOffsets")}
	pr := kmsg.NewPtrProduceResponse()
	pr.Version = 9
	if err := pr.ReadFrom(bodies[0][5:]); err != nil || pr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("produce: %v %+v", err, pr.Topics)
	}
	lr := kmsg.NewPtrListOffsetsResponse()
	lr.Version = 7
	if err := lr.ReadFrom(bodies[1][5:]); err != nil {
		t.Fatal(err)
	}
	if off := lr.Topics[0].Partitions[0].Offset; off != int64(records) {
		t.Fatalf("ListOffsets pipelined behind an acknowledged produce of %d records: latest offset %d", records, off)
	}
}

// A ListOffsets pipelined between two produces counts the first and not
// the second, as Kafka, serving one request of a connection at a time,
// answers it; under write-behind the first's batch may still wait for its
// WAL sync when the ListOffsets reaches the shard, in a later turn.
func TestListOffsetsPipelinedBetweenProducesCountsTheFirst(t *testing.T) {
	for _, flush := range []string{"interval", "always"} {
		t.Run("flush="+flush, func(t *testing.T) {
			tb := startBroker(t, "log.flush.policy="+flush, "log.flush.wal.min.partitions=1", "num.shards=1")
			createTestTopic(t, tb, "order-between", 1)
			c := dialRaw(t, tb.addr, 30*time.Second)
			lo := listOffsetsLatestReq("order-between")
			read := func() []byte { return readRawFrame(t, c, "answer") }
			for round := range 40 {
				frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("order-between", 0, -1, rawBatch(10, -1, -1, -1)), 9), 1))
				if _, err := c.Write(frames); err != nil {
					t.Fatal(err)
				}
				// Sent a moment later, the ListOffsets may reach the shard
				// in a later turn than the produce.
				time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
				frames = sizePrefixed(withCorrelation(encodeRequest(lo, 7), 2))
				frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("order-between", 0, -1, rawBatch(10, -1, -1, -1)), 9), 3))...)
				if _, err := c.Write(frames); err != nil {
					t.Fatal(err)
				}
				read()
				body := read()
				read()
				lr := kmsg.NewPtrListOffsetsResponse()
				lr.Version = 7
				if err := lr.ReadFrom(body[5:]); err != nil {
					t.Fatal(err)
				}
				if off, want := lr.Topics[0].Partitions[0].Offset, int64(round*20+10); off != want {
					t.Fatalf("round %d: ListOffsets between two produces of 10 records: latest %d, want %d", round, off, want)
				}
			}
		})
	}
}
