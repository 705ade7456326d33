package engine

import (
	"testing"

	"github.com/chronik-go/chronik/numa"
	"github.com/chronik-go/chronik/uring"
)

// ringOpener stands for an opener that gives each shard a ring.
type ringOpener struct{ uring.PwriteOpener }

func (ringOpener) NewShardOpener() (uring.ShardOpener, error) { return nil, nil }

// A shard keeps an OS thread of its own only where something is tied to
// it: a pinned CPU set or a ring. Locked without need, every request's
// wake-up of the shard handed the waker's P to a sleeping thread
// (BENCHMARKS.md, "The shard's thread only where it is needed").
func TestShardOwnsThreadOnlyWhenPinnedOrOnARing(t *testing.T) {
	for _, c := range []struct {
		name   string
		opener uring.Opener
		cpus   []int
		want   bool
	}{
		{"pwrite, unpinned", uring.PwriteOpener{}, nil, false},
		{"pwrite, pinned", uring.PwriteOpener{}, []int{0, 1}, true},
		{"ring, unpinned", ringOpener{}, nil, true},
	} {
		s := &shard{b: &Broker{opener: c.opener}, place: numa.Placement{CPUs: c.cpus}}
		if got := s.ownsThread(); got != c.want {
			t.Errorf("%s: ownsThread() = %v, want %v", c.name, got, c.want)
		}
	}
}
