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
	"syscall"
	"time"

	"github.com/chronik-go/chronik/engine"
	"github.com/chronik-go/chronik/engine/config"
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
	listenAddr, err := cfg.ListenAddr()
	if err != nil {
		return err
	}
	tlsConfig, transport, err := listenerTLS(cfg, logger)
	if err != nil {
		return err
	}
	// A bad advertised listener stops the start before the partitions
	// open, not after.
	if _, _, err := cfg.AdvertisedHostPort(); err != nil {
		return err
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
	srv, err := netpoll.Listen(netpoll.Options{
		Addr:      listenAddr,
		Transport: transport,
		TLS:       tlsConfig,
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
		b.Close()
		store.Close()
		return fmt.Errorf("listen on %s: %w", listenAddr, err)
	}
	host, port, err := advertised(cfg, srv.Addr())
	if err == nil {
		err = metrics.attach(b, srv)
	}
	if err == nil {
		err = b.Start(host, port)
	}
	if err != nil {
		shutdown(logger, cfg, srv, b, store)
		return err
	}
	logger.Info("chronik started", "listen", srv.Addr().String(), "advertised", net.JoinHostPort(host, fmt.Sprint(port)), "data", dataDir, "shards", cfg.NumShards)

	got := <-sig
	logger.Info("shutting down", "signal", got.String())
	return shutdown(logger, cfg, srv, b, store)
}

// shutdown stops accepting, lets in-flight requests finish, then closes the
// logs cleanly so the next start skips recovery.
func shutdown(logger *slog.Logger, cfg *config.Config, srv *netpoll.Server, b *engine.Broker, store *raftmeta.Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("listener shutdown", "err", err)
	}
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

// listenerTLS is the SSL listener's TLS configuration (nil for PLAINTEXT)
// and the transport to serve it with: TLS runs on the std transport, which
// an SSL listener takes whatever net.transport says.
func listenerTLS(cfg *config.Config, logger *slog.Logger) (*tls.Config, string, error) {
	ssl, err := cfg.ListenerTLS()
	if err != nil || !ssl {
		return nil, cfg.Transport, err
	}
	tc, err := cfg.TLSConfig()
	if err != nil {
		return nil, "", err
	}
	if cfg.Transport != "std" {
		logger.Info("the SSL listener is served by the std transport", "net.transport", cfg.Transport)
	}
	return tc, "std", nil
}

// advertised resolves the host:port Metadata names: advertised.listeners if
// set, else the bound address (which resolves port 0).
func advertised(cfg *config.Config, bound net.Addr) (string, int32, error) {
	host, port, err := cfg.AdvertisedHostPort()
	if err != nil {
		return "", 0, err
	}
	if len(cfg.AdvertisedListeners) == 0 || port == 0 {
		if tcp, ok := bound.(*net.TCPAddr); ok {
			port = int32(tcp.Port)
		}
	}
	return host, port, nil
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
