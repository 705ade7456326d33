package raftmeta

import (
	"encoding/binary"
	"fmt"

	"github.com/chronik-go/chronik/engine/meta"
)

// A proposal's raft entry data:
//
//	0  format   byte   (1)
//	1  node id  uint64 little-endian: the proposing member
//	9  req id   uint64 little-endian: unique per proposal of that member
//	17 ops      meta.EncodeOps JSON
//
// (node id, req id) lets the proposer match the applied entry to its waiting
// Propose call; other members apply the ops and ignore the ids.
const (
	proposalFormat    = 1
	proposalHeaderLen = 17
)

func encodeProposal(node, req uint64, ops []meta.Op) ([]byte, error) {
	body, err := meta.EncodeOps(ops)
	if err != nil {
		return nil, err
	}
	data := make([]byte, proposalHeaderLen, proposalHeaderLen+len(body))
	data[0] = proposalFormat
	binary.LittleEndian.PutUint64(data[1:9], node)
	binary.LittleEndian.PutUint64(data[9:17], req)
	return append(data, body...), nil
}

func decodeProposal(data []byte) (node, req uint64, ops []meta.Op, err error) {
	if len(data) < proposalHeaderLen {
		return 0, 0, nil, fmt.Errorf("proposal of %d bytes is shorter than its header", len(data))
	}
	if data[0] != proposalFormat {
		return 0, 0, nil, fmt.Errorf("proposal format %d, this build reads %d", data[0], proposalFormat)
	}
	node = binary.LittleEndian.Uint64(data[1:9])
	req = binary.LittleEndian.Uint64(data[9:17])
	ops, err = meta.DecodeOps(data[proposalHeaderLen:])
	return node, req, ops, err
}

// proposal is one Propose call waiting for its entry to be applied.
type proposal struct {
	req  uint64
	data []byte
	done chan proposalResult // buffered 1: the apply loop never blocks on it
}

type proposalResult struct {
	results []meta.OpResult
	err     error
}
