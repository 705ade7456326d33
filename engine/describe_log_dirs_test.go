package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeLogDirs lists the data directory with the size of every hosted
// partition (what a fetch from the start returns, byte for byte), only the
// partitions asked for when a topic set is given, and the filesystem's size.
func TestDescribeLogDirs(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "dirs-a", 3)
	createTestTopic(t, tb, "dirs-b", 1)
	cl := fetchClient(tb)
	for range 3 {
		produceRaw(t, cl, "dirs-a", 0, 11, rawBatch(4, -1, -1, -1))
	}
	produceRaw(t, cl, "dirs-a", 1, 11, rawBatch(2, -1, -1, -1))
	stored := func(topic string, p int32) int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := fetchReq(topic, p, 0, 1, 0, 1<<20).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(resp.Topics[0].Partitions[0].RecordBatches))
	}

	adm := tb.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dirs := all[1]
	abs, _ := filepath.Abs(tb.dir)
	if len(dirs) != 1 {
		t.Fatalf("log dirs %v, want one", dirs)
	}
	d, ok := dirs[abs]
	if !ok || d.Err != nil {
		t.Fatalf("log dirs %v, want %s without error", dirs, abs)
	}
	if d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes {
		t.Fatalf("total %d, usable %d bytes: want 0 < usable <= total", d.TotalBytes, d.UsableBytes)
	}
	for _, c := range []struct {
		topic string
		p     int32
	}{{"dirs-a", 0}, {"dirs-a", 1}, {"dirs-a", 2}, {"dirs-b", 0}} {
		got, ok := d.Topics.Lookup(c.topic, c.p)
		if !ok {
			t.Fatalf("%s/%d not listed", c.topic, c.p)
		}
		if want := stored(c.topic, c.p); got.Size != want || got.OffsetLag != 0 || got.IsFuture {
			t.Fatalf("%s/%d: size %d, lag %d, future %v; want %d bytes as fetched, lag 0, not future",
				c.topic, c.p, got.Size, got.OffsetLag, got.IsFuture, want)
		}
	}
	if p0, _ := d.Topics.Lookup("dirs-a", 0); p0.Size == 0 {
		t.Fatal("a written partition has size 0")
	}

	// Straight to the broker: the client's own sharding would refuse the
	// unknown topic and partition before asking.
	req := kmsg.NewPtrDescribeLogDirsRequest()
	for topic, parts := range map[string][]int32{"dirs-a": {0, 7, 0}, "no-such-topic": {0}} {
		rt := kmsg.NewDescribeLogDirsRequestTopic()
		rt.Topic, rt.Partitions = topic, parts
		req.Topics = append(req.Topics, rt)
	}
	kresp, err := cl.Broker(1).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp.(*kmsg.DescribeLogDirsResponse)
	if resp.ErrorCode != 0 || len(resp.Dirs) != 1 || resp.Dirs[0].Dir != abs {
		t.Fatalf("asked for some partitions: error %d, dirs %+v; want the data dir", resp.ErrorCode, resp.Dirs)
	}
	topics := resp.Dirs[0].Topics
	if len(topics) != 1 || topics[0].Topic != "dirs-a" || len(topics[0].Partitions) != 1 || topics[0].Partitions[0].Partition != 0 {
		t.Fatalf("asked for dirs-a/0 (twice), dirs-a/7 and an unknown topic: got %+v, want dirs-a/0 alone", topics)
	}
	if got, want := topics[0].Partitions[0].Size, stored("dirs-a", 0); got != want {
		t.Fatalf("dirs-a/0 size %d, want %d", got, want)
	}
}
