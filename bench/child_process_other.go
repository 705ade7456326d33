//go:build !linux

package bench

import "syscall"

// childProcAttr has no parent-death signal outside Linux; an interrupted
// benchmark may leave the broker running there.
func childProcAttr() *syscall.SysProcAttr {
	return nil
}
