package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ackLog is what the broker acknowledged during the kill cycles: where each
// record (named by id) landed, which record each place holds, and each
// key's last acknowledged record.
type ackLog struct {
	mu        sync.Mutex
	id        func(*kgo.Record) string
	byID      map[string][2]int64 // id -> (partition, offset)
	byPlace   map[[2]int64]string // (partition, offset) -> id
	lastByKey map[partitionKey]ackedRecord
	reused    string // the first acknowledgement of a place acknowledged before for another record
}

// partitionKey is a record key in one partition.
type partitionKey struct {
	partition int32
	key       string
}

// ackedRecord is one acknowledged record.
type ackedRecord struct {
	id        string
	partition int32
	offset    int64
}

func newAckLog(id func(*kgo.Record) string) *ackLog {
	return &ackLog{id: id, byID: map[string][2]int64{}, byPlace: map[[2]int64]string{}, lastByKey: map[partitionKey]ackedRecord{}}
}

// add notes an acknowledged record. An offset acknowledged twice for two
// records means the log lost the first and wrote the second over it.
func (a *ackLog) add(r *kgo.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.id(r)
	place := [2]int64{int64(r.Partition), r.Offset}
	if prev, ok := a.byPlace[place]; ok && prev != id && a.reused == "" {
		a.reused = fmt.Sprintf("partition %d offset %d acknowledged for record %s, then for %s", r.Partition, r.Offset, prev, id)
	}
	a.byID[id] = place
	a.byPlace[place] = id
	pk := partitionKey{r.Partition, string(r.Key)}
	if last, ok := a.lastByKey[pk]; !ok || r.Offset > last.offset {
		a.lastByKey[pk] = ackedRecord{id: id, partition: r.Partition, offset: r.Offset}
	}
}

// lastOffsets is each partition's last acknowledged offset.
func (a *ackLog) lastOffsets() map[int32]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	last := map[int32]int64{}
	for _, at := range a.byID {
		p := int32(at[0])
		if off, ok := last[p]; !ok || at[1] > off {
			last[p] = at[1]
		}
	}
	return last
}

// killStats counts what the kill cycles ran into.
type killStats struct {
	cycles, gracefulStops int
	replayed              int  // restarts that replayed batches from the WAL
	rolledTorn            int  // rolled segments torn before their seal
	reservedAtKill        int  // segments holding reserved blocks at a kill, summed
	onExt4                bool // the data directory is on ext4
	midClean              int  // kills that found a cleaning pass's files (cleaner.swap, *.cleaned)
	swapsFinished         int  // restarts that finished a cleaned-segment swap a kill interrupted
}

// runKillCycles runs crashCycles rounds of: an idempotent producer writes
// the records makeRecord returns (cycle, index) to topic, acks=all, for a
// random 20-270 ms; the broker is then killed with SIGKILL (one stop in six
// is a graceful SIGTERM under load instead); after every kill the
// unacknowledged tails are torn as a power cut would leave them
// (tearUnacknowledgedTails); the broker starts again on the same data.
// Acknowledged records go to acked.
func runKillCycles(t *testing.T, bp *brokerProc, topic string, partitions int32, opts []kgo.Opt, acked *ackLog, makeRecord func(cycle, i int) *kgo.Record) killStats {
	t.Helper()
	st := killStats{cycles: crashCycles(t)}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("%d cycles, kill points from seed %d", st.cycles, seed)
	opts = append([]kgo.Opt{kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordRetries(3), kgo.RequestRetries(3), kgo.ProduceRequestTimeout(5 * time.Second),
		kgo.RetryTimeout(5 * time.Second)}, opts...)
	for c := 0; c < st.cycles; c++ {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		// Every Produce's callback runs exactly once, possibly after Close
		// has returned; answered counts them, so that the acknowledgements
		// are all in before the tails are torn.
		var answered sync.WaitGroup
		go func(cycle int) {
			defer close(done)
			for i := 0; i < 200_000 && ctx.Err() == nil; i++ {
				answered.Add(1)
				cl.Produce(ctx, makeRecord(cycle, i), func(r *kgo.Record, err error) {
					defer answered.Done()
					if err == nil {
						acked.add(r)
					}
				})
			}
		}(c)
		time.Sleep(time.Duration(20+rng.Intn(250)) * time.Millisecond)
		// The start's log is complete by now: it has been serving.
		st.countStart(bp.stderr.String())
		// One stop in six is graceful (SIGTERM under load): the next start
		// is then clean, and the one after the next kill unclean again.
		graceful := rng.Intn(6) == 0
		if graceful {
			bp.stop()
			st.gracefulStops++
		} else {
			bp.kill()
		}
		cancel()
		<-done
		within(t, 30*time.Second, cl.Close, "producer did not close after the broker was killed")
		within(t, 30*time.Second, answered.Wait, "produce callbacks still pending 30s after the producer closed")
		if !graceful { // a graceful stop synced everything: no power cut tears it
			n, ext4 := reservedSegments(t, bp.dataDir)
			st.reservedAtKill += n
			st.onExt4 = ext4
			if cleaningFilesIn(t, bp.dataDir, topic, partitions) {
				st.midClean++
			}
			st.rolledTorn += tearUnacknowledgedTails(t, rng, bp.dataDir, topic, partitions, acked.lastOffsets())
		}
		if acked.reused != "" {
			t.Fatalf("cycle %d: %s: the log lost an acknowledged record", c, acked.reused)
		}
		bp.start()
	}
	return st
}

