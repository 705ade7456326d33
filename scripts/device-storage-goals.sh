#!/usr/bin/env bash
# The storage goals of issue 4 that a 2-core VM cannot settle, for a short
# lent many-core host (BENCHMARKS.md, "Storage goals on a 16-core host"):
# flush=never against raw page-cache writes with segment blocks reserved
# ahead (log.preallocate) off and on, and the fsynced append p99 against raw
# fdatasync in steady state with the light-load WAL rule on (default) and off.
# Settings alternate inside each round; every command is bounded in time.
#
# Build the test binary here (the host may have no Go toolchain), then run
# this script there with the binary beside it:
#   CGO_ENABLED=0 go test -c -ldflags="-s -w" -o .scratch/dev/engine.test ./engine
#   bash scripts/device-storage-goals.sh .scratch/dev/engine.test [rounds]
# Raw output goes to $OUT (or ./device-out), one file per run, and a summary
# of the goal metrics to summary.txt there.
set -u
bin=$(realpath "${1:?usage: device-storage-goals.sh ENGINE_TEST_BINARY [ROUNDS]}")
rounds=${2:-3}
out=${OUT:-./device-out}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

{ nproc; uname -r; df -hT . | tail -1; } >"$out/host.txt"

run() { # name, timeout seconds, env..., then -- and the benchmark args
	local name=$1 limit=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	sync
	env "${envs[@]}" timeout "$limit" "$bin" -test.run '^$' "$@" >"$out/$name.txt" 2>&1
	echo "$name rc=$?" >>"$out/summary.txt"
	grep -E '^Benchmark' "$out/$name.txt" | sed "s/^/$name: /" >>"$out/summary.txt"
}

for r in $(seq 1 "$rounds"); do
	for pre in false true; do
		run "never-preallocate-$pre-$r" 120 CHRONIK_BENCH_SET=log.preallocate=$pre -- \
			-test.bench 'AppendAgainstRawDisk/flush=never' -test.benchtime 512x
	done
	for light in 33554432 0; do
		run "fsync-light-$light-$r" 120 CHRONIK_BENCH_WARMUP=12000 \
			CHRONIK_BENCH_SET=log.flush.wal.light.bytes.per.second=$light -- \
			-test.bench 'FsyncAckLatency/(in_flight=1|requests_per_s=1000)$' -test.benchtime 4000x
	done
done
cat "$out/summary.txt"
