package engine

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchSessions is the broker's KIP-227 session cache: a full fetch with
// epoch 0 creates a session; later fetches list only changed partitions and
// get back only partitions with news. The cache is bounded; the least
// recently used session is evicted and its client starts over after
// FETCH_SESSION_ID_NOT_FOUND.
type fetchSessions struct {
	mu       sync.Mutex // bookkeeping only
	slots    int
	nextID   int32
	sessions map[int32]*fetchSession
}

type fetchSession struct {
	id         int32
	epoch      int32 // the epoch the next request must carry
	partitions map[partKey]*sessionPartition
	lastUsed   time.Time
}

type sessionPartition struct {
	topicID      [16]byte
	fetchOffset  int64
	maxBytes     int32
	currentEpoch int32
	// What the client last saw; -1 forces the partition into the next response.
	lastHighWatermark  int64
	lastLogStartOffset int64
}

func newFetchSessions(slots int) *fetchSessions {
	return &fetchSessions{slots: slots, nextID: 1, sessions: make(map[int32]*fetchSession)}
}

// acquire resolves the request's session fields. It returns the session (nil
// for sessionless fetches), whether it is new (full response), or an error code.
func (fs *fetchSessions) acquire(id, epoch int32) (*fetchSession, bool, int16) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	switch {
	case epoch == -1: // sessionless full fetch; a positive id closes that session
		if id > 0 {
			delete(fs.sessions, id)
		}
		return nil, false, 0
	case epoch == 0: // (re)create
		if id > 0 {
			delete(fs.sessions, id)
		}
		if len(fs.sessions) >= fs.slots {
			fs.evictOldestLocked()
		}
		s := &fetchSession{id: fs.nextID, epoch: 1, partitions: make(map[partKey]*sessionPartition), lastUsed: time.Now()}
		fs.nextID++
		if fs.nextID <= 0 {
			fs.nextID = 1
		}
		fs.sessions[s.id] = s
		return s, true, 0
	}
	s, ok := fs.sessions[id]
	if !ok {
		return nil, false, kerr.FetchSessionIDNotFound.Code
	}
	if epoch != s.epoch {
		return nil, false, kerr.InvalidFetchSessionEpoch.Code
	}
	s.epoch++
	if s.epoch <= 0 {
		s.epoch = 1
	}
	s.lastUsed = time.Now()
	return s, false, 0
}

func (fs *fetchSessions) evictOldestLocked() {
	var oldest *fetchSession
	for _, s := range fs.sessions {
		if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(fs.sessions, oldest.id)
	}
}

// merge updates the session with the request's partitions and forgotten
// topics and returns every partition the fetch must serve: the request's in
// its order, then the session's others.
func (fs *fetchSessions) merge(s *fetchSession, isNew bool, requested []fetchPart, forgotten []partKey) []fetchPart {
	if s == nil {
		return requested
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, k := range forgotten {
		delete(s.partitions, k)
	}
	inReq := make(map[partKey]bool, len(requested))
	for _, fp := range requested {
		if fp.unknownID {
			continue
		}
		inReq[fp.key] = true
		sp, ok := s.partitions[fp.key]
		if !ok {
			sp = &sessionPartition{lastHighWatermark: -1, lastLogStartOffset: -1}
			s.partitions[fp.key] = sp
		}
		sp.topicID, sp.fetchOffset, sp.maxBytes, sp.currentEpoch = fp.topicID, fp.offset, fp.maxBytes, fp.currentEpoch
	}
	all := requested
	if !isNew {
		for k, sp := range s.partitions {
			if !inReq[k] {
				all = append(all, fetchPart{key: k, topicID: sp.topicID, offset: sp.fetchOffset, maxBytes: sp.maxBytes, currentEpoch: sp.currentEpoch})
			}
		}
	}
	return all
}

// filter records what the client is told and, for incremental fetches, drops
// partitions with nothing new (no records, same watermarks, no error).
func (fs *fetchSessions) filter(s *fetchSession, incremental bool, resp *kmsg.FetchResponse) {
	if s == nil {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	nt := 0
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		np := 0
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp, ok := s.partitions[partKey{rt.Topic, rp.Partition}]
			keep := !incremental || !ok || len(rp.RecordBatches) > 0 || rp.ErrorCode != 0 ||
				rp.HighWatermark != sp.lastHighWatermark || rp.LogStartOffset != sp.lastLogStartOffset
			if ok {
				if rp.ErrorCode != 0 {
					sp.lastHighWatermark, sp.lastLogStartOffset = -1, -1
				} else {
					sp.lastHighWatermark, sp.lastLogStartOffset = rp.HighWatermark, rp.LogStartOffset
				}
			}
			if keep {
				rt.Partitions[np] = *rp
				np++
			}
		}
		rt.Partitions = rt.Partitions[:np]
		if np > 0 {
			resp.Topics[nt] = *rt
			nt++
		}
	}
	resp.Topics = resp.Topics[:nt]
}
