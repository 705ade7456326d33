package netpoll

import (
	"fmt"
	"log/slog"
)

// gnetLogger routes gnet's printf-style logging into slog. gnet's Info lines
// (engine start banners) are internal detail, so they go to Debug.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(format string, args ...any) {
	g.l.Debug(fmt.Sprintf(format, args...), "component", "gnet")
}
func (g gnetLogger) Infof(format string, args ...any) {
	g.l.Debug(fmt.Sprintf(format, args...), "component", "gnet")
}
func (g gnetLogger) Warnf(format string, args ...any) {
	g.l.Warn(fmt.Sprintf(format, args...), "component", "gnet")
}
func (g gnetLogger) Errorf(format string, args ...any) {
	g.l.Error(fmt.Sprintf(format, args...), "component", "gnet")
}

// Fatalf logs at Error: a library does not get to exit the broker.
func (g gnetLogger) Fatalf(format string, args ...any) {
	g.l.Error(fmt.Sprintf(format, args...), "component", "gnet")
}
