package uring

import (
	"os"
	"testing"
)

// namedOpener is one File implementation under test, as a shard would get it.
type namedOpener struct {
	name string
	new  func(t testing.TB) ShardOpener
}

func pwriteUnderTest() namedOpener {
	return namedOpener{name: "pwrite", new: func(t testing.TB) ShardOpener {
		o, err := NewShardOpener(PwriteOpener{})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}}
}

// forEachOpener runs f against every File implementation this host offers.
func forEachOpener(t *testing.T, f func(t *testing.T, o ShardOpener)) {
	for _, no := range openersUnderTest(t) {
		t.Run(no.name, func(t *testing.T) {
			o := no.new(t)
			t.Cleanup(func() {
				if err := o.Close(); err != nil {
					t.Error(err)
				}
			})
			f(t, o)
		})
	}
}

// requireURing stops a ring test where the probe found io_uring unusable,
// naming the probe's reason. REQUIRE_URING=1 (CI on a host known to
// have io_uring) turns that into a failure.
func requireURing(t testing.TB) {
	t.Helper()
	p := Probe()
	if p.Usable {
		return
	}
	if os.Getenv("REQUIRE_URING") == "1" {
		t.Fatalf("io_uring required but unusable: %s", p.Reason)
	}
	t.Skipf("io_uring unusable on this host: %s", p.Reason)
}
