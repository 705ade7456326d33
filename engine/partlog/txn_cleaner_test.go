package partlog

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

// txnLog is a log with transactions and the partition-side answers the
// cleaner asks for, as the engine gives them.
type txnLog struct {
	t       *testing.T
	l       *Log
	open    map[int64]int64    // producer id -> first offset of its open transaction
	aborted map[int64][2]int64 // abort marker offset -> producer id, first offset
	last    map[int64]int64    // producer id -> offset of its last entry
	gone    []int64            // abort markers AbortedTxnGone was told of
	saved   int                // BeforeMarkersGo calls
	durable int                // calls of what BeforeMarkersGo returned
	saveErr error              // what BeforeMarkersGo returns
}

func (x *txnLog) data(pid int64, recs ...kv) {
	x.t.Helper()
	off := mustAppend(x.t, x.l, keyedBatch(x.t, keyedSpec{recs: recs, ts: t0.UnixMilli(), producerID: pid, transactional: true}))
	if _, ok := x.open[pid]; !ok {
		x.open[pid] = off
	}
	x.last[pid] = off
}

func (x *txnLog) end(pid int64, commit bool) int64 {
	x.t.Helper()
	off := mustAppend(x.t, x.l, batch.AppendControlBatch(nil, pid, 0, commit, 0, t0.UnixMilli()))
	if !commit {
		x.aborted[off] = [2]int64{pid, x.open[pid]}
	}
	delete(x.open, pid)
	x.last[pid] = off
	return off
}

func (x *txnLog) options(now time.Time) CleanOptions {
	return CleanOptions{
		Now: now, MinDirtyRatio: 0.01, DeleteRetention: time.Hour,
		TxnBatch: func(pid, base int64) TxnOutcome {
			if first, ok := x.open[pid]; ok && base >= first {
				return TxnOpen
			}
			for marker, a := range x.aborted {
				if a[0] == pid && a[1] <= base && base < marker {
					return TxnAborted
				}
			}
			return TxnCommitted
		},
		LastProducerBatch: func(pid, base int64) bool { return x.last[pid] == base },
		// A marker is its producer's last entry when the producer wrote
		// nothing after it.
		LastProducerMarker: func(pid int64, epoch int16) bool {
			raw, err := x.l.Read(x.last[pid], batch.HeaderSize)
			if err != nil {
				x.t.Fatal(err)
			}
			h, _ := batch.ParseHeader(raw)
			return h.Control()
		},
		AbortedTxnGone: func(pid, marker int64) {
			x.gone = append(x.gone, marker)
			delete(x.aborted, marker)
		},
		BeforeMarkersGo: func() (func() error, error) {
			x.saved++
			if x.saveErr != nil {
				return nil, x.saveErr
			}
			return func() error { x.durable++; return nil }, nil
		},
	}
}

// markers lists the offsets of the log's control batches, and those
// carrying a delete horizon.
func (x *txnLog) markers() (all, horizon []int64) {
	for _, b := range consume(x.t, x.l) {
		if b.hdr.Control() {
			all = append(all, b.hdr.BaseOffset)
			if b.hdr.Attributes&deleteHorizonFlag != 0 {
				horizon = append(horizon, b.hdr.BaseOffset)
			}
		}
	}
	return all, horizon
}

