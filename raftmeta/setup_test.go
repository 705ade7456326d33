package raftmeta

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/chronik-go/chronik/engine/meta"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.NodeID == 0 {
		opts.NodeID = 1
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "test-cluster"
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func closeStore(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func propose(t testing.TB, s *Store, ops ...meta.Op) []meta.OpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Propose(ctx, ops)
	if err != nil {
		t.Fatalf("Propose: %v", err)
	}
	if len(res) != len(ops) {
		t.Fatalf("Propose returned %d results for %d ops", len(res), len(ops))
	}
	return res
}

// mustApply proposes ops and fails the test if any op fails.
func mustApply(t testing.TB, s *Store, ops ...meta.Op) {
	t.Helper()
	for i, r := range propose(t, s, ops...) {
		if r.Err != nil {
			t.Fatalf("op %d (%s): %v", i, ops[i].Kind, r.Err)
		}
	}
}

func registerBroker(id int32) meta.Op {
	return meta.Op{Kind: meta.OpRegisterBroker, Broker: &meta.Broker{NodeID: id, Host: "127.0.0.1", Port: 9092}}
}

// createTopic builds an op creating a topic whose id is derived from n.
func createTopic(name string, n uint32, partitions int) meta.Op {
	var id meta.TopicID
	id[0] = 0xc0
	id[12], id[13], id[14], id[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	ps := make([]meta.Partition, partitions)
	for i := range ps {
		ps[i] = meta.Partition{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}
	}
	return meta.Op{Kind: meta.OpCreateTopics, Topics: []meta.Topic{{Name: name, ID: id, Partitions: ps}}}
}

// sameMetadata compares the replicated content of two snapshots (not the
// applied index, which a restart advances with the new leader's entry).
func sameMetadata(t *testing.T, got, want *meta.Snapshot) {
	t.Helper()
	if got.ClusterID != want.ClusterID || got.NextProducerID != want.NextProducerID ||
		!reflect.DeepEqual(got.Brokers, want.Brokers) || !reflect.DeepEqual(got.Topics, want.Topics) {
		t.Fatalf("metadata differs:\n got %+v\nwant %+v", got, want)
	}
	if got.AppliedIndex < want.AppliedIndex {
		t.Fatalf("applied index went back from %d to %d", want.AppliedIndex, got.AppliedIndex)
	}
}

// checkFor polls cond until it holds or wait passes.
func checkFor(t *testing.T, wait time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", wait, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func files(t *testing.T, dir, prefix, suffix string) []string {
	t.Helper()
	nums, err := listNumbered(dir, prefix, suffix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nums {
		out = append(out, filepath.Join(dir, fmt.Sprintf("%s%016x%s", prefix, n, suffix)))
	}
	return out
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs := files(t, dir, segmentPrefix, segmentSuffix)
	if len(segs) == 0 {
		t.Fatalf("no log segment in %s", dir)
	}
	return segs[len(segs)-1]
}

func appendToFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

type pbEntry = pb.Entry

func hardState(term, vote, commit uint64) *pb.HardState {
	return &pb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
}

func entry(term, index uint64, data []byte) *pb.Entry {
	return &pb.Entry{Term: new(term), Index: new(index), Type: pb.EntryNormal.Enum(), Data: data}
}
