package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/chronik-go/chronik/engine/meta"
)

// producerIDBlock is how many ids one metadata proposal reserves, so that
// InitProducerId rarely waits on the metadata log.
const producerIDBlock = 1000

// producerIDs hands out producer ids from blocks reserved in the replicated
// metadata, so ids are never reused across restarts or brokers.
type producerIDs struct {
	b    *Broker
	mu   sync.Mutex // bookkeeping only; never held across a proposal
	next int64
	end  int64
}

func (p *producerIDs) allocate(ctx context.Context) (int64, error) {
	for {
		p.mu.Lock()
		if p.next < p.end {
			id := p.next
			p.next++
			p.mu.Unlock()
			return id, nil
		}
		p.mu.Unlock()
		// Concurrent callers may each reserve a block; the spare is used next.
		res, err := p.b.store.Propose(ctx, []meta.Op{{Kind: meta.OpAllocateProducerIDs, Count: producerIDBlock}})
		if err != nil {
			return -1, fmt.Errorf("reserve producer ids: %w", err)
		}
		if res[0].Err != nil {
			return -1, fmt.Errorf("reserve producer ids: %w", res[0].Err)
		}
		first := res[0].FirstProducerID
		p.mu.Lock()
		if p.next >= p.end {
			p.next, p.end = first, first+producerIDBlock
		}
		p.mu.Unlock()
	}
}
