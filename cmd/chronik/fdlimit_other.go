//go:build !linux

package main

import "log/slog"

// raiseFileLimit is Linux-only; elsewhere the OS default stands.
func raiseFileLimit(*slog.Logger) {}
