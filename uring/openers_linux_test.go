package uring

import (
	"io"
	"log/slog"
	"testing"
)

// openersUnderTest lists pwrite and, where the probe passes, both io_uring
// flavours: a shard's own ring, and the shared opener's pooled rings.
func openersUnderTest(t testing.TB) []namedOpener {
	list := []namedOpener{pwriteUnderTest()}
	p := Probe()
	if !p.Usable {
		t.Logf("io_uring openers left out: %s", p.Reason)
		return list
	}
	return append(list,
		namedOpener{name: "uring-shard", new: func(t testing.TB) ShardOpener {
			o, err := NewShardOpener(newTestUringOpener(t))
			if err != nil {
				t.Fatal(err)
			}
			return o
		}},
		namedOpener{name: "uring-pool", new: func(t testing.TB) ShardOpener {
			return pooledShardOpener{newTestUringOpener(t)}
		}},
	)
}

func newTestUringOpener(t testing.TB) *UringOpener {
	t.Helper()
	o, err := newUringOpener(Probe(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.(*UringOpener).Close() })
	return o.(*UringOpener)
}

// pooledShardOpener tests the files Select's opener hands out directly.
type pooledShardOpener struct{ *UringOpener }

func (pooledShardOpener) NewBatch() *Batch { return &Batch{} }
func (pooledShardOpener) Close() error     { return nil }
