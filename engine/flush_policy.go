package engine

// flushPolicy is log.flush.policy, decided once at start.
type flushPolicy uint8

const (
	flushInterval flushPolicy = iota // Kafka's flush.messages / flush.ms
	flushAlways                      // every acknowledged produce is on disk
	flushNever                       // only segment rolls and shutdown sync
)

func parseFlushPolicy(s string) flushPolicy {
	switch s {
	case "always":
		return flushAlways
	case "never":
		return flushNever
	}
	return flushInterval
}
