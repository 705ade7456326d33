package engine

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/netpoll"
)

// roomResponder grants a fixed room to a request's response and keeps the
// fetch answer it gets.
type roomResponder struct {
	room   int
	wanted int
	done   chan struct{}
	raw    []byte
}

func (r *roomResponder) Respond(bufs [][]byte) { r.raw = bytes.Join(bufs, nil); close(r.done) }
func (r *roomResponder) Close(error)           { close(r.done) }

func (r *roomResponder) CloseAfterEarlier(error) { close(r.done) }

func (r *roomResponder) Reserve(want int) int {
	r.wanted = want
	return min(want, r.room)
}

// roomTopic creates topic with one partition holding batches batches of
// about 6 KB, and returns one of them.
func roomTopic(t *testing.T, tb *testBroker, topic string, batches int) []byte {
	t.Helper()
	createTestTopic(t, tb, topic, 1)
	cl := fetchClient(tb)
	batch := rawBatch(600, -1, -1, -1)
	for range batches {
		if r := produceRaw(t, cl, topic, 0, 11, batch); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	return batch
}

// fetchWithRoom serves req (v11) on connection id, whose responses are
// granted room bytes, and returns what the fetch asked room for and its
// partition's answer.
func fetchWithRoom(t *testing.T, tb *testBroker, id uint64, req *kmsg.FetchRequest, room int) (wanted int, p kmsg.FetchResponseTopicPartition) {
	t.Helper()
	r := &roomResponder{room: room, done: make(chan struct{})}
	tb.b.Serve(netpoll.ConnInfo{ID: id, Remote: "test"}, encodeRequest(req, 11), r)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("fetch not answered")
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 11
	if len(r.raw) < 4 {
		t.Fatalf("answer of %d bytes", len(r.raw))
	}
	if err := resp.ReadFrom(r.raw[4:]); err != nil {
		t.Fatal(err)
	}
	p = resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	return r.wanted, p
}

// TestFetchKeepsToTheConnectionsRoom serves fetches whose connection has
// less room for unwritten responses than the fetch asks for: the answer
// keeps to the room granted, and with none left it still carries the first
// batch whole (KIP-74), so a consumer never stalls on it.
func TestFetchKeepsToTheConnectionsRoom(t *testing.T) {
	tb := startBroker(t, "fetch.max.bytes=1048576")
	const batches = 10
	batch := roomTopic(t, tb, "room", batches)
	for i, tc := range []struct {
		room        int
		wantBatches int
	}{
		{room: 1 << 30, wantBatches: batches},
		{room: 3*len(batch) + 100, wantBatches: 3},
		{room: 0, wantBatches: 1},
	} {
		req := fetchReq("room", 0, 0, 1, 0, 1<<30)
		req.MaxBytes = 1 << 30
		wanted, p := fetchWithRoom(t, tb, 1<<40+uint64(i), req, tc.room)
		if wanted != 1048576 {
			t.Fatalf("the fetch asked for room for %d bytes, want fetch.max.bytes (1048576)", wanted)
		}
		if got := len(p.RecordBatches); got != tc.wantBatches*len(batch) {
			t.Fatalf("room %d: got %d bytes, want %d whole batches (%d bytes)", tc.room, got, tc.wantBatches, tc.wantBatches*len(batch))
		}
	}
}

// TestFetchCutBelowMinBytesAnswersWithRecords serves fetches whose
// connection grants less room than their MinBytes: the response can never
// hold MinBytes, so the fetch answers with the records that fit as soon as
// it has them rather than holding them until MaxWaitMs (a client pipelining
// fetches would otherwise get one cut response per MaxWaitMs).
func TestFetchCutBelowMinBytesAnswersWithRecords(t *testing.T) {
	tb := startBroker(t, "fetch.max.bytes=1048576")
	batch := roomTopic(t, tb, "cutmin", 10)
	for i, tc := range []struct {
		room        int
		wantBatches int
	}{
		{room: 3*len(batch) + 100, wantBatches: 3},
		{room: 0, wantBatches: 1},
	} {
		const maxWait = 5000
		req := fetchReq("cutmin", 0, 0, int32(8*len(batch)), maxWait, 1<<30)
		req.MaxBytes = 1 << 30
		start := time.Now()
		_, p := fetchWithRoom(t, tb, 1<<41+uint64(i), req, tc.room)
		if took := time.Since(start); took > maxWait/2*time.Millisecond {
			t.Fatalf("room %d: answered after %v with its records ready, waiting for MinBytes it had no room for", tc.room, took)
		}
		if got := len(p.RecordBatches); got != tc.wantBatches*len(batch) {
			t.Fatalf("room %d: got %d bytes, want %d whole batches (%d bytes)", tc.room, got, tc.wantBatches, tc.wantBatches*len(batch))
		}
	}
}
