package engine

import (
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// listOffsetsLatestReq asks partition 0 of topic's latest offset.
func listOffsetsLatestReq(topic string) *kmsg.ListOffsetsRequest {
	lo := kmsg.NewPtrListOffsetsRequest()
	lo.ReplicaID = -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.Timestamp = 0, -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	return lo
}

// readRawFrame reads one size-prefixed response body from c.
func readRawFrame(t *testing.T, c net.Conn, what string) []byte {
	t.Helper()
	body, err := readFrame(c)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return body
}

// A ListOffsets pipelined behind a produce whose WAL append fails (write-
// behind) must still be answered.
func TestListOffsetsBehindAFailedWALAppendIsAnswered(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1")
	createTestTopic(t, tb, "lw", 1)
	c := dialRaw(t, tb.addr, 30*time.Second)
	// One good produce through the WAL first.
	if _, err := c.Write(sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("lw", 0, -1, rawBatch(10, -1, -1, -1)), 9), 1))); err != nil {
		t.Fatal(err)
	}
	readRawFrame(t, c, "first produce")
	if tb.b.Metrics().WALSyncs == 0 {
		t.Fatal("the produce did not go through the WAL")
	}
	fo.setWrite(walDirName, syscall.EIO)
	frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("lw", 0, -1, rawBatch(10, -1, -1, -1)), 9), 2))
	frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(listOffsetsLatestReq("lw"), 7), 3))...)
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	body := readRawFrame(t, c, "produce with a failing WAL")
	pr := kmsg.NewPtrProduceResponse()
	pr.Version = 9
	if err := pr.ReadFrom(body[5:]); err != nil {
		t.Fatal(err)
	}
	t.Logf("produce: %v", kerr.ErrorForCode(pr.Topics[0].Partitions[0].ErrorCode))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	body = readRawFrame(t, c, "ListOffsets pipelined behind the produce whose WAL append failed")
	lr := kmsg.NewPtrListOffsetsResponse()
	lr.Version = 7
	if err := lr.ReadFrom(body[5:]); err != nil {
		t.Fatal(err)
	}
	t.Logf("ListOffsets: %+v", lr.Topics[0].Partitions[0])
}

// A ListOffsets of two partitions, pipelined between a produce to the first
// and a produce to the second, counts the first and not the second.
func TestListOffsetsOfTwoPartitionsCountsNoneAfter(t *testing.T) {
	for _, flush := range []string{"interval", "always"} {
		t.Run("flush="+flush, func(t *testing.T) {
			tb := startBroker(t, "log.flush.policy="+flush, "log.flush.wal.min.partitions=1", "num.shards=1")
			createTestTopic(t, tb, "two", 2)
			c := dialRaw(t, tb.addr, 30*time.Second)
			lo := listOffsetsLatestReq("two")
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition, lp.Timestamp = 1, -1
			lo.Topics[0].Partitions = append(lo.Topics[0].Partitions, lp)
			for round := range 20 {
				frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("two", 0, -1, rawBatch(10, -1, -1, -1)), 9), 1))
				frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(lo, 7), 2))...)
				frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("two", 1, -1, rawBatch(10, -1, -1, -1)), 9), 3))...)
				if _, err := c.Write(frames); err != nil {
					t.Fatal(err)
				}
				readRawFrame(t, c, "produce 0")
				body := readRawFrame(t, c, "ListOffsets")
				readRawFrame(t, c, "produce 1")
				lr := kmsg.NewPtrListOffsetsResponse()
				lr.Version = 7
				if err := lr.ReadFrom(body[5:]); err != nil {
					t.Fatal(err)
				}
				got := map[int32]int64{}
				for _, p := range lr.Topics[0].Partitions {
					got[p.Partition] = p.Offset
				}
				if got[0] != int64(round+1)*10 || got[1] != int64(round)*10 {
					t.Fatalf("round %d: ListOffsets between produce(p0) and produce(p1): p0 %d (want %d), p1 %d (want %d)", round, got[0], (round+1)*10, got[1], round*10)
				}
			}
		})
	}
}

