package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/internal/syncbuf"
	"github.com/chronik-go/chronik/netpoll"
	"github.com/chronik-go/chronik/raftmeta"
	"github.com/chronik-go/chronik/uring"
)

// testBroker is a whole in-process broker (raft metadata, engine, listener)
// on a random loopback port, for tests that talk to it with real clients.
type testBroker struct {
	t      testing.TB
	dir    string
	sets   []string
	args   []string     // command-line arguments after the --set ones
	opener uring.Opener // nil: plain pwrite
	sysfs  string       // NUMA topology root; "": the machine's
	loops  int          // netpoll event loops; 0: one per usable CPU
	// syncfs, when set, stands in for the filesystem syncs (Options.syncfs).
	syncfs func(*os.File) error
	// kernel, when set, stands in for the kernel's release
	// (Options.kernelRelease).
	kernel string
	// logs, when set, also gets the broker's warnings and errors.
	logs *syncbuf.Buffer
	// beforeStart, when set, runs once the listeners are bound and before
	// the broker's Start, with the first listener's address.
	beforeStart func(addr string)
	// tls is the TLS listeners' configuration (they run on the std
	// transport); clients trust clientTLS's roots.
	tls, clientTLS *tls.Config
	cfg            *config.Config
	store          *raftmeta.Store
	b              *Broker
	srvs           []*netpoll.Server // one per listener, in listeners order
	addr           string            // the first listener's
	addrs          map[string]string // each listener's, by name
}

// startBroker starts a broker with its data in a fresh temp dir; sets are
// extra key=value settings.
func startBroker(t testing.TB, sets ...string) *testBroker {
	t.Helper()
	return startBrokerWith(t, nil, sets...)
}

// startBrokerWith starts a broker whose logs are written through opener.
func startBrokerWith(t testing.TB, opener uring.Opener, sets ...string) *testBroker {
	t.Helper()
	return launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: sets, opener: opener})
}

// launchBroker starts tb and stops it when the test ends.
func launchBroker(tb *testBroker) *testBroker {
	t := tb.t
	t.Helper()
	// The broker raises GOMAXPROCS (gomaxprocs.go); the test leaves the
	// process as it found it, after the broker has stopped.
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	tb.open()
	t.Cleanup(func() { tb.stop() })
	return tb
}

func (tb *testBroker) open() {
	tb.t.Helper()
	if err := tb.tryOpen(); err != nil {
		tb.t.Fatal(err)
	}
}

