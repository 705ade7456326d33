//go:build !linux

package uring

// Ring is io_uring's submission and completion queues; Linux only, so
// elsewhere no Ring is ever created and batches run with plain syscalls.
type Ring struct{}

func (*Ring) runBatch(*Batch) bool { return false }
