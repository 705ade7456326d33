package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// crashCycles is how many kill -9 cycles each variant of the crash tests
// runs: 20 in make test, CRASH_CYCLES=500 in make soak.
func crashCycles(t *testing.T) int {
	if s := os.Getenv("CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CRASH_CYCLES=%q", s)
		}
		return n
	}
	return 20
}

// The broker is killed with SIGKILL at random moments while an idempotent
// producer writes with acks=all and log.flush.policy=always (one stop in six
// is a graceful SIGTERM instead). Before each restart after a kill the
// unacknowledged tail of every partition is torn as a power cut would leave
// it (see tearUnacknowledgedTails). After every restart, each
// acknowledged record must be at its acknowledged offset, exactly once, with
// contiguous offsets and nothing duplicated.
//
// With the shard write-ahead log (the default under always; used here from
// the first turn although only three partitions are written), batches live
// only in memory and the WAL until written behind, so SIGKILL loses them
// from the partition files and every restart must replay them; the WAL is
// checkpointed every MiB so that its files also rotate. The test requires
// that some restart did replay batches. wal=off runs the direct-sync path,
// with segments of 4 MiB instead of 64 KiB and values padded to 1 KiB: past
// 1 MiB a segment reserves its next blocks ahead of its writes
// (log.preallocate, on ext4), so kills land on segments holding
// reservations, which recovery and the seal after it must handle; on ext4
// the test requires that some kill did.
func TestCrashKillNineLosesNothingAcknowledged(t *testing.T) {
	// Both write paths: plain pwrite and the io_uring ring.
	for _, io := range []string{"pwrite", "uring"} {
		t.Run("wal.io="+io, func(t *testing.T) { crashCyclesOn(t, io, true, 64<<10, 0) })
	}
	t.Run("wal.io=pwrite/wal=off", func(t *testing.T) { crashCyclesOn(t, "pwrite", false, 4<<20, 1024) })
}

// prefill writes 1.5 MiB of valueBytes records (ids "p-r<index>"),
// uncompressed, to each of topic's partitions and notes them as
// acknowledged.
func prefill(t *testing.T, addr, topic string, partitions int32, valueBytes int, acked *ackLog) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := (3 << 19) / max(valueBytes, 1)
	var recs []*kgo.Record
	for p := range partitions {
		for i := 0; i < n; i++ {
			recs = append(recs, &kgo.Record{Partition: p, Value: paddedValue(fmt.Appendf(nil, "p-r%d", int(p)*n+i), valueBytes)})
		}
	}
	for _, r := range cl.ProduceSync(ctx, recs...) {
		if r.Err != nil {
			t.Fatalf("prefill: %v", r.Err)
		}
		acked.add(r.Record)
	}
}

// paddedValue is a crash-test record's value: its id, padded with dots to
// valueBytes.
func paddedValue(id []byte, valueBytes int) []byte {
	return append(id, bytes.Repeat([]byte{'.'}, max(valueBytes-len(id), 0))...)
}

// recordID is a crash-test record's id: its value less the padding.
func recordID(r *kgo.Record) string { return string(bytes.TrimRight(r.Value, ".")) }

// walApplied finds how many batches a start replayed from the WAL.
var walApplied = regexp.MustCompile(`write-ahead log replayed.* applied=(\d+)`)

// crashCyclesOn runs the kill cycles on one write path. Each record's value
// is its id ("c<cycle>-r<index>"), padded with dots to valueBytes.
// Segments larger than a MiB are first filled past the MiB at which they
// reserve blocks ahead (log.preallocate), so that kills land on such
// segments however few records a loaded machine acknowledges per cycle.
func crashCyclesOn(t *testing.T, walIO string, wal bool, segmentBytes, valueBytes int) {
	bp := startBinary(t, "log.flush.policy=always", "num.shards=2", "log.segment.bytes="+strconv.Itoa(segmentBytes), "wal.io="+walIO,
		"log.flush.wal.enable="+strconv.FormatBool(wal), "log.flush.wal.min.partitions=1", "log.flush.wal.checkpoint.bytes=1048576")
	const topic, partitions = "crash", 3
	createTopic(t, bp.addr, topic, partitions)
	var opts []kgo.Opt
	if valueBytes > 0 { // padded values are sent uncompressed, so that they fill segments
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	acked := newAckLog(recordID)
	if segmentBytes > 1<<20 {
		prefill(t, bp.addr, topic, partitions, valueBytes, acked)
	}
	st := runKillCycles(t, bp, topic, partitions, opts, acked, func(cycle, i int) *kgo.Record {
		return &kgo.Record{Key: []byte(strconv.Itoa(i % 7)), Value: paddedValue(fmt.Appendf(nil, "c%d-r%d", cycle, i), valueBytes)}
	})
	if wal && st.replayed == 0 {
		t.Fatalf("no restart replayed a batch from the write-ahead log; last start's log:\n%s", bp.stderr)
	}
	if segmentBytes > 1<<20 && st.onExt4 && st.reservedAtKill == 0 {
		t.Fatalf("no kill found a segment holding blocks reserved ahead of its writes in %d cycles", st.cycles)
	}

	// Read everything back: every offset holds a record, each once, each
	// acknowledged one where it was acknowledged.
	seen := map[string]bool{}
	next := map[int32]int64{}
	readStart := time.Now()
	total := readBack(t, bp, topic, partitions, func(r *kgo.Record) {
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d after %d: offsets not contiguous", r.Partition, r.Offset, next[r.Partition]-1)
		}
		next[r.Partition]++
		v := recordID(r)
		if seen[v] {
			t.Fatalf("record %s stored twice", v)
		}
		seen[v] = true
		acked.checkPlace(t, v, r)
	})
	for v, at := range acked.byID {
		if !seen[v] {
			t.Fatalf("acknowledged record %s (partition %d offset %d) lost", v, at[0], at[1])
		}
	}
	if len(acked.byID) == 0 {
		t.Fatal("no record was acknowledged in any cycle: the test proved nothing")
	}
	t.Logf("%d cycles (%d stops graceful), %d records acknowledged, %d stored and read back in %v, %d restarts replayed batches from the WAL, %d rolled segments torn before their seal, %d segments holding reserved blocks at a kill",
		st.cycles, st.gracefulStops, len(acked.byID), total, time.Since(readStart).Round(time.Second), st.replayed, st.rolledTorn, st.reservedAtKill)
}

