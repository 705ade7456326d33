"""What every Python client round trip sends, and how it judges what came back.

Each record carries its sequence number in its key, value and a header, so a
consumed record can be matched to the one produced whatever partition it
landed in. The judgement is what a user of a broker would insist on: every
record back exactly once with key, value and headers intact, at the offset the
producer was told, offsets in each partition running 0, 1, 2, ... and records
of a partition in the order they were produced.
"""

import dataclasses
import sys
import traceback

# One record far larger than a default 16 KiB producer batch, so the broker
# sees a batch holding a single big compressed record.
BIG_RECORD_SEQ = 500
BIG_RECORD_BYTES = 256 * 1024

# At most this many problems are reported; the rest are counted.
PROBLEMS_SHOWN = 10


@dataclasses.dataclass(frozen=True)
class Sent:
    seq: int
    key: bytes
    value: bytes
    headers: tuple  # ((str, bytes), ...) in order; duplicate names allowed


@dataclasses.dataclass(frozen=True)
class Received:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple


def records_to_send(count, run_id):
    """Returns count records with varied value sizes and repeated header names."""
    filler = b"0123456789abcdef" * 128
    records = []
    for seq in range(count):
        if seq == BIG_RECORD_SEQ:
            pad = (filler * (BIG_RECORD_BYTES // len(filler) + 1))[:BIG_RECORD_BYTES]
        else:
            pad = filler[: (seq * 37) % 2000]
        headers = (
            ("seq", str(seq).encode()),
            ("run", run_id.encode()),
            ("dup", b"first"),
            ("dup", b"second"),
            ("empty", b""),
        )
        records.append(Sent(seq, b"key-%04d" % seq, b"value-%04d-" % seq + pad, headers))
    return records


def _seq_of(key):
    if key is None or not key.startswith(b"key-"):
        return None
    try:
        return int(key[4:])
    except ValueError:
        return None


def problems(sent, received, produced_at, partitions):
    """Lists every way received differs from sent.

    produced_at maps seq to the (partition, offset) the producer was told;
    partitions is the topic's partition count.
    """
    found = []
    if len(received) != len(sent):
        found.append(f"received {len(received)} records, want {len(sent)}")

    by_seq = {}
    seen_at = set()
    for r in received:
        if (r.partition, r.offset) in seen_at:
            found.append(f"partition {r.partition} offset {r.offset} delivered twice")
            continue
        seen_at.add((r.partition, r.offset))
        seq = _seq_of(r.key)
        if seq is None or seq >= len(sent):
            found.append(f"partition {r.partition} offset {r.offset}: unexpected key {r.key!r:.60}")
            continue
        if seq in by_seq:
            first = by_seq[seq]
            found.append(
                f"seq {seq} received twice: partition {first.partition} offset {first.offset}"
                f" and partition {r.partition} offset {r.offset}"
            )
            continue
        by_seq[seq] = r
        want = sent[seq]
        if r.value != want.value:
            found.append(
                f"seq {seq}: value of {len(r.value or b'')} bytes differs from the"
                f" {len(want.value)} bytes sent (starts {r.value!r:.40})"
            )
        if tuple(r.headers) != want.headers:
            found.append(f"seq {seq}: headers {r.headers!r:.200}, want {want.headers!r}")
        if produced_at is not None and produced_at.get(seq) != (r.partition, r.offset):
            found.append(
                f"seq {seq}: read at partition {r.partition} offset {r.offset},"
                f" producer was told {produced_at.get(seq)}"
            )

    missing = [s.seq for s in sent if s.seq not in by_seq]
    if missing:
        found.append(f"{len(missing)} records never came back, first seqs {missing[:10]}")

    per_partition = {}
    for r in received:
        per_partition.setdefault(r.partition, []).append(r)
    for partition, records in sorted(per_partition.items()):
        if not 0 <= partition < partitions:
            found.append(f"record from partition {partition}, topic has {partitions}")
        records.sort(key=lambda r: r.offset)
        offsets = [r.offset for r in records]
        if offsets != list(range(len(records))):
            found.append(f"partition {partition}: offsets are not 0..{len(records) - 1}: {offsets[:10]}...")
        seqs = [_seq_of(r.key) for r in records]
        for before, after in zip(seqs, seqs[1:]):
            if before is not None and after is not None and after <= before:
                found.append(f"partition {partition}: seq {after} stored after seq {before}")
                break
    if partitions > 1 and len(per_partition) < 2:
        found.append(f"all records landed in one partition of {partitions}: keyed partitioning saw one partition")
    return found


def report(name, found, summary):
    """Prints the check's PASS or FAIL line (after any problems) and returns its exit status."""
    if not found:
        print(f"PASS {name}: {summary}", flush=True)
        return 0
    for problem in found[:PROBLEMS_SHOWN]:
        print(f"  {name}: {problem}", flush=True)
    if len(found) > PROBLEMS_SHOWN:
        print(f"  {name}: ... and {len(found) - PROBLEMS_SHOWN} more problems", flush=True)
    print(f"FAIL {name}: {len(found)} problem(s)", flush=True)
    return 1


def run_check(name, check):
    """Runs check(), which returns a list of problems and a summary, and exits with its status.

    An exception is a failure too, printed with its traceback, so a client
    error never leaves the check without a FAIL line.
    """
    try:
        found, summary = check()
    except Exception as err:  # noqa: BLE001 - any client error fails the check
        traceback.print_exc(file=sys.stdout)
        print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
        sys.exit(1)
    sys.exit(report(name, found, summary))
