package uring

import (
	"errors"
	"fmt"
	"log/slog"
)

// ErrUringUnavailable is returned when wal.io=uring is forced but io_uring
// cannot serve file writes on this host; the error carries the probe's reason.
var ErrUringUnavailable = errors.New("io_uring is not usable here")

// Select picks the file writer for wal.io (auto, uring or pwrite) and logs
// the reason for its choice. uring takes io_uring when the probe passes and
// fails start-up with the probe's reason when it does not. auto takes
// pwrite: buffered writes through the ring are handed to kernel worker
// threads on ext4, so even with a shard turn's writes submitted as one batch
// the two paths measured level (docs/ARCHITECTURE.md, "io_uring"), and a
// shard without a ring needs no OS thread of its own.
//
// A *UringOpener's Open is safe from any goroutine; each shard should call
// NewShardOpener on the result to get its own ring and batch API.
func Select(mode string, log *slog.Logger) (Opener, error) {
	switch mode {
	case "pwrite":
		log.Info("wal.io: pwrite (forced)")
		return PwriteOpener{}, nil
	case "auto", "", "uring":
		return selectWith(mode, Probe(), log)
	}
	return nil, fmt.Errorf("wal.io=%q: want auto, uring or pwrite", mode)
}

func selectWith(mode string, p ProbeResult, log *slog.Logger) (Opener, error) {
	if mode != "uring" {
		log.Info("wal.io: pwrite", "mode", mode, "reason", "auto prefers pwrite for one-call-at-a-time writes", "io_uring_usable", p.Usable, "probe", p.Reason)
		return PwriteOpener{}, nil
	}
	if p.Usable {
		o, err := newUringOpener(p, log)
		if err == nil {
			log.Info("wal.io: uring", "mode", mode, "reason", p.Reason)
			return o, nil
		}
		p.Reason = err.Error()
	}
	if mode == "uring" {
		return nil, fmt.Errorf("wal.io=uring: %w: %s; use wal.io=auto or pwrite", ErrUringUnavailable, p.Reason)
	}
	log.Info("wal.io: pwrite", "mode", mode, "reason", p.Reason, "kernel", p.Kernel, "io_uring_disabled", p.Disabled)
	return PwriteOpener{}, nil
}
