package engine

import "testing"

func TestSyncfsReportsErrorsFromLinux58(t *testing.T) {
	for release, want := range map[string]bool{
		"6.18.44-fc-v782":          true,
		"5.8.0":                    true,
		"5.8-rc1":                  true,
		"5.10.0-32-amd64":          true,
		"5.7.19":                   false,
		"4.18.0-553.el8_10.x86_64": false,
		"3.10.0-1160.el7.x86_64":   false,
		"":                         false,
		"unknown":                  false,
	} {
		if got := syncfsReportsErrors(release); got != want {
			t.Errorf("syncfsReportsErrors(%q) = %v, want %v", release, got, want)
		}
	}
}
