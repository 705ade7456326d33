package config

import (
	"slices"
	"strings"
	"testing"
)

func TestConsumerAssignors(t *testing.T) {
	f := func(v string, want []string, wantErr string) {
		t.Helper()
		c := Defaults()
		err := c.Set("group.consumer.assignors", v)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("Set(%q) = %v, want error containing %q", v, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
		if !slices.Equal(c.GroupConsumerAssignors, want) {
			t.Fatalf("Set(%q) = %q, want %q", v, c.GroupConsumerAssignors, want)
		}
	}
	f("range", []string{"range"}, "")
	f(" range , uniform ", []string{"range", "uniform"}, "")
	f("", nil, "needs at least one assignor")
	f("sticky", nil, `unknown assignor "sticky"`)
	f("range,range", nil, `assignor "range" listed twice`)
}
