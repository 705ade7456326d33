package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Key distributions the produce workload offers. Keys decide partitions
// (franz-go hashes them with murmur2, as the Java client does), so they decide
// how evenly load spreads:
//
//   - none: no key; franz-go's sticky partitioner fills one partition's batch
//     at a time, which is the best case for batching.
//   - uniform: KeyCount distinct keys, each equally likely.
//   - hot: HotKeyShare of the records carry one of the first 1% of the keys
//     (at least one key), the rest are spread over all keys; a few partitions
//     take most of the load, as with a popular customer or device.
const (
	KeysNone    = "none"
	KeysUniform = "uniform"
	KeysHot     = "hot"
)

// Defaults for the key knobs.
const (
	DefaultKeyCount    = 10000
	DefaultHotKeyShare = 0.9
)

func validKeyDistribution(s string) error {
	switch s {
	case KeysNone, KeysUniform, KeysHot:
		return nil
	}
	return fmt.Errorf("keys %q: want none, uniform or hot", s)
}

// keyChooser picks record keys for one producer goroutine. Keys are
// pre-rendered so choosing one costs a random number, not an allocation.
type keyChooser struct {
	dist     string
	keys     [][]byte
	hotCount int
	hotShare float64
	rng      *rand.Rand
}

// newKeyChooser builds the keys of a distribution; seed makes each producer's
// sequence different but every run the same.
func newKeyChooser(dist string, count int, hotShare float64, seed uint64) *keyChooser {
	c := &keyChooser{dist: dist, hotShare: hotShare, rng: rand.New(rand.NewPCG(seed, 0x6b657973))}
	if dist == KeysNone {
		return c
	}
	width := len(strconv.Itoa(count - 1))
	c.keys = make([][]byte, count)
	for i := range c.keys {
		s := strconv.Itoa(i)
		c.keys[i] = []byte("key-" + strings.Repeat("0", width-len(s)) + s)
	}
	c.hotCount = max(1, count/100)
	return c
}

// next returns the next record's key; nil for no key.
func (c *keyChooser) next() []byte {
	switch c.dist {
	case KeysUniform:
		return c.keys[c.rng.IntN(len(c.keys))]
	case KeysHot:
		if c.rng.Float64() < c.hotShare {
			return c.keys[c.rng.IntN(c.hotCount)]
		}
		return c.keys[c.rng.IntN(len(c.keys))]
	}
	return nil
}
