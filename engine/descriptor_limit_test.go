package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The start and each change of the partition count warn when the
// partitions may need more descriptors than the open-file limit, once per
// count past the last warned, and say nothing under it.
func TestDescriptorLimitWarning(t *testing.T) {
	limit := uint64(4000)
	old := descriptorLimit
	descriptorLimit = func() (uint64, bool) { return limit, true }
	t.Cleanup(func() { descriptorLimit = old })
	var logs bytes.Buffer
	b := &Broker{log: slog.New(slog.NewTextHandler(&logs, nil))}
	warnings := func() int { return strings.Count(logs.String(), "open-file limit may be too low") }

	b.checkDescriptorLimit(100) // 1,324 of 4,000
	if n := warnings(); n != 0 {
		t.Fatalf("%d warnings for 100 partitions under a limit of %d:\n%s", n, limit, &logs)
	}
	b.checkDescriptorLimit(1500) // 5,524
	if n := warnings(); n != 1 || !strings.Contains(logs.String(), "partitions=1500") {
		t.Fatalf("want one warning naming 1500 partitions:\n%s", &logs)
	}
	b.checkDescriptorLimit(1500)
	b.checkDescriptorLimit(1200)
	if n := warnings(); n != 1 {
		t.Fatalf("warned again without more partitions:\n%s", &logs)
	}
	b.checkDescriptorLimit(2000)
	if n := warnings(); n != 2 {
		t.Fatalf("no warning for more partitions still:\n%s", &logs)
	}
	limit = 1 << 20
	b.checkDescriptorLimit(5000)
	if n := warnings(); n != 2 {
		t.Fatalf("warned under a limit of %d:\n%s", limit, &logs)
	}
}
