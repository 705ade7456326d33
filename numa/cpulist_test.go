package numa

import (
	"slices"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"\n", nil},
		{"5\n", []int{5}},
		{"0-3", []int{0, 1, 2, 3}},
		{"0-1,8-9,12", []int{0, 1, 8, 9, 12}},
	} {
		got, err := parseCPUList(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a", "1-", "-1", "3-1", "0-2,1", "0,,1", "1-99999999"} {
		if got, err := parseCPUList(bad); err == nil {
			t.Errorf("parseCPUList(%q) = %v, want an error", bad, got)
		}
	}
}
