package engine

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A full session cache makes room as Kafka's does: a stale session, or one
// smaller than the newcomer, goes; otherwise the newcomer fetches without a
// session and the sessions in use keep working, so clients past the cache's
// size do not evict one another round after round.
func TestFetchSessionCacheEviction(t *testing.T) {
	fs := newFetchSessions(2)
	open := func(size int) *fetchSession {
		t.Helper()
		s, created, code := fs.acquire(0, 0, size)
		if code != 0 || (s != nil) != created {
			t.Fatalf("create: %v created=%v code %v", s, created, kerr.ErrorForCode(code))
		}
		if s != nil {
			for i := range size {
				s.partitions[partKey{"t", int32(i)}] = &sessionPartition{}
			}
		}
		return s
	}
	use := func(what string, s *fetchSession) {
		t.Helper()
		if _, _, code := fs.acquire(s.id, s.epoch, 0); code != 0 {
			t.Fatalf("%s: incremental fetch: %v", what, kerr.ErrorForCode(code))
		}
	}
	a, b := open(5), open(5)
	if a.id <= 0 || b.id <= 0 || a.id == b.id {
		t.Fatalf("session ids %d and %d", a.id, b.id)
	}
	for round := 0; round < 3; round++ {
		if c := open(5); c != nil {
			t.Fatalf("round %d: a third session of the same size evicted one in use", round)
		}
		use("a", a)
		use("b", b)
	}

	// A bigger newcomer evicts a smaller session, least recently used first,
	// once they are two minutes old.
	if big := open(10); big != nil {
		t.Fatal("a session of 10 partitions evicted a session created just now")
	}
	fs.mu.Lock()
	for _, s := range []*fetchSession{a, b} {
		s.created = s.created.Add(-fetchSessionStaleAfter)
	}
	fs.mu.Unlock()
	big := open(10)
	if big == nil {
		t.Fatal("a session of 10 partitions found no room beside two of 5")
	}
	if _, _, code := fs.acquire(a.id, a.epoch, 0); code != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("the least recently used small session: %v, want it evicted", kerr.ErrorForCode(code))
	}
	use("b", b)

	// A session unused for two minutes goes for any newcomer.
	fs.mu.Lock()
	big.lastUsed = time.Now().Add(-fetchSessionStaleAfter - time.Second)
	fs.mu.Unlock()
	if small := open(1); small == nil {
		t.Fatal("a stale session kept its slot")
	}
	use("b", b)
}