// A partition whose log failed, listed before one still waiting for a
// produce pipelined before the ListOffsets, does not cut that wait short:
// each partition is answered with its own error or its own visible end.
func TestListOffsetsWaitsPastAFailedPartition(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "fl", 2)
	c := dialRaw(t, tb.addr, 30*time.Second)
	send := func(corr int32, req kmsg.Request, v int16) {
		t.Helper()
		if _, err := c.Write(sizePrefixed(withCorrelation(encodeRequest(req, v), corr))); err != nil {
			t.Fatal(err)
		}
	}
	send(9, produceRequestOf("fl", 0, -1, rawBatch(10, -1, -1, -1)), 9)
	readRawFrame(t, c, "good produce p0")
	fo.setOpen("fl-0", syscall.EIO) // its reopen fails too
	fo.setSync("fl-0", syscall.EIO)
	send(1, produceRequestOf("fl", 0, -1, rawBatch(10, -1, -1, -1)), 9)
	readRawFrame(t, c, "produce p0")
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		var nilLog, failed bool
		onShard(t, tb.b.shards[0], func(s *shard) {
			p := s.parts[partKey{"fl", 0}]
			nilLog, failed = p.log == nil, p.log != nil && p.log.Failed() != nil
		})
		if !nilLog && !failed {
			return fmt.Errorf("p0 not failed yet")
		}
		return nil
	})
	lo := listOffsetsLatestReq("fl")
	lo.ReplicaID = -2 // the debugging id: a failed partition reaches its shard
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.Timestamp = 1, -1
	lo.Topics[0].Partitions = append(lo.Topics[0].Partitions, lp)
	release := fo.blockSync("fl-1") // p1's produce not visible yet when the ListOffsets arrives
	frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("fl", 1, -1, rawBatch(10, -1, -1, -1)), 9), 2))
	frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(lo, 7), 3))...)
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	release()
	readRawFrame(t, c, "produce p1")
	body := readRawFrame(t, c, "ListOffsets")
	lr := kmsg.NewPtrListOffsetsResponse()
	lr.Version = 7
	if err := lr.ReadFrom(body[5:]); err != nil {
		t.Fatal(err)
	}
	for _, p := range lr.Topics[0].Partitions {
		if p.Partition == 1 && p.Offset != 10 {
			t.Fatalf("ListOffsets pipelined behind produce(p1) answered p1 latest=%d, want 10", p.Offset)
		}
	}
}

// A ListOffsets the shard wakes stops its deadline timer: left running it
// kept the answered request on the heap until io.timeout.ms (forever at
// its largest).
func TestListOffsetsWaitLeavesNoTimerBehind(t *testing.T) {
	heapAfter := func(timeout string) uint64 {
		tb := startBroker(t, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1", "io.timeout.ms="+timeout)
		createTestTopic(t, tb, "lk", 1)
		c := dialRaw(t, tb.addr, 60*time.Second)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		for i := range 3000 {
			frames := sizePrefixed(withCorrelation(encodeRequest(produceRequestOf("lk", 0, -1, rawBatch(1, -1, -1, -1)), 9), int32(2*i)))
			frames = append(frames, sizePrefixed(withCorrelation(encodeRequest(listOffsetsLatestReq("lk"), 7), int32(2*i+1)))...)
			if _, err := c.Write(frames); err != nil {
				t.Fatal(err)
			}
			readRawFrame(t, c, "produce")
			readRawFrame(t, c, "ListOffsets")
		}
		time.Sleep(1500 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc - min(ms.HeapAlloc, before)
	}
	short := heapAfter("1000")
	long := heapAfter("3600000")
	if long > short+1<<20 {
		t.Fatalf("with io.timeout.ms=3600000 the heap kept %d KiB more after 3000 answered ListOffsets", (long-short)/1024)
	}
}
