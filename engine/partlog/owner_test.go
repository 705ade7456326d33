package partlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOwnerFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	opts := testOptions(nil)
	opts.Owner = []byte("topic A\n")
	l := mustOpen(t, dir, opts, false)
	mustAppend(t, l, simpleBatch(t, 1, 1, 10))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, OwnerFileName)); err != nil || string(got) != "topic A\n" {
		t.Fatalf("owner file after the first append: %q, %v", got, err)
	}
	// The same owner opens it; another gets ErrOtherOwner, crashed or clean.
	l = mustOpen(t, dir, opts, false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	other := opts
	other.Owner = []byte("topic B\n")
	for _, clean := range []bool{false, true} {
		if _, err := Open(dir, other, clean); !errors.Is(err, ErrOtherOwner) {
			t.Fatalf("open(clean=%v) by another owner: %v", clean, err)
		}
	}
	// A directory without the file (an older build's) is adopted.
	if err := os.Remove(filepath.Join(dir, OwnerFileName)); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, other, false)
	if l.NextOffset() != 1 {
		t.Fatalf("adopted log ends at %d", l.NextOffset())
	}
	l.Close()
	if got, _ := os.ReadFile(filepath.Join(dir, OwnerFileName)); string(got) != "topic B\n" {
		t.Fatalf("owner file after adoption: %q", got)
	}
}
