package bench

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// fakeBrokerEnv makes the test binary act as a stand-in chronik binary, so
// ChronikTarget's process handling (start, readiness, SIGTERM, /proc) is
// tested without depending on the real broker being built.
const fakeBrokerEnv = "CHRONIK_BENCH_FAKE_BROKER"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeBrokerEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		os.Exit(serveFakeBroker(os.Args[1:]))
	case "fail":
		fmt.Fprintln(os.Stderr, "fake broker: refusing to start: disk on fire")
		os.Exit(3)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s mode %q\n", fakeBrokerEnv, os.Getenv(fakeBrokerEnv))
		os.Exit(2)
	}
}

// serveFakeBroker reads chronik's --set listeners/log.dirs flags, serves a
// persisted kfake cluster there until SIGTERM, and exits 0.
func serveFakeBroker(args []string) int {
	var port int
	var dataDir string
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "--set" {
			fmt.Fprintf(os.Stderr, "fake broker: unexpected argument %q\n", args[i])
			return 2
		}
		key, value, _ := strings.Cut(args[i+1], "=")
		switch key {
		case "listeners":
			if _, err := fmt.Sscanf(value, "PLAINTEXT://127.0.0.1:%d", &port); err != nil {
				fmt.Fprintf(os.Stderr, "fake broker: listeners %q: %v\n", value, err)
				return 2
			}
		case "log.dirs":
			dataDir = value
		}
	}
	if _, err := os.Stat(dataDir); err != nil {
		fmt.Fprintf(os.Stderr, "fake broker: log.dirs: %v\n", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dataDir))
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake broker: %v\n", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "fake broker: serving", c.ListenAddrs()[0])
	<-sig
	c.Close()
	fmt.Fprintln(os.Stderr, "fake broker: stopped")
	return 0
}

// fakeChronik is a ChronikTarget that runs this test binary as the broker.
func fakeChronik(t *testing.T, mode string) ChronikTarget {
	t.Helper()
	return ChronikTarget{
		Binary:     os.Args[0],
		DataParent: t.TempDir(),
		Env:        []string{fakeBrokerEnv + "=" + mode},
	}
}
