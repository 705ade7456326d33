package uring

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := Probe()
	t.Logf("probe: usable=%v reason=%q", p.Usable, p.Reason)
	wantAuto := "pwrite" // see Select: auto prefers pwrite until writes are batched
	o, err := Select("auto", log)
	if err != nil || o.Kind() != wantAuto {
		t.Fatalf("auto: %v %v, want %s", o, err, wantAuto)
	}
	if c, ok := o.(interface{ Close() error }); ok {
		defer c.Close()
	}
	if o, err := Select("pwrite", log); err != nil || o.Kind() != "pwrite" {
		t.Fatalf("pwrite: %v %v", o, err)
	}
	o, err = Select("uring", log)
	if p.Usable {
		if err != nil || o.Kind() != "uring" {
			t.Fatalf("uring: %v %v", o, err)
		}
		o.(interface{ Close() error }).Close()
	} else if !errors.Is(err, ErrUringUnavailable) || !strings.Contains(err.Error(), p.Reason) {
		t.Fatalf("uring on a host without it: %v", err)
	}
	if _, err := Select("mmap", log); err == nil {
		t.Fatal("unknown wal.io accepted")
	}
}

// Where the probe fails, auto falls back to pwrite and logs why, and a
// forced uring stops start-up with the same reason.
func TestSelectWhenProbeFails(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	failed := ProbeResult{Reason: "io_uring_setup: EPERM: blocked by seccomp", Kernel: "6.1.0"}
	o, err := selectWith("auto", failed, log)
	if err != nil || o.Kind() != "pwrite" {
		t.Fatalf("auto: %v %v", o, err)
	}
	if !strings.Contains(logged.String(), "blocked by seccomp") {
		t.Fatalf("fallback reason not logged: %s", logged.String())
	}
	_, err = selectWith("uring", failed, log)
	if !errors.Is(err, ErrUringUnavailable) || !strings.Contains(err.Error(), "blocked by seccomp") {
		t.Fatalf("forced uring: %v", err)
	}
}

// Any Opener yields a ShardOpener; pwrite's batches run call by call.
func TestNewShardOpenerForPwrite(t *testing.T) {
	o, err := NewShardOpener(PwriteOpener{})
	if err != nil || o.Kind() != "pwrite" {
		t.Fatalf("%v %v", o, err)
	}
	if o.NewBatch().ring != nil {
		t.Fatal("pwrite batch has a ring")
	}
}
