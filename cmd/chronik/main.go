// Command chronik runs a Kafka-compatible broker.
//
//	chronik [--config FILE] [--set key=value]... [--help-config]
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/chronik-go/chronik/engine"
	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/netpoll"
	"github.com/chronik-go/chronik/raftmeta"
	"github.com/chronik-go/chronik/uring"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "chronik: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := config.Load(args, os.Environ())
	if errors.Is(err, config.ErrHelpRequested) {
		config.WriteHelp(os.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	raiseFileLimit(logger)
	// Caught from here on: the listener accepts before the start is done,
	// and a SIGTERM then (a supervisor that saw the port open and stops
	// the broker at once) would kill it without its clean shutdown. It
	// waits in the channel until the start is done.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	dataDir := cfg.LogDirs[0]
	if err := checkWritable(dataDir); err != nil {
		return err
	}
	// A bad listener (its addresses, its TLS stores) stops the start
	// before the partitions open, not after.
	specs, err := cfg.ListenerSpecs()
	if err != nil {
		return err
	}
	tlsConfigs := make([]*tls.Config, len(specs))
	for i, l := range specs {
		if tlsConfigs[i], err = listenerTLS(cfg, l, logger); err != nil {
			return err
		}
	}
	metrics, err := startMetrics(cfg, logger)
	if err != nil {
		return err
	}
	defer metrics.close(cfg.ShutdownGrace)
	store, err := raftmeta.Open(filepath.Join(dataDir, "__raft_metadata"), raftmeta.Options{
		NodeID:    uint64(cfg.NodeID),
		ClusterID: cfg.ClusterID, // empty: the recorded one, or a new one
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	opener, err := uring.Select(cfg.WALIO, logger)
	if err != nil {
		store.Close()
		return err
	}
	b, err := engine.New(engine.Options{Config: cfg, Store: store, Opener: opener, Logger: logger, DataDir: dataDir})
	if err != nil {
		store.Close()
		return err
	}
	var srvs []*netpoll.Server
	var endpoints []meta.Endpoint
	for i, l := range specs {
		transport := cfg.Transport
		if tlsConfigs[i] != nil {
			transport = "std"
		}
		srv, err := netpoll.Listen(netpoll.Options{
			Listener:  l.Name,
			Addr:      l.Addr,
			Transport: transport,
			TLS:       tlsConfigs[i],
			// One loop per usable CPU: GOMAXPROCS is raised past the CPUs by now.
			NumLoops:       config.UsableCPUs(),
			MaxFrameBytes:  cfg.SocketRequestMaxBytes,
			MaxInflight:    cfg.MaxInflightPerConnection,
			MaxQueuedBytes: cfg.ResponseQueueBytes(),
			WriteTimeout:   cfg.IOTimeout,
			IdleTimeout:    max(cfg.ConnectionsMaxIdle, 0), // -1: never
			Logger:         logger,
		}, b)
		if err != nil {
			shutdown(logger, cfg, srvs, b, store)
			return fmt.Errorf("listener %s: listen on %s: %w", l.Name, l.Addr, err)
		}
		srvs = append(srvs, srv)
		endpoints = append(endpoints, engine.ListenerEndpoint(l, srv.Addr()))
	}
	err = metrics.attach(b, specs, srvs)
	if err == nil {
		err = b.Start(endpoints)
	}
	if err != nil {
		shutdown(logger, cfg, srvs, b, store)
		return err
	}
	for i, e := range endpoints {
		logger.Info("listening", "listener", e.Listener, "protocol", e.SecurityProtocol, "listen", srvs[i].Addr().String(), "advertised", net.JoinHostPort(e.Host, fmt.Sprint(e.Port)))
	}
	logger.Info("chronik started", "listen", srvs[0].Addr().String(), "data", dataDir, "shards", cfg.NumShards)

	got := <-sig
	logger.Info("shutting down", "signal", got.String())
	return shutdown(logger, cfg, srvs, b, store)
}

// shutdown stops accepting on every listener, lets in-flight requests
// finish, then closes the logs cleanly so the next start skips recovery.
func shutdown(logger *slog.Logger, cfg *config.Config, srvs []*netpoll.Server, b *engine.Broker, store *raftmeta.Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range srvs {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				logger.Warn("listener shutdown", "listen", srv.Addr().String(), "err", err)
			}
		})
	}
	wg.Wait()
	errB := b.Close()
	errS := closeWithin(max(cfg.IOTimeout, cfg.ShutdownGrace), store.Close)
	return errors.Join(errB, errS)
}

// closeWithin runs close and waits for it at most d (shutdown gives the
// store the longer of io.timeout.ms and shutdown.timeout.ms: a healthy
// close may finish a snapshot, several disk operations): the metadata
// store's Close waits for its raft loop, which a stalled disk can hold in
// an fdatasync forever, and a broker asked to stop must not hang on it
// (every acknowledged metadata change is already durable, as after a
// crash). A close that outlives d is left running and reported.
func closeWithin(d time.Duration, close func() error) error {
	done := make(chan error, 1)
	go func() { done <- close() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("metadata store did not stop within %v; exiting without it", d)
	}
}

// listenerTLS is a TLS listener's configuration (nil for the others):
// TLS runs on the std transport, which such a listener takes whatever
// net.transport says.
func listenerTLS(cfg *config.Config, l config.Listener, logger *slog.Logger) (*tls.Config, error) {
	if !l.TLS() {
		return nil, nil
	}
	tc, err := cfg.TLSConfig(l)
	if err != nil {
		return nil, err
	}
	if cfg.Transport != "std" {
		logger.Info("a TLS listener is served by the std transport", "listener", l.Name, "net.transport", cfg.Transport)
	}
	return tc, nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
