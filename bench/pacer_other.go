//go:build !linux

package bench

import "time"

// sleepPacer uses time.Sleep, whose precision depends on the platform.
type sleepPacer struct{}

func newPacer() pacer { return sleepPacer{} }

func (sleepPacer) sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func (sleepPacer) close() {}
