package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// copyPartitionFiles copies the files of a partition directory.
func copyPartitionFiles(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A crash that loses every batch appended since the last clean start (the
// log ends exactly at the last clean state's offset N) keeps the roll
// snapshot written past N meanwhile: restoreProducers returns early when
// the kept clean state matches the log end. Once the log grows past that
// snapshot's offset with other batches, the next crash restores producers
// from it: a producer of the lost history comes back and a producer of the
// new history is lost, so its retried batch is stored twice.
// A crash that loses everything written since a clean start leaves the
// log ending at the kept clean state's offset, while a roll's producer
// snapshot written since, past that end, may survive. It must be dropped,
// as Kafka drops snapshots past the log end: kept, it would pass for the
// state at its offset once the log grew past it again with other batches,
// restoring producers that never wrote there and losing one that did (its
// retry then stored twice).
func TestStaleRollSnapshotPastACrashCutLogIsDropped(t *testing.T) {
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": kadm.StringPtr("1024")}, "stale")
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	cl := tb.client()
	if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 1, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	tb.stop() // clean: state at N=3
	dir := filepath.Join(tb.dir, "stale-0")
	backup := t.TempDir()
	copyPartitionFiles(t, dir, backup)
	tb.open() // the marker becomes the last clean state (N=3)

	// Producer 2 writes until the log rolls: a roll snapshot past N.
	cl = tb.client()
	snapFile := filepath.Join(dir, producerStateFile)
	for seq := int32(0); ; seq += 10 {
		if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(10, 2, 0, seq)); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
		if _, err := os.Stat(snapFile); err == nil {
			break
		}
		if seq > 1000 {
			t.Fatal("no roll")
		}
	}
	cl.Close()
	tb.stop()
	raw, err := os.ReadFile(snapFile)
	if err != nil {
		t.Fatal(err)
	}
	var snap producerSnapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	t.Logf("roll snapshot at %d holds producers %v", snap.Offset, producerIDsOf(snap.Producers))

	// Crash: every byte written since the clean start is lost but the
	// snapshot file (renamed into place) survived.
	if err := os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != producerStateFile && !e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	copyPartitionFiles(t, backup, dir)
	os.WriteFile(snapFile, raw, 0o644)
	tb.open()
	if _, err := os.Stat(snapFile); err == nil {
		t.Logf("snapshot at %d kept although the log ends at 3", snap.Offset)
	}

	// A new history: no more rolls; producer 3 writes below the stale
	// snapshot's offset, producer 4 past it.
	adm := tb.admin()
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: kadm.StringPtr("1048576")}}, "stale"); err != nil {
		t.Fatal(err)
	}
	cl = tb.client()
	orig := produceRaw(t, cl, "stale", 0, 11, rawBatch(2, 3, 0, 0))
	if orig.ErrorCode != 0 || orig.BaseOffset != 3 {
		t.Fatalf("producer 3: %v at %d", kerr.ErrorForCode(orig.ErrorCode), orig.BaseOffset)
	}
	if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(int(snap.Offset), 4, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	tb.stop()
	if err := os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)); err != nil {
		t.Fatal(err)
	}
	tb.open() // a crash with every byte on disk

	if got := activeProducers(t, tb, "stale", 0); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Errorf("producers after the second crash: %v, want [1 3 4] (2 never wrote to this log)", got)
	}
	cl = tb.client()
	retry := produceRaw(t, cl, "stale", 0, 11, rawBatch(2, 3, 0, 0))
	if retry.ErrorCode != 0 || retry.BaseOffset != orig.BaseOffset {
		t.Fatalf("producer 3's retried batch: %v at offset %d, want a duplicate at %d", kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, orig.BaseOffset)
	}
}

// producerIDsOf lists a snapshot's producer ids.
func producerIDsOf(m map[int64]*producerState) []int64 {
	var ks []int64
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
