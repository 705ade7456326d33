package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chronik-go/chronik/engine"
	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/netpoll"
)

// metricsServer serves Prometheus metrics at /metrics and the broker's health
// at /health on metrics.listener. It binds before the metadata store and the
// partitions open, so a probe during a long recovery is answered "starting"
// rather than refused.
type metricsServer struct {
	srv    *http.Server
	reg    *prometheus.Registry
	broker atomic.Pointer[engine.Broker]
	done   chan struct{} // Serve returned
}

// startMetrics binds cfg.MetricsListener and serves it; nil when it is empty.
func startMetrics(cfg *config.Config, logger *slog.Logger) (*metricsServer, error) {
	if cfg.MetricsListener == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListener)
	if err != nil {
		return nil, fmt.Errorf("metrics.listener %s: %w", cfg.MetricsListener, err)
	}
	m := &metricsServer{reg: prometheus.NewRegistry(), done: make(chan struct{})}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		MaxRequestsInFlight: 4,
		Timeout:             cfg.IOTimeout,
	}))
	mux.HandleFunc("GET /health", m.serveHealth)
	// Every read and write on these connections has a deadline, as on the
	// Kafka listener.
	m.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.IOTimeout,
		ReadTimeout:       cfg.IOTimeout,
		WriteTimeout:      cfg.IOTimeout,
		IdleTimeout:       max(cfg.ConnectionsMaxIdle, cfg.IOTimeout),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics listening", "listen", ln.Addr().String())
	return m, nil
}

// attach registers the broker's and the network layer's metrics and lets
// /health ask the broker.
func (m *metricsServer) attach(b *engine.Broker, specs []config.Listener, srvs []*netpoll.Server) error {
	if m == nil {
		return nil
	}
	if err := b.RegisterMetrics(m.reg); err != nil {
		return fmt.Errorf("register broker metrics: %w", err)
	}
	for i, srv := range srvs {
		if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "chronik_connections",
			Help:        "Client connections open on a Kafka listener.",
			ConstLabels: prometheus.Labels{"listener": specs[i].Name},
		}, func() float64 { return float64(srv.OpenConnections()) })); err != nil {
			return fmt.Errorf("register connection metrics: %w", err)
		}
	}
	m.broker.Store(b)
	return nil
}

// serveHealth answers 200 "ok" while the broker serves, else 503 with one
// line per problem (starting, or work stalled past io.timeout.ms).
func (m *metricsServer) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	b := m.broker.Load()
	var problems []string
	if b == nil {
		problems = []string{"starting: opening the metadata store and partitions"}
	} else {
		problems = b.Health()
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, strings.Join(problems, "\n"))
}

// close stops serving within d.
func (m *metricsServer) close(d time.Duration) {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	<-m.done
}
