package meta

import (
	"encoding/json"
	"fmt"
)

// Ops and Snapshots are encoded as JSON: metadata is off the hot path, and a
// readable encoding keeps raft logs and snapshots easy to inspect and to
// extend with new fields.

// EncodeOps encodes a batch of ops for a raft log entry.
func EncodeOps(ops []Op) ([]byte, error) {
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode %d metadata ops: %w", len(ops), err)
	}
	return b, nil
}

// DecodeOps decodes a batch encoded by EncodeOps.
func DecodeOps(b []byte) ([]Op, error) {
	var ops []Op
	if err := json.Unmarshal(b, &ops); err != nil {
		return nil, fmt.Errorf("decode metadata ops (%d bytes): %w", len(b), err)
	}
	return ops, nil
}

// MarshalSnapshot encodes s for a raft snapshot.
func MarshalSnapshot(s *Snapshot) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode metadata snapshot at index %d: %w", s.AppliedIndex, err)
	}
	return b, nil
}

// UnmarshalSnapshot decodes a Snapshot encoded by MarshalSnapshot and checks
// that its maps are keyed consistently, so a damaged snapshot is refused
// rather than served.
func UnmarshalSnapshot(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode metadata snapshot (%d bytes): %w", len(b), err)
	}
	if s.Brokers == nil {
		s.Brokers = map[int32]Broker{}
	}
	if s.Topics == nil {
		s.Topics = map[string]*Topic{}
	}
	for id, b := range s.Brokers {
		if b.NodeID != id {
			return nil, fmt.Errorf("decode metadata snapshot: broker key %d holds node %d", id, b.NodeID)
		}
	}
	for name, t := range s.Topics {
		if t == nil || t.Name != name {
			return nil, fmt.Errorf("decode metadata snapshot: topic key %q holds a different or no topic", name)
		}
	}
	return &s, nil
}
