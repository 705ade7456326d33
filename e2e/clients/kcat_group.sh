#!/usr/bin/env bash
# kcat_group.sh BROKER TOPIC [COUNT]
#
# Two balanced consumers (kcat -G, librdkafka's group consumer) started
# together share a 4-partition topic: each must be assigned two partitions,
# and between them they read all COUNT records (default 2000) to the end
# (-e) and commit on exit. A third member of the group then reads nothing:
# the group's committed offsets are at the end of every partition.
# Prints one final "PASS kcat -G: ..." or "FAIL kcat -G: ..." line and exits
# 0 or 1.
set -euo pipefail

broker=$1 topic=$2 count=${3:-2000}
name="kcat -G"
group="$topic-group"
partitions=4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PY=/usr/bin/python3

fail() {
	echo "FAIL $name: $*"
	exit 1
}

# kcat cannot create topics; kafka-python's admin client does (make e2e
# installs it for its own checks).
"$PY" - "$broker" "$topic" "$partitions" <<'EOF' >"$work/create.out" 2>&1 || fail "create topic: $(tail -c 1500 "$work/create.out")"
import sys
from kafka.admin import KafkaAdminClient, NewTopic
broker, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = KafkaAdminClient(bootstrap_servers=broker, client_id="e2e-kcat-group-admin", request_timeout_ms=30000)
try:
    admin.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)], timeout_ms=30000)
finally:
    admin.close()
EOF

seq 0 $((count - 1)) | awk '{ printf "key-%d:%d\n", $1, $1 }' >"$work/sent"
if ! timeout -k 5 90 kcat -P -b "$broker" -t "$topic" -K : -X message.timeout.ms=30000 \
	<"$work/sent" 2>"$work/produce.err"; then
	fail "kcat -P exited non-zero: $(head -c 2000 "$work/produce.err")"
fi

# Without -o, a balanced consumer starts at the group's committed offsets
# (auto.offset.reset for a new group); -e exits once every assigned
# partition is read to its end, committing on the way out.
consume() {
	timeout -k 5 90 kcat -b "$broker" -G "$group" -X auto.offset.reset=earliest \
		-X session.timeout.ms=10000 -e -f '%p %o %s\n' "$topic" >"$work/$1.out" 2>"$work/$1.err"
}
consume a &
pid_a=$!
consume b &
pid_b=$!
wait "$pid_a" || fail "member a exited non-zero: $(tail -c 1500 "$work/a.err")"
wait "$pid_b" || fail "member b exited non-zero: $(tail -c 1500 "$work/b.err")"

# Each member's first assignment names two partitions.
for m in a b; do
	first=$(grep -m1 'assigned:' "$work/$m.err" || true)
	n=$(grep -o "$topic \[[0-9]*\]" <<<"$first" | wc -l)
	[[ $n -eq 2 ]] || fail "member $m's first assignment has $n partitions, want 2: $first"
done

cat "$work/a.out" "$work/b.out" >"$work/all"
distinct=$(cut -d' ' -f1,2 "$work/all" | sort -u | wc -l)
[[ $distinct -eq $count ]] || fail "the members read $distinct distinct records, want $count"
if ! diff <(cut -d' ' -f3 "$work/all" | sort -n -u) <(seq 0 $((count - 1))) >"$work/diff"; then
	fail "values read differ from those produced: $(head -c 1500 "$work/diff")"
fi
read_a=$(wc -l <"$work/a.out")
read_b=$(wc -l <"$work/b.out")

consume c || fail "member c exited non-zero: $(tail -c 1500 "$work/c.err")"
again=$(wc -l <"$work/c.out")
[[ $again -eq 0 ]] || fail "a new member read $again records: the group's offsets were not committed"

echo "PASS $name: two members read $count records ($read_a + $read_b, $((read_a + read_b - count)) redelivered after the first left), offsets committed"
