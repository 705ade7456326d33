package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KfakeTarget starts franz-go's in-memory reference broker inside this
// process. It is the yardstick: a correct broker with no disk I/O, so a
// chronik/kfake ratio shows what Chronik's storage and networking cost or win.
// It shares this process's CPUs and garbage collector with the client.
type KfakeTarget struct {
	// Opts are extra kfake options (tests inject faults through them).
	Opts []kfake.Opt
	// PersistParent, if set, makes kfake store records on disk (its
	// DataDir option) in a fresh directory made here, like a real broker.
	PersistParent string
}

// Name implements Target.
func (KfakeTarget) Name() string { return "kfake" }

// Start implements Target: a one-broker cluster on a free loopback port.
func (t KfakeTarget) Start(ctx context.Context) (Broker, error) {
	port, err := FreeLoopbackPort()
	if err != nil {
		return nil, err
	}
	opts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port)}, t.Opts...)
	var dir string
	if t.PersistParent != "" {
		if dir, err = os.MkdirTemp(t.PersistParent, "kfake-bench-"); err != nil {
			return nil, fmt.Errorf("make kfake data directory: %w", err)
		}
		opts = append(opts, kfake.DataDir(dir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start kfake on port %d: %w", port, err)
	}
	b := &kfakeBroker{cluster: c, addr: c.ListenAddrs()[0], dir: dir}
	if err := waitForKafka(ctx, b.addr, nil); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return b, nil
}

type kfakeBroker struct {
	cluster *kfake.Cluster
	addr    string
	dir     string // "" when in memory
}

func (b *kfakeBroker) Addr() string { return b.addr }

// Stop closes the cluster and returns its stored records to the OS, so the
// next run (of either target) does not pay for this one's heap.
func (b *kfakeBroker) Stop() error {
	b.cluster.Close()
	debug.FreeOSMemory()
	if b.dir != "" {
		if err := os.RemoveAll(b.dir); err != nil {
			return fmt.Errorf("remove kfake data directory: %w", err)
		}
	}
	return nil
}
