#!/usr/bin/env bash
# kcat_roundtrip.sh BROKER TOPIC CODEC [COUNT]
#
# Produces COUNT keyed records (default 1000) with kcat compressed by CODEC
# (snappy, lz4 or gzip) to a topic that does not exist yet, so the broker's
# topic auto-creation is exercised, then reads every partition back with
# kcat and compares keys, values, headers, offsets and order exactly.
# Prints one final "PASS kcat CODEC: ..." or "FAIL kcat CODEC: ..." line and
# exits 0 or 1. KCAT_SECURITY, when set, names the listener's security (it
# goes into the check's name) and KCAT_X holds the -X options every kcat
# call takes for it (security.protocol, sasl.*, ssl.*).
set -euo pipefail

broker=$1 topic=$2 codec=$3 count=${4:-1000}
name="kcat $codec${KCAT_SECURITY:+ over $KCAT_SECURITY}"
read -r -a kx <<<"${KCAT_X:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "FAIL $name: $*"
	exit 1
}

# Values vary in length (up to ~700 bytes of compressible filler) so batches
# are neither uniform nor trivially small.
awk -v n="$count" 'BEGIN {
	filler = ""
	for (j = 0; j < 70; j++) filler = filler "0123456789"
	for (i = 0; i < n; i++)
		printf "key-%04d:value-%04d-%s\n", i, i, substr(filler, 1, (i * 37) % 700)
}' >"$work/sent"

# message.timeout.ms bounds how long librdkafka retries delivery; kcat -P
# returns once every message is delivered or has failed.
if ! timeout -k 5 90 kcat "${kx[@]}" -P -b "$broker" -t "$topic" -K : -z "$codec" \
	-H e2e=kcat -H "codec=$codec" \
	-X message.timeout.ms=30000 <"$work/sent" 2>"$work/produce.err"; then
	fail "kcat -P exited non-zero: $(head -c 2000 "$work/produce.err")"
fi
# kcat's own errors, failed deliveries and librdkafka logs at error level or
# worse (%0-%3); warnings alone do not fail the check.
if grep -q -E '^% ERROR|Delivery failed|^%[0-3]\|' "$work/produce.err"; then
	fail "kcat -P reported: $(head -c 2000 "$work/produce.err")"
fi

# Partition count as the broker reports it in Metadata.
timeout -k 5 30 kcat "${kx[@]}" -L -b "$broker" -t "$topic" >"$work/metadata" 2>&1 ||
	fail "kcat -L failed: $(head -c 2000 "$work/metadata")"
partitions=$(grep -c -E '^\s+partition [0-9]+,' "$work/metadata" || true)
[[ $partitions -ge 1 ]] || fail "metadata lists no partitions for $topic: $(head -c 2000 "$work/metadata")"

# All partitions at once, checked as a multiset of key:value lines.
timeout -k 5 60 kcat "${kx[@]}" -C -q -b "$broker" -t "$topic" -e -o beginning -f '%k:%s\n' \
	>"$work/all" 2>"$work/consume.err" ||
	fail "kcat -C (all partitions) exited non-zero: $(head -c 2000 "$work/consume.err")"
got=$(wc -l <"$work/all")
[[ $got -eq $count ]] || fail "consumed $got records from all partitions, want $count"
if ! diff <(sort "$work/sent") <(sort "$work/all") >"$work/diff"; then
	fail "records differ from what was produced: $(head -c 1500 "$work/diff")"
fi

# Partition by partition: offsets must run 0,1,2,... and records must come
# back in the order they were produced, each with both headers.
: >"$work/by_partition"
for ((p = 0; p < partitions; p++)); do
	timeout -k 5 60 kcat "${kx[@]}" -C -q -b "$broker" -t "$topic" -p "$p" -e -o beginning \
		-f '%o %k:%s %h\n' >"$work/p$p" 2>"$work/consume.err" ||
		fail "kcat -C -p $p exited non-zero: $(head -c 2000 "$work/consume.err")"
	problem=$(awk -v p="$p" -v codec="$codec" '
		$1 != NR - 1 { print "partition " p ": offset " $1 " at position " NR - 1; exit }
		$3 != "e2e=kcat,codec=" codec { print "partition " p " offset " $1 ": headers " $3; exit }
		{ split($2, kv, ":"); seq = substr(kv[1], 5) + 0
		  if (NR > 1 && seq <= last) { print "partition " p ": key " kv[1] " after seq " last; exit }
		  last = seq }' "$work/p$p")
	[[ -z $problem ]] || fail "$problem"
	cut -d' ' -f2 "$work/p$p" >>"$work/by_partition"
done
if ! diff <(sort "$work/sent") <(sort "$work/by_partition") >"$work/diff"; then
	fail "per-partition reads differ from what was produced: $(head -c 1500 "$work/diff")"
fi

echo "PASS $name: $count records over $partitions partition(s) round-tripped exactly"
