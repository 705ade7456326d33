package uring

import (
	"errors"
	"fmt"
	"log/slog"
)

// ErrUringUnavailable is returned when wal.io=uring is forced but this build
// has no io_uring writer to offer.
var ErrUringUnavailable = errors.New("io_uring writer is not part of this build")

// Select picks the file writer for wal.io (auto, uring or pwrite) and logs
// the reason for its choice.
func Select(mode string, log *slog.Logger) (Opener, error) {
	switch mode {
	case "pwrite":
		log.Info("wal.io: pwrite (forced)")
		return PwriteOpener{}, nil
	case "auto", "":
		log.Info("wal.io: pwrite", "reason", ErrUringUnavailable.Error())
		return PwriteOpener{}, nil
	case "uring":
		return nil, fmt.Errorf("wal.io=uring: %w; use wal.io=auto or pwrite", ErrUringUnavailable)
	}
	return nil, fmt.Errorf("wal.io=%q: want auto, uring or pwrite", mode)
}
