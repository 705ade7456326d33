//go:build !linux

package uring

import (
	"errors"
	"log/slog"
)

func newUringOpener(ProbeResult, *slog.Logger) (Opener, error) {
	return nil, errors.New("io_uring exists only on Linux")
}
