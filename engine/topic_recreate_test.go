package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/raftmeta"
)

// A topic created again under a deleted topic's name starts empty even when
// the old topic's directory survived the deletion (here: the deletion
// committed while the broker was down, so nothing removed the directory;
// a crash between commit and removal leaves the same). The directory names
// its topic id, as Kafka's partition.metadata does, and one naming another
// is removed rather than opened.
func TestRecreatedTopicDoesNotInheritOldData(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "reborn", 1)
	cl := tb.client()
	ctx := adminCtx(t)
	for i := 0; i < 5; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "reborn", Value: []byte("old-data")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	tb.stop()
	store, err := raftmeta.Open(filepath.Join(tb.dir, "__raft_metadata"), raftmeta.Options{NodeID: 1, ClusterID: "test-cluster"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Propose(ctx, []meta.Op{{Kind: meta.OpDeleteTopics, Names: []string{"reborn"}}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	store.Close()
	tb.open()
	if _, err := os.Stat(filepath.Join(tb.dir, "reborn-0")); err != nil {
		t.Fatalf("the test wants the old directory left behind: %v", err)
	}
	createTestTopic(t, tb, "reborn", 1)
	ends, err := tb.admin().ListEndOffsets(ctx, "reborn")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("reborn", 0); o.Offset != 0 {
		t.Fatalf("the topic created again ends at %d: it holds the deleted topic's records", o.Offset)
	}
}

// A partition that cannot be opened (here a file where its directory
// should be) is served offline, KAFKA_STORAGE_ERROR, and retried; it does
// not hold back other metadata changes, and its topic can be deleted.
func TestUnopenablePartitionDoesNotBlockMetadata(t *testing.T) {
	tb := startBroker(t)
	if err := os.WriteFile(filepath.Join(tb.dir, "bad-0"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := adminCtx(t)
	adm := tb.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "bad"); err != nil {
		t.Fatalf("create bad: %v", err)
	}
	createTestTopic(t, tb, "good", 1)
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "good", 0, 11, rawBatch(1, -1, -1, -1)); p.ErrorCode != 0 {
		t.Fatalf("produce to good: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := produceRaw(t, cl, "bad", 0, 11, rawBatch(1, -1, -1, -1)); p.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("produce to the partition that cannot open: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(p.ErrorCode))
	}
	res, err := adm.DeleteTopics(ctx, "bad")
	if err != nil {
		t.Fatal(err)
	}
	if r := res["bad"]; r.Err != nil {
		t.Fatalf("delete bad: %v", r.Err)
	}
}

// After a crash, a partition directory whose owner file is damaged keeps
// its data (the file is dropped and rewritten), and one whose file names
// another topic id is moved aside, not deleted, and the partition starts
// empty.
func TestOwnerFileAfterACrash(t *testing.T) {
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "own", 1)
	cl := fetchClient(tb)
	for range 3 {
		if code, _ := produceCode(t, cl, "own"); code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
	}
	for _, c := range []struct {
		name    string
		content []byte
		batches int
	}{
		{"damaged", make([]byte, 26), 3},
		{"another topic", partitionOwner(meta.TopicID{9, 9, 9}), 0},
	} {
		crashed := t.TempDir()
		if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, "own-0", partlog.OwnerFileName), c.content, 0o644); err != nil {
			t.Fatal(err)
		}
		again := &testBroker{t: t, dir: crashed, sets: []string{"num.shards=1"}}
		again.open()
		got := readBatchOffsets(t, fetchClient(again), "own")
		again.stop()
		if len(got) != c.batches {
			t.Fatalf("%s owner file: the partition holds %v, want %d batches", c.name, got, c.batches)
		}
		strays, _ := filepath.Glob(filepath.Join(crashed, "own-0.*-stray"))
		if want := map[bool]int{true: 1, false: 0}[c.batches == 0]; len(strays) != want {
			t.Fatalf("%s owner file: stray directories %v, want %d", c.name, strays, want)
		}
		if len(strays) == 1 && segmentBytes(t, strays[0]) == 0 {
			t.Fatalf("the directory moved aside lost its data")
		}
	}
}
