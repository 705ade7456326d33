package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A close that hangs (the metadata store's raft loop in a stalled
// fdatasync) is given up on after the deadline with an error saying so; a
// prompt one returns its own result.
func TestCloseWithin(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err := closeWithin(50*time.Millisecond, func() error { <-release; return nil })
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("hung close: %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %v for a 50 ms deadline", waited)
	}
	want := errors.New("closed with an error")
	if err := closeWithin(time.Minute, func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("prompt close: %v", err)
	}
}
