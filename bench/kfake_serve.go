package bench

import (
	"context"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ServeKfake runs a one-broker kfake cluster until ctx ends, taking the same
// "--set key=value" flags the chronik binary takes (listeners, log.dirs, and
// kfake.persist=true to store records under log.dirs). chronik-bench serves
// it as a hidden subcommand so kfake can run as its own process, like the
// chronik binary, instead of sharing the client's process and garbage
// collector.
func ServeKfake(ctx context.Context, args []string, log io.Writer) error {
	settings, err := parseServeSettings("kfake-serve", args, "listeners", "log.dirs", "kfake.persist")
	if err != nil {
		return err
	}
	port, err := listenerPort("kfake-serve", settings["listeners"])
	if err != nil {
		return err
	}
	persist := settings["kfake.persist"] == "true"
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port)}
	if persist {
		if settings["log.dirs"] == "" {
			return fmt.Errorf("kfake-serve: kfake.persist needs log.dirs")
		}
		opts = append(opts, kfake.DataDir(settings["log.dirs"]))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("kfake-serve: %w", err)
	}
	fmt.Fprintf(log, "kfake serving on %s (persist=%t)\n", c.ListenAddrs()[0], persist)
	<-ctx.Done()
	c.Close()
	fmt.Fprintln(log, "kfake stopped")
	return nil
}
