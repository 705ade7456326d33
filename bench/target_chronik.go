package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ChronikTarget starts the chronik binary as a child process with a fresh
// data directory and a free loopback port, the way an operator would run it.
type ChronikTarget struct {
	// Binary is the path of the chronik executable.
	Binary string
	// Label names the target in reports; default "chronik". Set with
	// Subcommand to run another broker through the same process handling.
	Label string
	// Subcommand, if set, is passed before the flags (chronik-bench's
	// hidden kfake-serve runs kfake as a process this way).
	Subcommand string
	// DataParent is where each run's temporary directory is made; "" means
	// os.TempDir(). Its filesystem decides what the figures mean.
	DataParent string
	// Sets are extra "key=value" settings passed as --set flags.
	Sets []string
	// Env is extra "KEY=value" environment for the process.
	Env []string
	// StartTimeout bounds the wait for the broker to answer (default 30s).
	StartTimeout time.Duration
	// StopTimeout bounds the graceful shutdown after SIGTERM before the
	// process is killed and the stop reported as failed (default 60s).
	StopTimeout time.Duration
	// KeepData leaves the data directory and log behind after a clean stop.
	KeepData bool
}

// Name implements Target.
func (t ChronikTarget) Name() string {
	if t.Label != "" {
		return t.Label
	}
	return "chronik"
}

// Start implements Target.
func (t ChronikTarget) Start(ctx context.Context) (Broker, error) {
	return t.StartProcess(ctx)
}

// StartProcess starts the binary and waits until it answers Kafka requests.
// The concrete type gives scenarios the process id (for /proc figures).
func (t ChronikTarget) StartProcess(ctx context.Context) (*ChronikBroker, error) {
	if t.Binary == "" {
		return nil, errors.New("no chronik binary given")
	}
	bin, err := filepath.Abs(t.Binary)
	if err != nil {
		return nil, fmt.Errorf("chronik binary %s: %w", t.Binary, err)
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("chronik binary: %w (build it with: go build -o bin/chronik ./cmd/chronik)", err)
	}
	port, err := FreeLoopbackPort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(t.DataParent, "chronik-bench-")
	if err != nil {
		return nil, fmt.Errorf("make data directory: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("make data directory: %w", err)
	}
	logPath := filepath.Join(dir, "broker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create broker log: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var args []string
	if t.Subcommand != "" {
		args = append(args, t.Subcommand)
	}
	args = append(args, "--set", "listeners=PLAINTEXT://"+addr, "--set", "log.dirs="+dataDir)
	for _, s := range t.Sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), t.Env...)
	cmd.SysProcAttr = childProcAttr()
	b := &ChronikBroker{
		cmd:         cmd,
		addr:        addr,
		dir:         dir,
		dataDir:     dataDir,
		logPath:     logPath,
		logFile:     logFile,
		exited:      make(chan struct{}),
		stopTimeout: orDefault(t.StopTimeout, 60*time.Second),
		keepData:    t.KeepData,
	}
	// The kernel sends the parent-death signal when the *thread* that
	// started the child exits, and Go destroys a thread whose goroutine
	// ends while locked to it. Starting and waiting on one locked thread
	// keeps that thread alive exactly as long as the broker.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	if err := <-started; err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	startCtx, cancel := context.WithTimeout(ctx, orDefault(t.StartTimeout, 30*time.Second))
	defer cancel()
	if err := waitForKafka(startCtx, addr, b.exited); err != nil {
		stopErr := b.Stop()
		return nil, fmt.Errorf("%s did not start: %w; stop: %v; broker log %s ends:\n%s",
			t.Name(), err, stopErr, logPath, logTail(logPath, 20))
	}
	return b, nil
}

// ChronikBroker is one running chronik process.
type ChronikBroker struct {
	cmd         *exec.Cmd
	addr        string
	dir         string
	dataDir     string
	logPath     string
	logFile     *os.File
	exited      chan struct{}
	waitErr     error // set before exited is closed
	stopTimeout time.Duration
	keepData    bool
	stopTook    time.Duration
}

// Addr implements Broker.
func (b *ChronikBroker) Addr() string { return b.addr }

// PID is the broker's process id.
func (b *ChronikBroker) PID() int { return b.cmd.Process.Pid }

// DataDir is the broker's log.dirs directory.
func (b *ChronikBroker) DataDir() string { return b.dataDir }

// LogPath is the file holding the broker's stdout and stderr.
func (b *ChronikBroker) LogPath() string { return b.logPath }

// StopTook is how long the last Stop waited for the process to exit.
func (b *ChronikBroker) StopTook() time.Duration { return b.stopTook }

// Stop implements Broker: SIGTERM, then wait for a graceful exit. A process
// that must be killed, or exits non-zero, is an error, and its directory is
// kept so the log can be read.
func (b *ChronikBroker) Stop() error {
	start := time.Now()
	err := b.terminate()
	b.stopTook = time.Since(start)
	b.logFile.Close()
	if err != nil {
		return fmt.Errorf("%w; data and log kept in %s; log ends:\n%s", err, b.dir, logTail(b.logPath, 20))
	}
	if !b.keepData {
		if err := os.RemoveAll(b.dir); err != nil {
			return fmt.Errorf("remove broker directory: %w", err)
		}
	}
	return nil
}

func (b *ChronikBroker) terminate() error {
	select {
	case <-b.exited:
		return fmt.Errorf("chronik (pid %d) had already exited: %v", b.PID(), b.waitErr)
	default:
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal chronik (pid %d): %w", b.PID(), err)
	}
	timer := time.NewTimer(b.stopTimeout)
	defer timer.Stop()
	select {
	case <-b.exited:
		if b.waitErr != nil {
			return fmt.Errorf("chronik (pid %d) exited uncleanly after SIGTERM: %w", b.PID(), b.waitErr)
		}
		return nil
	case <-timer.C:
		_ = b.cmd.Process.Kill()
		<-b.exited
		return fmt.Errorf("chronik (pid %d) did not exit within %s of SIGTERM; killed", b.PID(), b.stopTimeout)
	}
}

// logTail returns the last n lines of a file, for error messages.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
