package uring

import "testing"

// BenchmarkRingNop is the ring's own cost: one NOP submitted and reaped per
// io_uring_enter, with this package's bookkeeping around it.
//
//	go test -run '^$' -bench RingNop ./uring/
func BenchmarkRingNop(b *testing.B) {
	requireURing(b)
	r, err := NewRing(8)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	batch := r.NewBatch()
	b.ReportAllocs()
	for b.Loop() {
		batch.SubmitNop()
		if _, err := batch.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}
