package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ServeKfake runs a one-broker kfake cluster until ctx ends, taking the same
// "--set key=value" flags the chronik binary takes (listeners, log.dirs, and
// kfake.persist=true to store records under log.dirs). chronik-bench serves
// it as a hidden subcommand so kfake can run as its own process, like the
// chronik binary, instead of sharing the client's process and garbage
// collector.
func ServeKfake(ctx context.Context, args []string, log io.Writer) error {
	var port int
	var dataDir string
	var persist bool
	for i := 0; i < len(args); i++ {
		if args[i] != "--set" || i+1 == len(args) {
			return fmt.Errorf("kfake-serve: want --set key=value pairs, got %q", args[i])
		}
		i++
		key, value, _ := strings.Cut(args[i], "=")
		switch key {
		case "listeners":
			hostPort, ok := strings.CutPrefix(value, "PLAINTEXT://127.0.0.1:")
			n, err := strconv.Atoi(hostPort)
			if !ok || err != nil {
				return fmt.Errorf("kfake-serve: listeners %q: want PLAINTEXT://127.0.0.1:PORT", value)
			}
			port = n
		case "log.dirs":
			dataDir = value
		case "kfake.persist":
			persist = value == "true"
		default:
			return fmt.Errorf("kfake-serve: unknown setting %q", key)
		}
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port)}
	if persist {
		if dataDir == "" {
			return fmt.Errorf("kfake-serve: kfake.persist needs log.dirs")
		}
		opts = append(opts, kfake.DataDir(dataDir))
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
