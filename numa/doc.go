// Package numa reads the machine's NUMA topology from sysfs and pins threads
// to CPUs, so that each engine shard runs on one node: its thread, the page
// cache pages its writes fill and the memory it touches stay on that node
// instead of crossing the interconnect on every append.
//
// The topology is limited to the CPUs this process may run on (its affinity
// mask: taskset, cpusets), and a machine without node directories in sysfs
// (non-Linux, some containers) reads as one node holding every allowed CPU.
package numa
