package raftmeta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openGenerated opens dir without a configured cluster ID, as the broker
// does when cluster.id is not set.
func openGenerated(t *testing.T, dir string, snapshotEvery uint64) *Store {
	t.Helper()
	s, err := Open(dir, Options{NodeID: 1, SnapshotEvery: snapshotEvery, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open(%s) without a cluster id: %v", dir, err)
	}
	return s
}

// A generated cluster ID is the cluster's for good: the same after a
// restart before any snapshot, and after restarts once snapshots exist
// (which used to refuse to start: the snapshot's ID against a new one).
func TestGeneratedClusterIDSurvivesRestarts(t *testing.T) {
	dir := t.TempDir()
	s := openGenerated(t, dir, 4)
	id := s.Current().ClusterID
	if len(id) != 22 {
		t.Fatalf("generated cluster id %q, want 22 characters (16 bytes, base64)", id)
	}
	closeStore(t, s)

	s = openGenerated(t, dir, 4)
	if got := s.Current().ClusterID; got != id {
		t.Fatalf("cluster id after a restart = %q, want %q", got, id)
	}
	fillStore(t, s, 10) // past SnapshotEvery: a snapshot is taken
	closeStore(t, s)
	if snaps, _ := filepath.Glob(filepath.Join(dir, snapshotPrefix+"*")); len(snaps) == 0 {
		t.Fatal("no snapshot was taken")
	}

	for range 2 {
		s = openGenerated(t, dir, 4)
		if got := s.Current().ClusterID; got != id {
			t.Fatalf("cluster id after a restart with a snapshot = %q, want %q", got, id)
		}
		closeStore(t, s)
	}
}

// A configured ID that differs from the recorded one fails the open, with
// or without a snapshot.
func TestConfiguredClusterIDMustMatchTheRecordedOne(t *testing.T) {
	dir := t.TempDir()
	closeStore(t, openStore(t, dir, Options{ClusterID: "blue"}))
	_, err := Open(dir, Options{NodeID: 1, ClusterID: "green", Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), `"blue"`) || !strings.Contains(err.Error(), `"green"`) {
		t.Fatalf("Open as green of blue's metadata: err = %v", err)
	}
	s := openGenerated(t, dir, 0)
	defer closeStore(t, s)
	if got := s.Current().ClusterID; got != "blue" {
		t.Fatalf("cluster id = %q, want the recorded blue", got)
	}
}

// Metadata written before the ID was recorded in its own file keeps the
// ID its snapshot holds, and records it.
func TestClusterIDTakenFromAnOlderSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{ClusterID: "blue", SnapshotEvery: 2})
	fillStore(t, s, 4)
	closeStore(t, s)
	if err := os.Remove(filepath.Join(dir, clusterIDFile)); err != nil {
		t.Fatal(err)
	}
	s = openGenerated(t, dir, 0)
	if got := s.Current().ClusterID; got != "blue" {
		t.Fatalf("cluster id = %q, want the snapshot's blue", got)
	}
	closeStore(t, s)
	data, err := os.ReadFile(filepath.Join(dir, clusterIDFile))
	if err != nil || strings.TrimSpace(string(data)) != "blue" {
		t.Fatalf("recorded cluster id %q (%v), want blue", data, err)
	}
}
