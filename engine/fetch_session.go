package engine

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchSessions is the broker's KIP-227 session cache: a full fetch with
// epoch 0 creates a session; later fetches list only changed partitions and
// get back only partitions with news. The cache is bounded. As in Kafka, a
// full cache makes room only by evicting a session unused for
// fetchSessionStaleAfter or one with fewer partitions than the newcomer;
// otherwise the newcomer fetches without a session (SessionID 0), so busy
// clients never evict one another in turn. Session ids are random, so a
// client that kept its id across a broker restart cannot close or take over
// the session another client was given since.
type fetchSessions struct {
	mu       sync.Mutex // bookkeeping only
	slots    int
	sessions map[int32]*fetchSession
}

// fetchSessionStaleAfter is how long an unused session keeps its slot
// against a newcomer (Kafka's eviction time, two minutes).
const fetchSessionStaleAfter = 2 * time.Minute

type fetchSession struct {
	id    int32
	epoch int32 // the epoch the next request must carry
	// byID: created by a v13+ fetch, the session knows its partitions by
	// topic id (KIP-516), as Kafka's does, so a partition of a topic this
	// broker does not know yet, or no longer, stays in it: its name is
	// resolved at each fetch, and forgetting it needs only its id.
	byID       bool
	partitions map[sessionKey]*sessionPartition
	// The partitions in serving order, as Kafka keeps them: new ones join
	// at the back and one that returns records goes to the back, so under
	// a small MaxBytes the partitions take turns.
	first, last *sessionPartition
	created     time.Time
	lastUsed    time.Time
}

// sessionKey names a session's partition: by topic name before v13, by
// topic id (name empty) from v13.
type sessionKey struct {
	topic     string
	topicID   [16]byte
	partition int32
}

// sessionKeyOf is fp's key in a session that is byID or not.
func sessionKeyOf(byID bool, fp *fetchPart) sessionKey {
	if byID {
		return sessionKey{topicID: fp.topicID, partition: fp.key.partition}
	}
	return sessionKey{topic: fp.key.topic, partition: fp.key.partition}
}

type sessionPartition struct {
	key          sessionKey
	prev, next   *sessionPartition
	topicID      [16]byte
	fetchOffset  int64
	maxBytes     int32
	currentEpoch int32
	// What the client last saw; -1 forces the partition into the next response.
	lastHighWatermark  int64
	lastLogStartOffset int64
}

func newFetchSessions(slots int) *fetchSessions {
	return &fetchSessions{slots: slots, sessions: make(map[int32]*fetchSession)}
}

// acquire resolves the request's session fields; size is the number of
// partitions the request names, byID whether it names topics by id (v13+).
// It returns the session (nil for sessionless fetches), whether it is new
// (full response), or an error code: as in Kafka, an incremental fetch
// must name topics the way the session's first fetch did.
func (fs *fetchSessions) acquire(id, epoch int32, size int, byID bool) (*fetchSession, bool, int16) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := time.Now()
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
		if len(fs.sessions) >= fs.slots && !fs.evictForLocked(size, now) {
			return nil, false, 0 // served whole, without a session
		}
		s := &fetchSession{id: fs.newIDLocked(), epoch: 1, byID: byID, partitions: make(map[sessionKey]*sessionPartition), created: now, lastUsed: now}
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
	if byID != s.byID {
		return nil, false, kerr.FetchSessionTopicIDError.Code
	}
	s.epoch++
	if s.epoch <= 0 {
		s.epoch = 1
	}
	s.lastUsed = now
	return s, false, 0
}

// newIDLocked picks an unused positive session id at random.
func (fs *fetchSessions) newIDLocked() int32 {
	for {
		id := rand.Int32N(math.MaxInt32) + 1
		if _, used := fs.sessions[id]; !used {
			return id
		}
	}
}

// evictForLocked makes room for a new session of size partitions: it evicts
// the least recently used session if that one is stale, else the smallest
// session old enough to be evicted at all (the least recently used of
// those) if it is smaller than size. As in Kafka, a session younger than
// fetchSessionStaleAfter is never evicted for size, so sessions cannot
// displace one another faster than that.
func (fs *fetchSessions) evictForLocked(size int, now time.Time) bool {
	var oldest, smallest *fetchSession
	for _, s := range fs.sessions {
		if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
			oldest = s
		}
		if now.Sub(s.created) < fetchSessionStaleAfter {
			continue
		}
		if smallest == nil || len(s.partitions) < len(smallest.partitions) ||
			len(s.partitions) == len(smallest.partitions) && s.lastUsed.Before(smallest.lastUsed) {
			smallest = s
		}
	}
	switch {
	case oldest != nil && now.Sub(oldest.lastUsed) >= fetchSessionStaleAfter:
		delete(fs.sessions, oldest.id)
	case smallest != nil && len(smallest.partitions) < size:
		delete(fs.sessions, smallest.id)
	default:
		return false
	}
	return true
}

