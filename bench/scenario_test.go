package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// namedTarget relabels a kfake target, so a comparison of two kfakes has
// two distinct rows.
type namedTarget struct {
	KfakeTarget
	name string
}

func (n namedTarget) Name() string { return n.name }

func TestRunCompareAlternatesTargets(t *testing.T) {
	info := NewRunInfo([]string{"chronik-bench", "compare", "--runs", "2"}, t.TempDir())
	var log bytes.Buffer
	rep, err := RunCompare(context.Background(), CompareConfig{
		Targets: []Target{namedTarget{name: "left"}, namedTarget{name: "right"}},
		Runs:    2,
		Produce: ProduceConfig{Records: 1000, Warmup: 100, Partitions: 2, RecordSize: 100},
		Log:     &log,
	}, info)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rep.Runs {
		order = append(order, r.Target)
		if runtime.GOOS == "linux" && (r.BenchCPUSec <= 0 || r.BrokerCPUSec != 0) {
			t.Errorf("run %d on %s: bench CPU %v s, broker CPU %v s; want bench CPU counted and no broker process", r.Run, r.Target, r.BenchCPUSec, r.BrokerCPUSec)
		}
		if r.Result.Records != 1000 {
			t.Errorf("run %d on %s: %d records, want 1000", r.Run, r.Target, r.Result.Records)
		}
	}
	if got := strings.Join(order, ","); got != "left,right,left,right" {
		t.Errorf("run order %s, want targets alternating", got)
	}
	if len(rep.Targets) != 2 || rep.Targets[0].RecordsPerSec.N != 2 || rep.Ratio == nil || rep.Ratio.Of != "left/right" || rep.Ratio.RecordsPerSec <= 0 {
		t.Fatalf("summary %+v ratio %+v: want two targets of two runs and a left/right ratio", rep.Targets, rep.Ratio)
	}
	if n := strings.Count(log.String(), "\n"); n != 4 {
		t.Errorf("log has %d lines, want one per run:\n%s", n, log.String())
	}

	var text bytes.Buffer
	WriteCompareText(&text, rep)
	for _, want := range []string{"command:  chronik-bench compare --runs 2", "machine:  ", "date:     ", "1000 records x 100 B", "ratio left/right of medians"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var decoded CompareReport
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Command != rep.Command || len(decoded.Runs) != 4 || decoded.Ratio.RecordsPerSec != rep.Ratio.RecordsPerSec {
		t.Errorf("JSON round trip lost fields: %s", b)
	}
}

func TestRunCompareKeepsRunsBeforeAFailure(t *testing.T) {
	failing := ChronikTarget{Binary: filepath.Join(t.TempDir(), "no-such-chronik")}
	rep, err := RunCompare(context.Background(), CompareConfig{
		Targets: []Target{namedTarget{name: "first"}, failing},
		Runs:    2,
		Produce: ProduceConfig{Records: 200, Partitions: 1},
	}, RunInfo{})
	if err == nil || !strings.Contains(err.Error(), "run 1 against chronik") {
		t.Fatalf("err = %v, want run 1 against chronik to fail", err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Target != "first" || rep.Error == "" || rep.Ratio != nil {
		t.Errorf("report %+v: want the one completed run, the error and no ratio", rep)
	}
	var text bytes.Buffer
	WriteCompareText(&text, rep)
	if !strings.Contains(text.String(), "FAILED: run 1 against chronik") {
		t.Errorf("text report does not show the failure:\n%s", text.String())
	}
}

func TestChronikTargetLifecycle(t *testing.T) {
	target := fakeChronik(t, "serve")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := target.StartProcess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadProcessStatus(b.PID())
	if err != nil {
		t.Fatal(err)
	}
	if st.VmRSSKiB <= 0 || st.Threads < 1 || st.OpenFDs < 3 {
		t.Errorf("process status %+v: want positive RSS, threads and open files", st)
	}
	res, err := RunProduce(ctx, ProduceConfig{Brokers: []string{b.Addr()}, Records: 500, Warmup: 50, Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 500 {
		t.Errorf("produced %d records, want 500", res.Records)
	}
	if runtime.GOOS == "linux" {
		if cpu, err := ProcessCPUTime(b.PID()); err != nil || cpu <= 0 {
			t.Errorf("broker CPU time %v, %v: want a positive figure after serving a produce run", cpu, err)
		}
	}
	dir := filepath.Dir(b.DataDir())
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s still there after a clean stop (stat: %v)", dir, err)
	}
	if _, err := ReadProcessStatus(b.PID()); err == nil {
		t.Errorf("process %d still alive after Stop", b.PID())
	}
}

func TestChronikTargetStartFailureShowsLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := fakeChronik(t, "fail").Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want an early exit with the broker's log line", err)
	}
}

func TestRunTopicsOnProcess(t *testing.T) {
	rep, err := RunTopics(context.Background(), TopicsConfig{Target: fakeChronik(t, "serve"), Runs: 2, Partitions: []int32{1, 10}}, RunInfo{Command: "chronik-bench topics"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sizes) != 2 || rep.Sizes[1].Partitions != 10 {
		t.Fatalf("sizes %+v, want 1 and 10 partitions", rep.Sizes)
	}
	for _, s := range rep.Sizes {
		if len(s.CreateMs) != 2 || len(s.ReadyMs) != 2 || s.CreateSpread.N != 2 {
			t.Errorf("%d partitions: %d/%d samples, want 2 each", s.Partitions, len(s.CreateMs), len(s.ReadyMs))
		}
		for i := range s.CreateMs {
			if s.CreateMs[i] <= 0 || s.ReadyMs[i] < s.CreateMs[i] {
				t.Errorf("%d partitions run %d: create %v ms, ready %v ms; want 0 < create <= ready", s.Partitions, i+1, s.CreateMs[i], s.ReadyMs[i])
			}
		}
	}
	var text bytes.Buffer
	WriteTopicsText(&text, rep)
	if !strings.Contains(text.String(), "CreateTopics ms median") || !strings.Contains(text.String(), "command:  chronik-bench topics") {
		t.Errorf("text report:\n%s", text.String())
	}
}

func TestRunTopicsOnKfake(t *testing.T) {
	rep, err := RunTopics(context.Background(), TopicsConfig{Target: KfakeTarget{}, Runs: 1}, RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sizes) != 2 || rep.Sizes[0].Partitions != 1 || rep.Sizes[1].Partitions != 100 || len(rep.Sizes[1].CreateMs) != 1 {
		t.Errorf("sizes %+v: want the default 1 and 100 partitions, one sample each", rep.Sizes)
	}
}

func TestRunIdleRSSOnProcess(t *testing.T) {
	rep, err := RunIdleRSS(context.Background(), IdleRSSConfig{
		Target: fakeChronik(t, "serve"), Topics: 4, Partitions: 3, Settle: 10 * time.Millisecond,
	}, RunInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AtStart.VmRSSKiB <= 0 || rep.Idle.VmRSSKiB <= 0 || rep.IdleVmRSSMiB != float64(rep.Idle.VmRSSKiB)/1024 {
		t.Errorf("RSS at start %d KiB, idle %d KiB (%v MiB): want positive and consistent", rep.AtStart.VmRSSKiB, rep.Idle.VmRSSKiB, rep.IdleVmRSSMiB)
	}
	// The stand-in broker persists every partition, so files exist.
	if rep.DataDirFiles < 12 || rep.DataDirBytes <= 0 {
		t.Errorf("data dir %d files, %d bytes: want at least one file per partition", rep.DataDirFiles, rep.DataDirBytes)
	}
	if rep.StopSec <= 0 || rep.RecordsPerPartition != 3 {
		t.Errorf("stop %v s, %d records per partition: want a timed stop and the default 3", rep.StopSec, rep.RecordsPerPartition)
	}
	var text bytes.Buffer
	WriteIdleRSSText(&text, rep)
	if !strings.Contains(text.String(), "4 topics x 3 partitions") || !strings.Contains(text.String(), "VmRSS MiB") {
		t.Errorf("text report:\n%s", text.String())
	}
}

func TestKfakeTargetPersists(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pb, err := KfakeTarget{PersistParent: parent}.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunProduce(ctx, ProduceConfig{Brokers: []string{pb.Addr()}, Records: 300, Partitions: 2}, nil); err != nil {
		t.Fatal(err)
	}
	files, bytes, err := directoryUsage(parent)
	if err != nil || files == 0 || bytes < 300*DefaultRecordSize {
		t.Errorf("persisted kfake holds %d files, %d bytes (%v); want the records on disk", files, bytes, err)
	}
	if err := pb.Stop(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("kfake data directory left behind: %v", entries)
	}
}

func TestServeKfakeRejectsUnknownSettings(t *testing.T) {
	f := func(args []string, want string) {
		t.Helper()
		err := ServeKfake(context.Background(), args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ServeKfake(%q) = %v, want an error mentioning %q", args, err, want)
		}
	}
	f([]string{"--set", "num.shards=4"}, `unknown setting "num.shards"`)
	f([]string{"--set", "listeners=PLAINTEXT://0.0.0.0:9092"}, "want PLAINTEXT://127.0.0.1:PORT")
	f([]string{"--set", "listeners=PLAINTEXT://127.0.0.1:1", "--set", "kfake.persist=true"}, "needs log.dirs")
	f([]string{"listeners=x"}, "want --set key=value")
}
