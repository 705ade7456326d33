package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Target is a kind of broker a scenario runs against. Each Start gives a fresh
// broker with no data, so runs do not inherit each other's state.
type Target interface {
	// Name labels the target in reports ("chronik", "kfake").
	Name() string
	// Start brings up a broker and returns once it answers Kafka requests.
	Start(ctx context.Context) (Broker, error)
}

// Broker is one running broker started by a Target.
type Broker interface {
	// Addr is the host:port a Kafka client bootstraps from.
	Addr() string
	// Stop shuts the broker down and releases what Start took (process,
	// port, data directory). It reports an unclean shutdown as an error.
	Stop() error
}

// waitForKafka polls addr with a Kafka client until the broker answers a
// request, ctx ends, or exited is closed (the broker process died). Polling is
// the only option: the broker has no readiness signal other than answering.
func waitForKafka(ctx context.Context, addr string, exited <-chan struct{}) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(time.Second))
	if err != nil {
		return fmt.Errorf("client for %s: %w", addr, err)
	}
	defer cl.Close()
	var lastErr error
	for {
		tryCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = cl.Ping(tryCtx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker at %s not ready: %w (last error: %v)", addr, ctx.Err(), lastErr)
		case <-exited:
			return fmt.Errorf("broker at %s exited before answering (last error: %v)", addr, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
