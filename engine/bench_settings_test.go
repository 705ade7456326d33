package engine

import (
	"os"
	"strings"
	"testing"
)

// benchSettingsEnv names broker settings the in-process benchmarks add after
// their own, as comma-separated key=value pairs, e.g.
// CHRONIK_BENCH_SET=log.flush.wal.checkpoint.bytes=16777216. A trade is then
// measured with the committed benchmark instead of a patched copy.
const benchSettingsEnv = "CHRONIK_BENCH_SET"

// benchSettings returns settings followed by those of benchSettingsEnv, so
// that the environment's win.
func benchSettings(b *testing.B, settings ...string) []string {
	extra := os.Getenv(benchSettingsEnv)
	if extra == "" {
		return settings
	}
	b.Logf("%s adds %s", benchSettingsEnv, extra)
	return append(settings, strings.Split(extra, ",")...)
}
