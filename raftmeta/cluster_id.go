package raftmeta

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// clusterIDFile records the cluster's ID in the metadata directory. The raft
// log does not carry it and a snapshot exists only after SnapshotEvery
// entries, so without the file every restart before the first snapshot
// reported a new cluster ID, and the first restart after it refused to start
// (the snapshot's ID against a freshly generated one).
const clusterIDFile = "cluster.id"

// resolveClusterID returns the ID of the cluster whose metadata dir holds.
// It is the one the file records; a directory without the file (new, or
// written before the file existed) takes the snapshot's ID, or else the
// configured one, or else a new one, and records it before it is used. A
// configured ID that differs from the cluster's is an error.
func resolveClusterID(dir, configured, inSnapshot string) (string, error) {
	path := filepath.Join(dir, clusterIDFile)
	data, err := os.ReadFile(path)
	recorded := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("raftmeta: read cluster id: %w", err)
	}
	id := strings.TrimSpace(string(data))
	switch {
	case recorded && id == "":
		return "", fmt.Errorf("raftmeta: %s is empty: %w", path, ErrCorrupt)
	case recorded && inSnapshot != "" && inSnapshot != id:
		return "", fmt.Errorf("raftmeta: %s records cluster %q, its snapshot %q: %w", dir, id, inSnapshot, ErrCorrupt)
	case !recorded:
		id = cmp.Or(inSnapshot, configured)
	}
	if configured != "" && id != "" && configured != id {
		return "", fmt.Errorf("raftmeta: %s holds metadata of cluster %q, not %q", dir, id, configured)
	}
	if !recorded {
		if id == "" {
			id = newClusterID()
		}
		if err := writeFileAtomic(dir, clusterIDFile, []byte(id+"\n"), fdatasync); err != nil {
			return "", fmt.Errorf("raftmeta: record cluster id: %w", err)
		}
	}
	return id, nil
}

// newClusterID makes a cluster ID in Kafka's form: 16 random bytes, base64
// URL encoding without padding.
func newClusterID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
