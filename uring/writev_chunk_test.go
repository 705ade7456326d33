package uring

import "testing"

func TestWritevChunk(t *testing.T) {
	bufs := func(sizes ...int) [][]byte {
		out := make([][]byte, len(sizes))
		for i, n := range sizes {
			out[i] = make([]byte, n)
		}
		return out
	}
	many := make([]int, MaxWritevBuffers+10)
	for i := range many {
		many[i] = 16
	}
	for _, tc := range []struct {
		name string
		bufs [][]byte
		want int
	}{
		{"none", nil, 0},
		{"one small", bufs(10), 1},
		{"one past the byte bound goes whole", bufs(3 << 20), 1},
		{"small ones up to the byte bound", bufs(512<<10, 512<<10, 1), 2},
		{"a large one after a small one waits", bufs(10, 2<<20), 1},
		{"exactly the byte bound", bufs(1<<19, 1<<19), 2},
		{"count bound", bufs(many...), MaxWritevBuffers},
	} {
		if got := WritevChunk(tc.bufs); got != tc.want {
			t.Errorf("%s: WritevChunk = %d, want %d", tc.name, got, tc.want)
		}
	}
}