// countStart counts what one start's log says it recovered.
func (st *killStats) countStart(log string) {
	if m := walApplied.FindStringSubmatch(log); m != nil && m[1] != "0" {
		st.replayed++
	}
	if strings.Contains(log, "finishing a cleaned-segment swap interrupted by a crash") {
		st.swapsFinished++
	}
}

// cleaningFilesIn reports whether a partition of topic holds the files of a
// cleaning pass in progress: a committed swap's manifest or cleaned segment
// files not yet renamed into place.
func cleaningFilesIn(t *testing.T, dataDir, topic string, partitions int32) bool {
	t.Helper()
	for p := int32(0); p < partitions; p++ {
		entries, err := os.ReadDir(filepath.Join(dataDir, topic+"-"+strconv.Itoa(int(p))))
		if err != nil {
			continue // nothing written to this partition yet
		}
		for _, e := range entries {
			if e.Name() == "cleaner.swap" || strings.HasSuffix(e.Name(), ".cleaned") {
				return true
			}
		}
	}
	return false
}

// checkPlace fails the test when the record named id was acknowledged at
// another partition or offset than the one r was read from, or r's place
// was acknowledged for another record.
func (a *ackLog) checkPlace(t *testing.T, id string, r *kgo.Record) {
	t.Helper()
	if want, ok := a.byID[id]; ok && (want[0] != int64(r.Partition) || want[1] != r.Offset) {
		t.Fatalf("record %s acknowledged at %d/%d, found at %d/%d", id, want[0], want[1], r.Partition, r.Offset)
	}
	if want, ok := a.byPlace[[2]int64{int64(r.Partition), r.Offset}]; ok && want != id {
		t.Fatalf("partition %d offset %d: acknowledged for record %s, holds %s", r.Partition, r.Offset, want, id)
	}
}

// readBack consumes topic from the start of every partition up to the end
// offsets it has now, handing each record to each, and returns how many it
// read. Reading back tens of millions of records (make soak) can take
// minutes; what must not happen is a read that stops moving.
func readBack(t *testing.T, bp *brokerProc, topic string, partitions int32, each func(*kgo.Record)) (read int64) {
	t.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ends := endOffsets(t, bp.addr, topic, partitions)
	// Past the last record read, from the log starts: a partition whose
	// start is its end (retention took what it held) has nothing to read.
	next := startOffsets(t, bp.addr, topic, partitions)
	behind := func() bool {
		for p, end := range ends {
			if next[p] < end {
				return true
			}
		}
		return false
	}
	const stall = 30 * time.Second
	progressed := time.Now()
	var lastFetchErr error // what a stall reports, with the broker's log
	for behind() {
		if time.Since(progressed) > stall {
			log := bp.stderr.String()
			t.Fatalf("read %d records up to offsets %v of %v, then nothing for %v (last fetch error %v); broker log tail:\n%s",
				read, next, ends, stall, lastFetchErr, log[max(0, len(log)-8192):])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fs := cons.PollFetches(ctx)
		cancel()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				lastFetchErr = err
			}
		})
		if fs.NumRecords() > 0 {
			progressed = time.Now()
		}
		fs.EachRecord(func(r *kgo.Record) {
			each(r)
			next[r.Partition] = r.Offset + 1
			read++
		})
	}
	return read
}

// within runs f and fails the test with msg when it has not returned
// after limit.
func within(t *testing.T, limit time.Duration, f func(), msg string) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatal(msg)
	}
}
