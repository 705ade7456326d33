package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// buildDumpLog builds chronik-dump-log for a test.
func buildDumpLog(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chronik-dump-log")
	build := exec.Command("go", "build", "-o", bin, "../tools/chronik-dump-log")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build chronik-dump-log: %v\n%s", err, out)
	}
	return bin
}

// dumpLog runs chronik-dump-log with args and returns its output and
// whether it exited 0 (its error output follows the output when not).
func dumpLog(t *testing.T, bin string, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	exit, isExit := err.(*exec.ExitError)
	if err != nil && !isExit {
		t.Fatal(err)
	}
	if err != nil {
		out = append(out, exit.Stderr...)
	}
	return string(out), err == nil
}

// mustMatch fails unless out has a line matching each pattern.
func mustMatch(t *testing.T, what, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(out) {
			t.Errorf("%s: no line matches %q in:\n%s", what, p, out[:min(len(out), 4000)])
		}
	}
}

// chronik-dump-log reads what the broker wrote, as kafka-dump-log.sh would:
// batches of a compressed producer with keys and headers, a committed and
// an aborted transaction with their markers, a group's offset commits in
// __consumer_offsets and the transaction coordinator's records; and it
// reports a corrupt batch and a torn tail, exiting 1.
func TestDumpLogReadsWhatTheBrokerWrote(t *testing.T) {
	bp := startBinary(t, "offsets.topic.num.partitions=1", "transaction.state.log.num.partitions=1", "log.index.interval.bytes=256")
	// Small segments: a sealed one has its index files written.
	createTopicWith(t, bp.addr, "dump", 1, map[string]*string{"segment.bytes": kadm.StringPtr("1024")})
	bin := buildDumpLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	gz, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("dump"), kgo.ProducerBatchCompression(kgo.GzipCompression()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	var recs []*kgo.Record // one batch, which compresses well
	for i := range 20 {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "value-%d-%s", i, strings.Repeat("x", 40)),
			Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("1")}}})
	}
	if err := gz.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tx, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("dump"), kgo.TransactionalID("dump-tx"), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, commit := range []bool{true, false} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := tx.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "txn-%t", commit)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	group, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.ConsumerGroup("dump-group"), kgo.ConsumeTopics("dump"),
		kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 22; { // read_uncommitted: 20, and both transactions' records
		fs := group.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d records: %v", n, err)
		}
		n += fs.NumRecords()
	}
	if err := group.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	group.Close()
	// A batch too large for the first segment rolls it: sealed, it has its
	// index files.
	plain, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("dump"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 1000)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	bp.stop()

	out, ok := dumpLog(t, bin, "--print-data-log", filepath.Join(bp.dataDir, "dump-0"))
	if !ok {
		t.Fatalf("chronik-dump-log failed on a healthy partition:\n%s", out)
	}
	mustMatch(t, "dump-0", out,
		`^Dumping .*dump-0/00000000000000000000\.log$`,
		`^Log starting offset: 0$`,
		`^baseOffset: 0 lastOffset: 19 count: 20 baseSequence: 0 lastSequence: 19 producerId: \d+ producerEpoch: 0 .*isTransactional: false isControl: false .*compresscodec: gzip crc: \d+ isvalid: true$`,
		`^\| offset: 19 CreateTime: \d+ keySize: 3 valueSize: 49 sequence: 19 headerKeys: \[trace\] key: k19 payload: value-19-x+$`,
		`^baseOffset: 20 .*isTransactional: true isControl: false .*isvalid: true$`,
		`^\| offset: 20 .* payload: txn-true$`,
		`^\| offset: 21 .*endTxnMarker: COMMIT coordinatorEpoch: 0$`,
		`^\| offset: 22 .* payload: txn-false$`,
		`^\| offset: 23 .*endTxnMarker: ABORT coordinatorEpoch: 0$`,
		`^Dumping .*dump-0/00000000000000000000\.index$`,
		`^offset: \d+ position: \d+$`,
		`^Dumping .*dump-0/00000000000000000000\.timeindex$`,
		`^timestamp: \d+ offset: \d+$`,
	)
	out, ok = dumpLog(t, bin, "--offsets-decoder", filepath.Join(bp.dataDir, "__consumer_offsets-0"))
	if !ok {
		t.Fatalf("chronik-dump-log failed on __consumer_offsets:\n%s", out)
	}
	mustMatch(t, "__consumer_offsets-0", out,
		`key: group_metadata group=dump-group payload: protocolType=consumer protocol=\S+ generation=1 members=\[\S+\]$`,
		`key: offset_commit group=dump-group topic=dump partition=0 payload: offset=23 `)
	out, ok = dumpLog(t, bin, "--transaction-log-decoder", filepath.Join(bp.dataDir, "__transaction_state-0"))
	if !ok {
		t.Fatalf("chronik-dump-log failed on __transaction_state:\n%s", out)
	}
	mustMatch(t, "__transaction_state-0", out,
		`key: transactional_id=dump-tx payload: producerId=\d+ producerEpoch=0 state=Ongoing partitions=\[dump-0\] `,
		`key: transactional_id=dump-tx payload: producerId=\d+ producerEpoch=0 state=CompleteAbort partitions=\[\] `)

	// A flipped byte in the first batch's records, and a torn tail.
	seg := filepath.Join(bp.dataDir, "dump-0", "00000000000000000000.log")
	raw, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "00000000000000000000.log")
	bad := append([]byte(nil), raw...)
	bad[70] ^= 0xff
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok = dumpLog(t, bin, corrupt)
	if ok {
		t.Fatal("chronik-dump-log exited 0 on a corrupt batch")
	}
	mustMatch(t, "corrupt", out, `^baseOffset: 0 .* isvalid: false$`)
	if err := os.WriteFile(corrupt, raw[:len(raw)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok = dumpLog(t, bin, corrupt)
	if ok {
		t.Fatal("chronik-dump-log exited 0 on a torn tail")
	}
	mustMatch(t, "torn", out, `^baseOffset: 22 .*isvalid: true$`, `^Found invalid bytes at position \d+ of .* cut short`)
}

// chronik-dump-log reads the write-ahead log a killed broker left: the
// entries of the file's generation, each item's partition and batch, as
// the next start replays them.
func TestDumpLogReadsTheWriteAheadLog(t *testing.T) {
	bp := startBinary(t, "log.flush.policy=always", "num.shards=1", "log.flush.wal.min.partitions=1")
	createTopic(t, bp.addr, "walled", 2)
	bin := buildDumpLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("walled"), kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// A shard picks its write-ahead log for the next 64 turns from the
	// last 64: enough produces for the later ones to go through it.
	for i := range 200 {
		r := &kgo.Record{Partition: int32(i % 2), Value: fmt.Appendf(nil, "wal-%03d", i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	bp.kill()
	out, ok := dumpLog(t, bin, "--print-data-log", filepath.Join(bp.dataDir, "__wal"))
	if !ok {
		t.Fatalf("chronik-dump-log failed on the write-ahead log:\n%s", out)
	}
	mustMatch(t, "__wal", out,
		`^Write-ahead log of shard 0, generation \d+$`,
		`^entry position: 0 generation: \d+ size: \d+ items: \d+ current$`,
		`^\| topic: walled partition: 1 topicId: [0-9a-f]{32} baseOffset: 99 lastOffset: 99 count: 1 .*isvalid: true$`,
		`^\| offset: 99 CreateTime: \d+ keySize: -1 valueSize: 7 sequence: 99 headerKeys: \[\] payload: wal-199$`,
	)
}
