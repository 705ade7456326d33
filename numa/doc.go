// Package numa reads the machine's NUMA topology from sysfs and pins threads
// to CPUs, so that each engine shard's thread runs on one node, and the page
// cache its writes fill is allocated there. Memory is not bound (no mbind):
// buffers filled on other threads may still come from another node.
//
// The topology is limited to the CPUs this process may run on (its affinity
// mask: taskset, cpusets), and a machine without node directories in sysfs
// (non-Linux, some containers) reads as one node holding every allowed CPU.
package numa