// add appends a new partition to the back of the session's order.
func (s *fetchSession) add(k sessionKey) *sessionPartition {
	sp := &sessionPartition{key: k, lastHighWatermark: -1, lastLogStartOffset: -1}
	s.partitions[k] = sp
	s.link(sp)
	return sp
}

// remove drops a partition from the session, if it is there.
func (s *fetchSession) remove(k sessionKey) {
	if sp, ok := s.partitions[k]; ok {
		delete(s.partitions, k)
		s.unlink(sp)
	}
}

// toBack moves a partition to the back of the session's order.
func (s *fetchSession) toBack(sp *sessionPartition) {
	if s.last != sp {
		s.unlink(sp)
		s.link(sp)
	}
}

func (s *fetchSession) link(sp *sessionPartition) {
	sp.prev, sp.next = s.last, nil
	if s.last == nil {
		s.first = sp
	} else {
		s.last.next = sp
	}
	s.last = sp
}

func (s *fetchSession) unlink(sp *sessionPartition) {
	if sp.prev == nil {
		s.first = sp.next
	} else {
		sp.prev.next = sp.next
	}
	if sp.next == nil {
		s.last = sp.prev
	} else {
		sp.next.prev = sp.prev
	}
	sp.prev, sp.next = nil, nil
}

// merge updates the session with the request's partitions and forgotten
// topics and returns every partition the fetch must serve, in the order it
// serves them: a full fetch's in request order; an incremental one's in the
// session's order (updating a partition keeps its place), each named as v
// names its topic id now in a session by id (unknownID if v does not know
// it). An incremental fetch that leaves the session empty closes it and is
// served without one, as in Kafka; merge returns the session the fetch uses.
func (fs *fetchSessions) merge(s *fetchSession, isNew bool, requested []fetchPart, forgotten []sessionKey, v *clusterView) ([]fetchPart, *fetchSession) {
	if s == nil {
		return requested, nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range requested {
		fp := &requested[i]
		k := sessionKeyOf(s.byID, fp)
		sp, ok := s.partitions[k]
		if !ok {
			sp = s.add(k)
		}
		sp.topicID, sp.fetchOffset, sp.maxBytes, sp.currentEpoch = fp.topicID, fp.offset, fp.maxBytes, fp.currentEpoch
	}
	if isNew {
		return requested, s // a full fetch's forgotten topics mean nothing (Kafka's FullFetchContext)
	}
	// After the requested ones, as Kafka's FetchSession.update: a partition
	// both named and forgotten leaves the session.
	for _, k := range forgotten {
		s.remove(k)
	}
	if len(s.partitions) == 0 {
		if fs.sessions[s.id] == s { // not closed meanwhile, its id drawn again
			delete(fs.sessions, s.id)
		}
		return requested, nil
	}
	all := make([]fetchPart, 0, len(s.partitions))
	for sp := s.first; sp != nil; sp = sp.next {
		fp := fetchPart{key: partKey{sp.key.topic, sp.key.partition}, topicID: sp.topicID, offset: sp.fetchOffset, maxBytes: sp.maxBytes, currentEpoch: sp.currentEpoch}
		if s.byID {
			name, ok := v.topicByID(sp.topicID)
			fp.key.topic, fp.unknownID = name, !ok
		}
		all = append(all, fp)
	}
	return all, s
}

// filter records what the client is told and, for incremental fetches, drops
// partitions with nothing new (no records, same watermarks, no error) and
// moves those that returned records, given in serving order, to the back.
func (fs *fetchSessions) filter(s *fetchSession, incremental bool, resp *kmsg.FetchResponse, returned []sessionKey) {
	if s == nil {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if incremental {
		for _, k := range returned {
			if sp, ok := s.partitions[k]; ok {
				s.toBack(sp)
			}
		}
	}
	nt := 0
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		np := 0
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			k := sessionKey{topic: rt.Topic, partition: rp.Partition}
			if s.byID {
				k = sessionKey{topicID: rt.TopicID, partition: rp.Partition}
			}
			sp, ok := s.partitions[k]
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
