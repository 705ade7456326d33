package engine

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/netpoll"
	"github.com/chronik-go/chronik/raftmeta"
	"github.com/chronik-go/chronik/uring"
)

// TestPipelinedProducesBeforeStartKeepTheirOrder pipelines idempotent
// produce requests to one partition on a connection the listener accepts
// before the broker's Start: held until Start, they must still be appended
// in the order sent, none refused as out of sequence.
func TestPipelinedProducesBeforeStartKeepTheirOrder(t *testing.T) {
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "early", 1)
	ip := initProducer(t, tb)
	tb.stop()

	const requests, perBatch = 32, 4
	var c net.Conn
	tb.beforeStart = func(addr string) {
		var err error
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		writeIdempotentProduces(t, c, "early", ip, requests, perBatch)
		// The listener reads them all before Start.
		time.Sleep(300 * time.Millisecond)
	}
	tb.open()
	defer c.Close()
	readProducesInOrder(t, c, requests, perBatch)
}

// TestRequestsHeldBeforeStartAreRefusedByClose stops a broker that never
// started: the requests it held, and any that come later, close their
// connections instead of waiting for good.
func TestRequestsHeldBeforeStartAreRefusedByClose(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load([]string{"--set", "log.dirs=" + dir, "--set", "listeners=PLAINTEXT://127.0.0.1:0", "--set", "num.shards=1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := raftmeta.Open(filepath.Join(dir, "__raft_metadata"), raftmeta.Options{NodeID: 1, ClusterID: "test-cluster", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := New(Options{Config: cfg, Store: store, Opener: uring.PwriteOpener{}, Logger: logger, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	frame := encodeRequest(kmsg.NewPtrApiVersionsRequest(), 3)
	var held []*fuzzResponder
	for range 3 {
		r := &fuzzResponder{done: make(chan struct{})}
		b.Serve(netpoll.ConnInfo{}, append([]byte(nil), frame...), r)
		held = append(held, r)
	}
	for i, r := range held {
		select {
		case <-r.done:
			t.Fatalf("request %d answered before Start", i)
		default:
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	late := &fuzzResponder{done: make(chan struct{})}
	b.Serve(netpoll.ConnInfo{}, frame, late)
	for i, r := range append(held, late) {
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d still held after Close", i)
		}
	}
}
