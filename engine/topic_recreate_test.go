package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/engine/meta"
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
