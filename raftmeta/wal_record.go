package raftmeta

import (
	"encoding/binary"
	"errors"
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Record kinds inside a log frame. Fields are uvarints, so the format does not
// depend on protobuf and is cheap to write on every metadata batch.
const (
	recordHardState byte = 1 // term, vote, commit
	recordEntry     byte = 2 // term, index, type, len(data), data
)

var errBadRecord = errors.New("malformed log record")

func appendHardStateRecord(dst []byte, hs *pb.HardState) []byte {
	dst = append(dst, recordHardState)
	dst = binary.AppendUvarint(dst, hs.GetTerm())
	dst = binary.AppendUvarint(dst, hs.GetVote())
	return binary.AppendUvarint(dst, hs.GetCommit())
}

func appendEntryRecord(dst []byte, e *pb.Entry) []byte {
	dst = append(dst, recordEntry)
	dst = binary.AppendUvarint(dst, e.GetTerm())
	dst = binary.AppendUvarint(dst, e.GetIndex())
	dst = binary.AppendUvarint(dst, uint64(e.GetType()))
	dst = binary.AppendUvarint(dst, uint64(len(e.GetData())))
	return append(dst, e.GetData()...)
}

// logFrame is the decoded content of one frame: the newest hard state in it
// (nil when none) and its entries in order.
type logFrame struct {
	hardState *pb.HardState
	entries   []*pb.Entry
}

func decodeFrame(payload []byte) (logFrame, error) {
	var fr logFrame
	r := recordReader{b: payload}
	for len(r.b) > 0 {
		kind := r.b[0]
		r.b = r.b[1:]
		switch kind {
		case recordHardState:
			term, vote, commit := r.uvarint(), r.uvarint(), r.uvarint()
			if r.err != nil {
				return fr, r.err
			}
			fr.hardState = &pb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
		case recordEntry:
			term, index, typ, n := r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
			data := r.bytes(n)
			if r.err != nil {
				return fr, r.err
			}
			if _, ok := pb.EntryType_name[int32(typ)]; typ > 1<<30 || !ok {
				return fr, fmt.Errorf("entry %d has unknown type %d: %w", index, typ, errBadRecord)
			}
			e := &pb.Entry{Term: new(term), Index: new(index), Type: pb.EntryType(typ).Enum()}
			if n > 0 {
				e.Data = data
			}
			if k := len(fr.entries); k > 0 && fr.entries[k-1].GetIndex()+1 != index {
				return fr, fmt.Errorf("entry %d follows entry %d: %w", index, fr.entries[k-1].GetIndex(), errBadRecord)
			}
			fr.entries = append(fr.entries, e)
		default:
			return fr, fmt.Errorf("record kind %d: %w", kind, errBadRecord)
		}
	}
	return fr, nil
}

type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("bad varint: %w", errBadRecord)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a copy of the next n bytes, so decoded entries do not pin
// the whole file buffer they were read from.
func (r *recordReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("entry data of %d bytes, %d left: %w", n, len(r.b), errBadRecord)
		return nil
	}
	out := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return out
}
