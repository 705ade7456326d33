package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteHelp(t *testing.T) {
	var buf bytes.Buffer
	WriteHelp(&buf)
	out := buf.String()
	if !strings.Contains(out, Usage) {
		t.Fatalf("help lacks the usage line:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "KEY ") {
			header = i
			break
		}
	}
	if header < 0 {
		t.Fatalf("help has no KEY header:\n%s", out)
	}
	// Every key has one row, in table order, whose columns start where the
	// header's do, and that shows its default, unit, dynamic flag and doc.
	columns := []string{"DEFAULT", "UNIT", "DYNAMIC", "MEANING"}
	var starts []int
	for _, col := range columns {
		starts = append(starts, strings.Index(lines[header], col))
	}
	keys := Keys()
	if len(lines) < header+1+len(keys) {
		t.Fatalf("help has %d rows for %d keys", len(lines)-header-1, len(keys))
	}
	for i, k := range keys {
		row := lines[header+1+i]
		if !strings.HasPrefix(row, k.Name+" ") {
			t.Fatalf("row %d is %q, want key %s", i, row, k.Name)
		}
		def := k.Default
		if def == "" {
			def = `""`
		}
		unit := k.Unit
		if unit == "" {
			unit = "-"
		}
		dynamic := "no"
		if k.Dynamic {
			dynamic = "yes"
		}
		for j, want := range []string{def, unit, dynamic, k.Doc} {
			if !strings.HasPrefix(row[starts[j]:], want) || row[starts[j]-1] != ' ' {
				t.Fatalf("row %q: column %s does not start with %q at offset %d", row, columns[j], want, starts[j])
			}
		}
	}
}
