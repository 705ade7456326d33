package engine

import "testing"

// A warning clients can repeat is let through once, then held back for a
// minute however often it comes.
func TestWarnLimiter(t *testing.T) {
	var w warnLimiter
	if !w.allow() {
		t.Fatal("the first warning was held back")
	}
	for range 1000 {
		if w.allow() {
			t.Fatal("a repeated warning within the minute was let through")
		}
	}
	w.last.Add(-int64(61e9)) // a minute and a second ago
	if !w.allow() {
		t.Fatal("a warning a minute later was held back")
	}
}
