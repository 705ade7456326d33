// Package e2e drives the real chronik binary with real Kafka clients.
package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chronik-go/chronik/internal/syncbuf"
)

// chronikBin is the broker binary built once for the package's tests.
var chronikBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chronik-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chronikBin = filepath.Join(dir, "chronik")
	build := exec.Command("go", "build", "-o", chronikBin, "../cmd/chronik")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build chronik:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// brokerProc is one running chronik process.
type brokerProc struct {
	t       testing.TB
	dataDir string
	addr    string
	args    []string
	cmd     *exec.Cmd
	stderr  *syncbuf.Buffer
	exited  chan error // receives the process's exit once
}

// startBinary starts chronik on a free loopback port with a fresh data dir.
func startBinary(t *testing.T, sets ...string) *brokerProc { return startBinaryB(t, sets...) }

// startBinaryB is startBinary for tests and benchmarks alike.
func startBinaryB(t testing.TB, sets ...string) *brokerProc {
	t.Helper()
	return startBinaryListener(t, "PLAINTEXT", sets...)
}

// startBinaryListener starts the binary with a listener of the given
// security protocol (PLAINTEXT or SSL) on a free port.
func startBinaryListener(t testing.TB, protocol string, sets ...string) *brokerProc {
	t.Helper()
	bp := &brokerProc{t: t, dataDir: t.TempDir(), addr: freeAddr(t)}
	bp.args = []string{"--set", "listeners=" + protocol + "://" + bp.addr, "--set", "log.dirs=" + bp.dataDir}
	for _, s := range sets {
		bp.args = append(bp.args, "--set", s)
	}
	return bp.launch()
}

// launch starts the binary with bp's arguments, waits for bp.addr to
// accept, and kills it when the test ends.
func (bp *brokerProc) launch() *brokerProc {
	bp.t.Helper()
	bp.start()
	bp.t.Cleanup(func() {
		if bp.cmd != nil {
			bp.cmd.Process.Kill()
			<-bp.exited
		}
	})
	return bp
}

func (bp *brokerProc) start() {
	bp.t.Helper()
	bp.stderr = new(syncbuf.Buffer)
	bp.cmd = exec.Command(chronikBin, bp.args...)
	bp.cmd.Stderr = bp.stderr
	if err := bp.cmd.Start(); err != nil {
		bp.t.Fatalf("start chronik: %v", err)
	}
	bp.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(bp.cmd, bp.exited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", bp.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-bp.exited:
			bp.t.Fatalf("chronik exited during start-up (%v); stderr:\n%s", err, bp.stderr)
		default:
		}
		if time.Now().After(deadline) {
			bp.t.Fatalf("chronik did not listen on %s within 20s; stderr:\n%s", bp.addr, bp.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit within the grace period.
func (bp *brokerProc) stop() {
	bp.t.Helper()
	if err := bp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		bp.t.Fatalf("signal: %v; stderr:\n%s", err, bp.stderr)
	}
	select {
	case err := <-bp.exited:
		bp.cmd = nil // its exit is taken: the cleanup must not wait for it again
		if err != nil {
			bp.t.Fatalf("chronik exited with %v; stderr:\n%s", err, bp.stderr)
		}
	case <-time.After(20 * time.Second):
		bp.cmd.Process.Kill()
		<-bp.exited
		bp.cmd = nil
		bp.t.Fatalf("chronik did not exit within 20s of SIGTERM; stderr:\n%s", bp.stderr)
	}
}

// kill stops the broker with SIGKILL, as a crash would.
func (bp *brokerProc) kill() {
	bp.t.Helper()
	bp.cmd.Process.Kill()
	<-bp.exited
	bp.cmd = nil
}

// restart stops the broker gracefully and starts it again on the same data.
func (bp *brokerProc) restart() {
	bp.t.Helper()
	bp.stop()
	bp.start()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
