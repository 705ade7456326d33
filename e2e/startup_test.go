package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/internal/syncbuf"
)

// runToExit runs chronik with args and returns its exit code and stderr.
func runToExit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chronikBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chronik %v did not exit: stderr:\n%s", args, stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// lastLine is the line a user reads when start-up fails.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestStartupFailuresExitWithOneClearLine(t *testing.T) {
	f := func(name string, wantInLastLine string, args ...string) {
		t.Helper()
		code, _, stderr := runToExit(t, args...)
		if code == 0 {
			t.Fatalf("%s: exit code 0, want non-zero; stderr:\n%s", name, stderr)
		}
		if got := lastLine(stderr); !strings.Contains(got, wantInLastLine) || !strings.HasPrefix(got, "chronik: ") {
			t.Fatalf("%s: last line %q does not name %q", name, got, wantInLastLine)
		}
	}
	dir := t.TempDir()
	f("unknown key", `unknown key "log.segmnt.bytes"`, "--set", "log.segmnt.bytes=1", "--set", "log.dirs="+dir)
	f("bad value", `log.segment.bytes`, "--set", "log.segment.bytes=abc", "--set", "log.dirs="+dir)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f("port in use", "address already in use", "--set", "listeners=PLAINTEXT://"+busy.Addr().String(), "--set", "log.dirs="+filepath.Join(dir, "a"))
	f("metrics port in use", "metrics.listener "+busy.Addr().String(), "--set", "listeners=PLAINTEXT://"+freeAddr(t),
		"--set", "metrics.listener="+busy.Addr().String(), "--set", "log.dirs="+filepath.Join(dir, "m"))

	file := filepath.Join(dir, "plainfile")
	os.WriteFile(file, []byte("x"), 0o644)
	f("data dir not writable", "data dir", "--set", "listeners=PLAINTEXT://"+freeAddr(t), "--set", "log.dirs="+filepath.Join(file, "data"))
}

func TestStartupCorruptMetadata(t *testing.T) {
	bp := startBinary(t)
	createTopic(t, bp.addr, "meta-corrupt", 2)
	bp.stop()
	// Damage the first metadata log segment in the middle, not at its tail.
	segs, _ := filepath.Glob(filepath.Join(bp.dataDir, "__raft_metadata", "*.wal"))
	if len(segs) == 0 {
		t.Fatal("no metadata log segment found")
	}
	raw, err := os.ReadFile(segs[0])
	if err != nil || len(raw) < 64 {
		t.Fatalf("metadata segment: %v (%d bytes)", err, len(raw))
	}
	for i := 8; i < 24; i++ {
		raw[i] ^= 0x5a
	}
	os.WriteFile(segs[0], raw, 0o644)
	code, _, stderr := runToExit(t, bp.args...)
	if code == 0 {
		t.Fatalf("started on corrupt metadata; stderr:\n%s", stderr)
	}
	if got := lastLine(stderr); !strings.HasPrefix(got, "chronik: metadata") || !strings.Contains(got, filepath.Base(segs[0])) {
		t.Fatalf("last line %q should name the metadata file", got)
	}
}

func TestHelpConfigListsKeys(t *testing.T) {
	code, stdout, _ := runToExit(t, "--help-config")
	if code != 0 {
		t.Fatalf("--help-config exit %d", code)
	}
	for _, k := range []string{"listeners", "advertised.listeners", "log.dirs", "node.id", "num.partitions", "auto.create.topics.enable",
		"log.segment.bytes", "log.retention.ms", "log.retention.bytes", "message.max.bytes", "socket.request.max.bytes", "num.shards", "wal.io"} {
		if !strings.Contains(stdout, k) {
			t.Errorf("--help-config does not list %s", k)
		}
	}
}

func TestEnvironmentConfig(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(chronikBin)
	cmd.Env = append(os.Environ(), "CHRONIK_LOG_DIRS="+dir, "CHRONIK_LISTENERS=PLAINTEXT://"+addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker configured by environment did not listen on %s: %s", addr, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "__raft_metadata")); err != nil {
		t.Fatalf("CHRONIK_LOG_DIRS not used: %v", err)
	}
}

// A SIGTERM that comes as soon as the port accepts, before the start is
// done (a supervisor that stops the broker it just saw listening), is a
// clean shutdown, not a kill: the broker was killed by it before.
func TestSigtermDuringStartIsACleanShutdown(t *testing.T) {
	bp := startBinary(t)
	createTopic(t, bp.addr, "early", 3)
	bp.stop()
	for i := range 5 {
		bp.stderr = new(syncbuf.Buffer)
		bp.cmd = exec.Command(chronikBin, bp.args...)
		bp.cmd.Stderr = bp.stderr
		if err := bp.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		bp.exited = make(chan error, 1)
		go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(bp.cmd, bp.exited)
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", bp.addr, 50*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("start %d: no listener within 20s; stderr:\n%s", i, bp.stderr)
			}
			time.Sleep(time.Millisecond)
		}
		bp.stop() // SIGTERM at once; fails the test unless the exit is clean
	}
}
