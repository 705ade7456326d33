package partlog

// keyEntryOverhead approximates what one map entry costs beyond its key's
// bytes (string header, int64, bucket share), for the memory budget.
const keyEntryOverhead = 48

// keyMap is a cleaning pass's map from each key to the offset of its latest
// record in the scanned dirty range. It holds the keys themselves, not
// hashes, so two keys can never be confused and a record never dropped for
// another key's update; its size is accounted so that a pass stops scanning
// once the budget is used.
type keyMap struct {
	m     map[string]int64
	bytes int64
}

func newKeyMap() *keyMap { return &keyMap{m: make(map[string]int64)} }

// put records offset as key's latest (offsets are put in increasing order).
func (k *keyMap) put(key []byte, offset int64) {
	if _, ok := k.m[string(key)]; ok {
		k.m[string(key)] = offset
		return
	}
	k.m[string(key)] = offset
	k.bytes += int64(len(key)) + keyEntryOverhead
}

// latest returns the offset of key's latest record; ok is false for a key
// the scanned range does not hold.
func (k *keyMap) latest(key []byte) (int64, bool) {
	off, ok := k.m[string(key)]
	return off, ok
}

func (k *keyMap) len() int { return len(k.m) }
