package config

import (
	"strings"
	"testing"
	"time"
)

func TestWithDynamicLayers(t *testing.T) {
	c := Defaults()
	if err := c.Set("log.retention.ms", "1000"); err != nil { // static
		t.Fatal(err)
	}
	got, err := c.WithDynamic(
		map[string]string{"log.retention.hours": "2", "log.segment.bytes": "4096"}, // cluster default
		map[string]string{"log.segment.bytes": "8192"},                             // this broker
	)
	if err != nil {
		t.Fatal(err)
	}
	if got.LogRetention != 2*time.Hour || got.LogSegmentBytes != 8192 {
		t.Fatalf("retention %v segment %d; want the default layer's 2h over the static 1s, and the broker's 8192", got.LogRetention, got.LogSegmentBytes)
	}
	if c.LogRetention != time.Second || c.LogSegmentBytes != 1<<30 {
		t.Fatal("WithDynamic changed the static config")
	}
	// Within a layer the finest unit wins whatever the map order.
	for range 20 {
		got, err = c.WithDynamic(map[string]string{"log.retention.hours": "5", "log.retention.minutes": "7", "log.retention.ms": "60000"})
		if err != nil || got.LogRetention != time.Minute {
			t.Fatalf("retention %v (%v); want the ms key's one minute", got.LogRetention, err)
		}
	}
	if _, err := c.WithDynamic(map[string]string{"num.shards": "3"}); err == nil {
		t.Fatal("a static key applied as a dynamic override")
	}
}

func TestCheckDynamic(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"log.retention.ms", "5000", ""},
		{"log.retention.ms", "abc", "log.retention.ms"},
		{"num.shards", "2", "cannot change at runtime"},
		{"log.retenton.ms", "1", "did you mean"},
	} {
		err := CheckDynamic(c.key, c.value)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckDynamic(%s, %s) = %v, want %q", c.key, c.value, err, c.want)
		}
	}
}
