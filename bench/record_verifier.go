package bench

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// StreamSummary is what a produce run wrote, warm-up included: enough for a
// consumer to prove it read every record exactly once and unchanged.
type StreamSummary struct {
	Tag uint32 `json:"tag"`
	// Sent is the number of records each producer had acknowledged; producer
	// p wrote sequences 0 to Sent[p]-1.
	Sent []int64 `json:"sent_per_producer"`
	// Checksum is the sum of every record's stamped CRC-32C: independent of
	// the order records are read in, and wrong if one is missing, doubled or
	// altered.
	Checksum uint64 `json:"checksum"`
}

// Records is the total number of records in the stream.
func (s StreamSummary) Records() int64 {
	var n int64
	for _, c := range s.Sent {
		n += c
	}
	return n
}

// streamKey names one producer of one run.
type streamKey struct {
	tag      uint32
	producer int
}

// recordVerifier remembers which stamped records a consumer has seen. It is
// used by one goroutine; consumers each keep one and merge them at the end.
type recordVerifier struct {
	seen     map[streamKey]*seqSet
	records  int64
	checksum uint64
	dups     []string // the first few duplicates, for the error
	dupCount int64
}

func newRecordVerifier() *recordVerifier {
	return &recordVerifier{seen: make(map[streamKey]*seqSet)}
}

// add records one consumed record, read at topic/partition@offset.
func (v *recordVerifier) add(s recordStamp, topic string, partition int32, offset int64) {
	k := streamKey{s.Tag, s.Producer}
	set := v.seen[k]
	if set == nil {
		set = &seqSet{}
		v.seen[k] = set
	}
	v.records++
	v.checksum += uint64(s.CRC)
	if !set.add(s.Seq) {
		v.noteDup(fmt.Sprintf("producer %d seq %d (run tag %08x) again at %s/%d@%d", s.Producer, s.Seq, s.Tag, topic, partition, offset))
	}
}

func (v *recordVerifier) noteDup(msg string) {
	v.dupCount++
	if len(v.dups) < 5 {
		v.dups = append(v.dups, msg)
	}
}

// merge folds o into v; a record both saw is a duplicate.
func (v *recordVerifier) merge(o *recordVerifier) {
	v.records += o.records
	v.checksum += o.checksum
	v.dupCount += o.dupCount
	for _, d := range o.dups {
		if len(v.dups) < 5 {
			v.dups = append(v.dups, d)
		}
	}
	for k, os := range o.seen {
		set := v.seen[k]
		if set == nil {
			v.seen[k] = os
			continue
		}
		for i, w := range os.words {
			if i >= len(set.words) {
				set.words = append(set.words, os.words[i:]...)
				set.count += int64(popcount(os.words[i:]))
				break
			}
			if both := set.words[i] & w; both != 0 {
				seq := uint64(i)*64 + uint64(bits.TrailingZeros64(both))
				v.dupCount += int64(bits.OnesCount64(both))
				if len(v.dups) < 5 {
					v.dups = append(v.dups, fmt.Sprintf("producer %d seq %d (run tag %08x) read by two consumers", k.producer, seq, k.tag))
				}
			}
			set.count += int64(bits.OnesCount64(w &^ set.words[i]))
			set.words[i] |= w
		}
	}
}

// check compares what was seen with what was written. With no expectation
// it can still prove that each producer's sequences have no holes below the
// highest one seen. The error names the first few problems.
func (v *recordVerifier) check(want *StreamSummary) error {
	var problems []string
	if v.dupCount > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicated record(s): %s", v.dupCount, strings.Join(v.dups, "; ")))
	}
	keys := make([]streamKey, 0, len(v.seen))
	for k := range v.seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].tag != keys[j].tag {
			return keys[i].tag < keys[j].tag
		}
		return keys[i].producer < keys[j].producer
	})
	if want != nil {
		for _, k := range keys {
			if k.tag != want.Tag || k.producer >= len(want.Sent) {
				problems = append(problems, fmt.Sprintf("records of another run or producer (tag %08x producer %d): %d", k.tag, k.producer, v.seen[k].count))
			}
		}
		for p, sent := range want.Sent {
			set := v.seen[streamKey{want.Tag, p}]
			if set == nil {
				set = &seqSet{}
			}
			if missing := set.missingBelow(uint64(sent)); missing != "" {
				problems = append(problems, fmt.Sprintf("producer %d: %s", p, missing))
			}
			if beyond := set.count - set.countBelow(uint64(sent)); beyond > 0 {
				problems = append(problems, fmt.Sprintf("producer %d: %d record(s) beyond the %d it had acknowledged", p, beyond, sent))
			}
		}
		if len(problems) == 0 && v.checksum != want.Checksum {
			problems = append(problems, fmt.Sprintf("checksum %d, want %d: a record's bytes changed", v.checksum, want.Checksum))
		}
	} else {
		for _, k := range keys {
			set := v.seen[k]
			if missing := set.missingBelow(set.highest() + 1); missing != "" {
				problems = append(problems, fmt.Sprintf("run tag %08x producer %d: %s", k.tag, k.producer, missing))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("verification failed after %d records: %s", v.records, strings.Join(problems, "; "))
	}
	return nil
}

// seqSet is a growable bitset of sequence numbers.
type seqSet struct {
	words []uint64
	count int64
}

// add sets seq and reports whether it was new.
func (s *seqSet) add(seq uint64) bool {
	i := int(seq / 64)
	if i >= len(s.words) {
		s.words = append(s.words, make([]uint64, i+1-len(s.words)+len(s.words)/4)...)
	}
	bit := uint64(1) << (seq % 64)
	if s.words[i]&bit != 0 {
		return false
	}
	s.words[i] |= bit
	s.count++
	return true
}

func (s *seqSet) has(seq uint64) bool {
	i := int(seq / 64)
	return i < len(s.words) && s.words[i]&(1<<(seq%64)) != 0
}

// highest is the largest member; call only on a non-empty set.
func (s *seqSet) highest() uint64 {
	for i := len(s.words) - 1; i >= 0; i-- {
		if s.words[i] != 0 {
			return uint64(i)*64 + uint64(63-bits.LeadingZeros64(s.words[i]))
		}
	}
	return 0
}

func (s *seqSet) countBelow(n uint64) int64 {
	full := int(n / 64)
	var c int64
	for i := 0; i < full && i < len(s.words); i++ {
		c += int64(bits.OnesCount64(s.words[i]))
	}
	if rem := n % 64; rem != 0 && full < len(s.words) {
		c += int64(bits.OnesCount64(s.words[full] & (1<<rem - 1)))
	}
	return c
}

// missingBelow describes the sequences in [0, n) not in the set: how many,
// and the first few. It returns "" when none are missing.
func (s *seqSet) missingBelow(n uint64) string {
	missing := int64(n) - s.countBelow(n)
	if missing <= 0 {
		return ""
	}
	var first []string
	for seq := uint64(0); seq < n && len(first) < 5; seq++ {
		if !s.has(seq) {
			first = append(first, fmt.Sprint(seq))
		}
	}
	return fmt.Sprintf("%d record(s) missing of %d (first seq %s)", missing, n, strings.Join(first, ", "))
}

func popcount(words []uint64) int {
	n := 0
	for _, w := range words {
		n += bits.OnesCount64(w)
	}
	return n
}
