package engine

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/engine/batch"
)

// producerWindow is how many recent batches per producer are remembered for
// duplicate detection; Kafka clients keep at most 5 in flight.
const producerWindow = 5

// producerBatch remembers one appended idempotent batch.
type producerBatch struct {
	FirstSeq   int32 `json:"first_seq"`
	LastSeq    int32 `json:"last_seq"`
	BaseOffset int64 `json:"base_offset"`
	Timestamp  int64 `json:"timestamp"`
}

// producerState is one producer id's state on one partition.
type producerState struct {
	Epoch   int16           `json:"epoch"`
	Batches []producerBatch `json:"batches"` // oldest first, at most producerWindow
	// SeenAtMs is the broker's clock (ms) at the producer's last append, or
	// at the restart that replayed it; expiry counts from it
	// (producer_expiry.go). 0 in snapshots written before it existed.
	SeenAtMs int64 `json:"seen_at_ms,omitempty"`
}

func (ps *producerState) lastSeq() int32 {
	if len(ps.Batches) == 0 {
		return -1
	}
	return ps.Batches[len(ps.Batches)-1].LastSeq
}

// nextSeq is the sequence a batch must start at after last, wrapping at INT32_MAX.
func nextSeq(last int32) int32 {
	if last == math.MaxInt32 {
		return 0
	}
	return last + 1
}

// seqAfter returns the last sequence of a batch starting at first with n records.
func seqAfter(first int32, n int32) int32 {
	last := int64(first) + int64(n) - 1
	if last > math.MaxInt32 {
		last -= math.MaxInt32 + 1
	}
	return int32(last)
}

// idempotenceVerdict is the outcome of checking a batch against producer state.
type idempotenceVerdict struct {
	errCode   int16
	duplicate *producerBatch // set when the batch was already appended
}

// check decides whether an idempotent batch may be appended. It does not
// change state; record does, after the append succeeded.
func checkIdempotent(ps *producerState, h *batch.Header) idempotenceVerdict {
	if ps == nil {
		// Kafka accepts any sequence from a producer it holds no state for
		// (its state may have expired with retention, KIP-360).
		return idempotenceVerdict{}
	}
	switch {
	case h.ProducerEpoch < ps.Epoch:
		return idempotenceVerdict{errCode: kerr.InvalidProducerEpoch.Code}
	case h.ProducerEpoch > ps.Epoch:
		if h.BaseSequence != 0 {
			return idempotenceVerdict{errCode: kerr.OutOfOrderSequenceNumber.Code}
		}
		return idempotenceVerdict{}
	}
	last := seqAfter(h.BaseSequence, h.NumRecords)
	for i := range ps.Batches {
		pb := &ps.Batches[i]
		if pb.FirstSeq == h.BaseSequence && pb.LastSeq == last {
			return idempotenceVerdict{duplicate: pb}
		}
	}
	if h.BaseSequence != nextSeq(ps.lastSeq()) {
		return idempotenceVerdict{errCode: kerr.OutOfOrderSequenceNumber.Code}
	}
	return idempotenceVerdict{}
}

// recordIdempotent remembers an appended batch, returning the (maybe new) state.
func recordIdempotent(ps *producerState, h *batch.Header, baseOffset int64) *producerState {
	if ps == nil || h.ProducerEpoch != ps.Epoch {
		ps = &producerState{Epoch: h.ProducerEpoch}
	}
	pb := producerBatch{
		FirstSeq:   h.BaseSequence,
		LastSeq:    seqAfter(h.BaseSequence, h.NumRecords),
		BaseOffset: baseOffset,
		Timestamp:  h.MaxTimestamp,
	}
	if len(ps.Batches) == producerWindow {
		copy(ps.Batches, ps.Batches[1:])
		ps.Batches[producerWindow-1] = pb
	} else {
		ps.Batches = append(ps.Batches, pb)
	}
	return ps
}
