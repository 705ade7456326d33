package bench

import "context"

// NullTarget starts a NullBroker inside this process on a free loopback
// port. Benchmarks run it as its own process instead (chronik-bench
// null-serve through a ChronikTarget), so it does not share the client's
// CPU accounting and garbage collector; this in-process form serves tests.
type NullTarget struct{}

// Name implements Target.
func (NullTarget) Name() string { return "null" }

// Start implements Target.
func (NullTarget) Start(ctx context.Context) (Broker, error) {
	b, err := StartNullBroker("127.0.0.1:0", nil)
	if err != nil {
		return nil, err
	}
	if err := waitForKafka(ctx, b.Addr(), nil); err != nil {
		_ = b.Close()
		return nil, err
	}
	return nullBroker{b}, nil
}

type nullBroker struct{ *NullBroker }

func (b nullBroker) Stop() error { return b.Close() }
