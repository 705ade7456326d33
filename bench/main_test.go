package bench

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
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

// serveFakeBroker serves kfake with chronik's flags until SIGTERM, exit 0.
func serveFakeBroker(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := ServeKfake(ctx, append(args, "--set", "kfake.persist=true"), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
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

// checkFor polls f until it returns nil, failing the test with f's last
// error once wait has passed.
func checkFor(t *testing.T, wait time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