// The cleaner removes an aborted transaction's records in the pass that
// reads them and keeps its marker; the next pass tells the partition the
// transaction is gone from the log and stamps a delete horizon on the
// markers of transactions without batches left; a pass after the horizon
// removes them, except a producer's last marker. Committed records stay
// for read_committed consumers as any others do, and an open transaction
// stays whole.
func TestCompactRemovesAbortedTransactionsThenTheirMarkers(t *testing.T) {
	x := &txnLog{t: t, l: mustOpen(t, t.TempDir(), testOptions(nil), false),
		open: map[int64]int64{}, aborted: map[int64][2]int64{}, last: map[int64]int64{}}
	defer x.l.Close()
	pad := strings.Repeat("p", 200)
	// Producer 7 aborts, commits, aborts; producer 8 commits a value that
	// later records replace and stays silent after: its marker is its last
	// entry, with nothing of its transaction left.
	x.data(7, rec("a", "aborted-1"+pad), rec("b", "aborted-1"+pad))
	abort1 := x.end(7, false)
	x.data(7, rec("a", "committed-2"+pad))
	x.data(8, rec("key-011", "committed-8"+pad))
	commit2 := x.end(7, true)
	last8 := x.end(8, true)
	x.data(7, rec("b", "aborted-3"+pad))
	abort3 := x.end(7, false)
	w := &updateWriter{t: x.t, l: x.l, first: 10, keys: 40, perB: 5, ts: t0.UnixMilli(), valPad: pad}
	more := func(rounds int) {
		for r := 0; r < rounds; r++ {
			w.round(r)
		}
	}
	more(4)
	x.data(7, rec("z", "open"+pad)) // producer 7's open transaction, at the log end
	more(4)

	values := func() (out []string) {
		for _, b := range consume(t, x.l) {
			for _, r := range b.records {
				if !b.hdr.Control() && !strings.HasPrefix(r.key, "key-") {
					out = append(out, strings.TrimSuffix(r.value, pad))
				}
			}
		}
		return out
	}
	t1 := t0.Add(time.Minute)
	if n := cleanAll(t, x.l, x.options(t1)); n != 1 {
		t.Fatalf("%d passes, want 1", n)
	}
	if got, want := values(), []string{"committed-2", "open"}; !slices.Equal(got, want) {
		t.Fatalf("after the first pass: %q, want %q", got, want)
	}
	if all, h := x.markers(); !slices.Equal(all, []int64{abort1, commit2, last8, abort3}) || len(h) != 0 || len(x.gone) != 0 {
		t.Fatalf("first pass: markers %v, horizons %v, gone %v; want all kept, none stamped, none gone", all, h, x.gone)
	}

	more(4)
	if n := cleanAll(t, x.l, x.options(t1.Add(time.Minute))); n != 1 {
		t.Fatalf("%d passes, want 1", n)
	}
	if !slices.Equal(x.gone, []int64{abort1, abort3}) {
		t.Fatalf("second pass told of %v gone, want %v", x.gone, []int64{abort1, abort3})
	}
	// The commit of producer 7's second transaction keeps its batch.
	if all, h := x.markers(); !slices.Equal(all, []int64{abort1, commit2, last8, abort3}) || !slices.Equal(h, []int64{abort1, abort3}) {
		t.Fatalf("second pass: markers %v, horizons %v; want all kept, %v stamped", all, h, []int64{abort1, abort3})
	}
	if n := cleanAll(t, x.l, x.options(t1.Add(30*time.Minute))); n != 0 {
		t.Fatalf("a pass before the horizon, with nothing dirty: %d", n)
	}

	if x.saved != 0 {
		t.Fatalf("BeforeMarkersGo called %d times before a marker went", x.saved)
	}

	// Past the horizon a pass is due without new records. The state that
	// must not outlive the markers is saved before they go, or they stay.
	x.saveErr = errors.New("disk full")
	for i := 0; ; i++ {
		_, err := x.l.Clean(x.options(t1.Add(2 * time.Hour)))
		if errors.Is(err, x.saveErr) {
			break
		}
		if err != nil || i == 1000 {
			t.Fatalf("Clean with a failing BeforeMarkersGo: %v after %d steps", err, i)
		}
	}
	if all, _ := x.markers(); !slices.Equal(all, []int64{abort1, commit2, last8, abort3}) {
		t.Fatalf("markers %v after a failed BeforeMarkersGo, want all kept", all)
	}
	x.saveErr, x.saved = nil, 0
	if n := cleanAll(t, x.l, x.options(t1.Add(2*time.Hour))); n != 1 {
		t.Fatalf("%d passes past the horizon, want 1", n)
	}
	if all, _ := x.markers(); !slices.Equal(all, []int64{commit2, last8}) {
		t.Fatalf("past the horizon: markers %v, want %v", all, []int64{commit2, last8})
	}
	if got, want := values(), []string{"committed-2", "open"}; !slices.Equal(got, want) {
		t.Fatalf("past the horizon: %q, want %q", got, want)
	}
	if x.saved == 0 || x.durable != x.saved {
		t.Fatalf("markers went after %d BeforeMarkersGo calls, %d made durable", x.saved, x.durable)
	}
}