// tearUnacknowledgedTails does to each partition's unsealed segments what
// a power cut may do to bytes that were never fsynced, which SIGKILL alone
// never does (the page cache keeps every completed write): it cuts a file
// at a random byte past the last acknowledged batch, often inside a batch,
// and half the time leaves random garbage after the cut, as blocks that
// were allocated but never written. The file is the active segment, or —
// half the time when the last roll's seal had not reached the disk (the
// recovery point is short of the active segment) and the active segment
// holds nothing acknowledged — the rolled segment, whose lost tail then
// sits below bytes of the active segment that survived. Recovery must find
// the acknowledged batches intact and drop the rest.
// It returns how many rolled segments it tore.
func tearUnacknowledgedTails(t *testing.T, rng *rand.Rand, dataDir, topic string, partitions int32, lastAcked map[int32]int64) (rolledTorn int) {
	t.Helper()
	for p := int32(0); p < partitions; p++ {
		dir := filepath.Join(dataDir, fmt.Sprintf("%s-%d", topic, p))
		segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
		if err != nil || len(segs) == 0 {
			continue // nothing written to this partition yet
		}
		slices.Sort(segs) // zero-padded base offsets sort in offset order
		last, anyAcked := lastAcked[p]
		victim := segs[len(segs)-1]
		data, ackedEnd := readAckedEnd(t, victim, last, anyAcked)
		if len(segs) >= 2 && ackedEnd == 0 && !rolledSegmentSealed(t, dir, victim) && rng.Intn(2) == 0 {
			victim = segs[len(segs)-2]
			data, ackedEnd = readAckedEnd(t, victim, last, anyAcked)
			rolledTorn++
		}
		cut := ackedEnd + rng.Intn(len(data)-ackedEnd+1)
		torn := data[:cut]
		if rng.Intn(2) == 0 {
			garbage := make([]byte, 1+rng.Intn(4096))
			rng.Read(garbage)
			torn = append(torn, garbage...)
		}
		if err := os.WriteFile(victim, torn, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rolledTorn
}

// readAckedEnd reads a segment file and finds where its acknowledged bytes
// end: after the batch holding the last acknowledged offset (an
// acknowledgement waits for the syncs of every earlier segment).
func readAckedEnd(t *testing.T, path string, lastAcked int64, anyAcked bool) (data []byte, ackedEnd int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for pos := 0; pos+61 <= len(data); {
		base := int64(binary.BigEndian.Uint64(data[pos:]))
		end := pos + 12 + int(binary.BigEndian.Uint32(data[pos+8:]))
		if end > len(data) || end <= pos+12 {
			break
		}
		if lastOffset := base + int64(int32(binary.BigEndian.Uint32(data[pos+23:]))); anyAcked && lastOffset <= lastAcked {
			ackedEnd = end
		}
		pos = end
	}
	return data, ackedEnd
}

// rolledSegmentSealed reports whether the segment before the active one is
// on disk for sure: the partition's recovery point (recovery.checkpoint:
// "CPRP", u16 version, i64 offset, crc32c) equals the active segment's base,
// or there is none (a roll writes one before it hands off its seal, so none
// means no roll waits for one).
func rolledSegmentSealed(t *testing.T, dir, active string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "recovery.checkpoint"))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || len(b) != 18 || string(b[:4]) != "CPRP" {
		t.Fatalf("recovery point of %s: %q, %v", dir, b, err)
	}
	base, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(active), ".log"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(binary.BigEndian.Uint64(b[6:])) == base
}
