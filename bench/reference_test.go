package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestMeasureLoopback(t *testing.T) {
	res, err := MeasureLoopback(context.Background(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.MBPerSec <= 0 || res.WriteSize != 64<<10 || res.RoundTrips < 1 || res.RTT.Samples != res.RoundTrips {
		t.Errorf("result %+v: want a positive stream rate and one RTT sample per round trip", res)
	}
	checkLatencySane(t, res.RTT)
}

func TestMeasureDisk(t *testing.T) {
	dir := t.TempDir()
	res, err := MeasureDisk(context.Background(), DiskConfig{Dir: dir, SeqBytes: 4 << 20, SyncSizes: []int{4096, 65536}, SyncFor: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.SeqWriteMBPerSec <= 0 || res.SeqWriteSyncedMBPerSec <= 0 || res.SeqWriteSyncedMBPerSec > res.SeqWriteMBPerSec || res.FS == "" {
		t.Errorf("sequential figures %+v: want positive, synced not above buffered, and the filesystem named", res)
	}
	if len(res.Synced) != 2 {
		t.Fatalf("synced figures %+v: want one per size", res.Synced)
	}
	for _, s := range res.Synced {
		if s.Writes < 1 || s.Fdatasync.Samples != s.Writes || s.MBPerSec <= 0 {
			t.Errorf("size %d: %+v: want writes, one fdatasync sample each, a rate", s.WriteSize, s)
		}
	}
	if s, ok := res.SyncedAt(65536); !ok || s.WriteSize != 65536 {
		t.Errorf("SyncedAt(65536) = %+v, %t", s, ok)
	}
	// The reference cleans up after itself.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("disk reference left %d entries in %s", len(entries), dir)
	}
}