// tryOpen is open returning why the broker did not start.
func (tb *testBroker) tryOpen() error {
	t := tb.t
	t.Helper()
	args := []string{"--set", "log.dirs=" + tb.dir, "--set", "listeners=PLAINTEXT://127.0.0.1:0", "--set", "num.shards=2"}
	for _, s := range tb.sets {
		args = append(args, "--set", s)
	}
	args = append(args, tb.args...)
	cfg, err := config.Load(args, nil)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tb.cfg = cfg
	var out io.Writer = os.Stderr
	if tb.logs != nil {
		out = io.MultiWriter(os.Stderr, tb.logs)
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := raftmeta.Open(filepath.Join(tb.dir, "__raft_metadata"), raftmeta.Options{NodeID: 1, ClusterID: "test-cluster", Logger: logger})
	if err != nil {
		return fmt.Errorf("raftmeta: %w", err)
	}
	opener := tb.opener
	if opener == nil {
		opener = uring.PwriteOpener{}
	}
	b, err := New(Options{Config: cfg, Store: store, Opener: opener, Logger: logger, DataDir: tb.dir, SysfsRoot: tb.sysfs, syncfs: tb.syncfs, kernelRelease: tb.kernel})
	if err != nil {
		store.Close()
		return fmt.Errorf("engine: %w", err)
	}
	specs, err := cfg.ListenerSpecs()
	if err != nil {
		return err
	}
	tb.srvs, tb.addrs = nil, map[string]string{}
	var endpoints []meta.Endpoint
	for _, l := range specs {
		transport, tc := cfg.Transport, (*tls.Config)(nil)
		if l.TLS() {
			if tb.tls == nil {
				return fmt.Errorf("listener %s: the test gave no TLS config", l.Name)
			}
			transport, tc = "std", tb.tls
		}
		srv, err := netpoll.Listen(netpoll.Options{Listener: l.Name, Addr: l.Addr, Transport: transport, TLS: tc, NumLoops: tb.loops, MaxFrameBytes: cfg.SocketRequestMaxBytes, MaxInflight: cfg.MaxInflightPerConnection, MaxQueuedBytes: cfg.ResponseQueueBytes(), WriteTimeout: cfg.IOTimeout, Logger: logger}, b)
		if err != nil {
			tb.shutdownListeners(context.Background())
			b.Close()
			store.Close()
			return fmt.Errorf("listen: %w", err)
		}
		tb.srvs = append(tb.srvs, srv)
		port := srv.Addr().(*net.TCPAddr).Port
		tb.addrs[l.Name] = fmt.Sprintf("127.0.0.1:%d", port)
		endpoints = append(endpoints, ListenerEndpoint(l, srv.Addr()))
	}
	tb.addr = tb.addrs[specs[0].Name]
	if tb.beforeStart != nil {
		tb.beforeStart(tb.addr)
	}
	if err := b.Start(endpoints); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	tb.store, tb.b = store, b
	tb.awaitWALFiles()
	return nil
}

// shutdownListeners stops every listener, as the broker's own shutdown
// does first.
func (tb *testBroker) shutdownListeners(ctx context.Context) {
	for _, srv := range tb.srvs {
		srv.Shutdown(ctx)
	}
}

// awaitWALFiles waits, when the shards use their WALs from their first
// turn, until each has a WAL file filled ahead (wal_spare_fill.go), so that
// tests written for the WAL path see it from their first produce.
func (tb *testBroker) awaitWALFiles() {
	tb.t.Helper()
	if !tb.b.writeBehindOn() || tb.b.cfg.WALMinPartitions > 1 {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range tb.b.shards {
		for !s.walReady.Load() {
			if time.Now().After(deadline) {
				tb.t.Fatalf("shard %d: no write-ahead log file ready 30s after start", s.id)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A fill that failed leaves the old way (files grown as they go); only
	// a test injecting faults expects that.
	if n := tb.b.metrics.walFillFailures.Load(); n > 0 && tb.opener == nil {
		tb.t.Fatalf("%d write-ahead log files could not be filled ahead (the broker's log says why)", n)
	}
}

// stop shuts the broker down gracefully (idempotent).
func (tb *testBroker) stop() {
	if tb.b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tb.shutdownListeners(ctx)
	if err := tb.b.Close(); err != nil {
		tb.t.Errorf("broker close: %v", err)
	}
	if err := tb.store.Close(); err != nil {
		tb.t.Errorf("store close: %v", err)
	}
	tb.b = nil
}

// stopAfterFailedSync stops the broker after a filesystem sync failed in
// its run: the stop must say so and write no clean-shutdown marker, so that
// the next start validates every log and replays the kept WAL files.
func (tb *testBroker) stopAfterFailedSync() {
	t := tb.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tb.shutdownListeners(ctx)
	closeErr := tb.b.Close()
	if err := tb.store.Close(); err != nil {
		t.Fatal(err)
	}
	tb.b = nil
	if closeErr == nil {
		t.Fatal("the stop reported success after a failed filesystem sync in the run")
	}
	if _, err := os.Stat(filepath.Join(tb.dir, cleanShutdownMarker)); !os.IsNotExist(err) {
		t.Fatalf("a clean-shutdown marker was written after a failed filesystem sync (%v)", err)
	}
}

// restart stops the broker cleanly and opens it again on the same data.
func (tb *testBroker) restart() {
	tb.t.Helper()
	tb.stop()
	tb.open()
}

func (tb *testBroker) client(opts ...kgo.Opt) *kgo.Client {
	tb.t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(tb.addr)}
	if tb.clientTLS != nil {
		base = append(base, kgo.DialTLSConfig(tb.clientTLS))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		tb.t.Fatalf("client: %v", err)
	}
	tb.t.Cleanup(cl.Close)
	return cl
}

func (tb *testBroker) admin() *kadm.Client {
	return kadm.NewClient(tb.client())
}

// onShard runs fn on s's goroutine and waits for it.
func onShard(t *testing.T, s *shard, fn func(*shard)) {
	t.Helper()
	done := make(chan struct{})
	s.submit(func(s *shard) { fn(s); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("shard %d did not run the function within 10s", s.id)
	}
}

// checkFor polls cond every step until it holds or wait passes.
func checkFor(t *testing.T, wait, step time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", wait, err)
		}
		time.Sleep(step)
	}
}
