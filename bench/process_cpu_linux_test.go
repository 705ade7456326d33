//go:build linux

package bench

import "testing"

func TestParseStatCPUTicks(t *testing.T) {
	// The command name may contain spaces and ')' characters.
	line := "4242 (chro nik) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0\n"
	ticks, err := parseStatCPUTicks(line)
	if err != nil || ticks != 325 {
		t.Errorf("parseStatCPUTicks = %d, %v; want 250+75", ticks, err)
	}
	if _, err := parseStatCPUTicks("4242 (short) S 1 2\n"); err == nil {
		t.Error("short stat line parsed without error")
	}
}
