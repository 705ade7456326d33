"""Kafka transactions (KIP-98) through confluent-kafka-python (librdkafka underneath).

A member of consumer group GROUP reads a 2-partition source topic (records
produced plainly). Then one transactional producer (transactional.id,
init_transactions) writes three transactions into a 3-partition topic, each
of RECORDS keyed records spread over every partition:

  1. committed;
  2. aborted, after every record was acknowledged by the broker (so the
     aborted records are in the log) and after send_offsets_to_transaction
     sent offsets for GROUP that differ from those of 3;
  3. committed, with send_offsets_to_transaction sending the member's
     positions on the source topic (its consumer_group_metadata()).

Then:

  - right after the abort, GROUP has no committed offsets;
  - a read_committed consumer reads every partition from the beginning to its
    end (partition EOF) and must get exactly the records of 1 and 3, each
    once, intact, at the offset its delivery report gave, in produce order,
    and none of 2;
  - a read_uncommitted consumer must get all three transactions, which shows
    the aborted records were there for the first one to skip;
  - Consumer.committed() for GROUP must give the offsets sent in 3.

Run with Debian's /usr/bin/python3.

    confluent_kafka_txn.py --broker 127.0.0.1:9092 --topic t [--records 300] [--debug eos,protocol]

--debug sets librdkafka's debug property on every client (its log goes to
stderr).
"""

import argparse
import time
import uuid

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_INVALID, Consumer, KafkaError, KafkaException,
                             Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

import roundtrip

PARTITIONS = 3
SOURCE_PARTITIONS = 2
SOURCE_RECORDS = 20
# The aborted transaction sends this offset for every source partition; the
# committed one sends the member's positions (SOURCE_RECORDS split between
# the partitions), never this.
ABORTED_SOURCE_OFFSET = 3
# Bounds on every wait, in seconds; the whole check stays well under the
# caller's timeout.
ADMIN_WAIT_S = 30
TXN_WAIT_S = 30
FLUSH_WAIT_S = 30
ASSIGN_WAIT_S = 60
CONSUME_WAIT_S = 60
# After the end of every partition, how long to keep polling for records
# that should not be there.
GRACE_S = 1.0
# How long every partition may stay at its end with records still missing
# before the read gives up.
STALLED_S = 10


def create_topics(broker, topics):
    admin = AdminClient({"bootstrap.servers": broker, "client.id": "e2e-confluent-txn-admin"})
    futures = admin.create_topics([NewTopic(t, num_partitions=n, replication_factor=1) for t, n in topics],
                                  operation_timeout=ADMIN_WAIT_S, request_timeout=ADMIN_WAIT_S)
    for f in futures.values():
        f.result(timeout=ADMIN_WAIT_S)


class Check:
    def __init__(self, broker, topic, records, debug):
        self.broker, self.topic, self.records = broker, topic, records
        self.source = f"{topic}-source"
        self.group = f"{topic}-group"
        self.debug = {"debug": debug} if debug else {}
        self.run_id = uuid.uuid4().hex
        # key -> (transaction number, value) for everything the producer sends.
        self.sent = {}
        self.produced_at = {}  # key -> (partition, offset), from the delivery reports
        self.delivery_errors = []

    # --- the consumer group member whose positions the transactions send

    def source_member(self):
        """Produces SOURCE_RECORDS into the source topic and returns a group
        member that has read them all, and its positions."""
        p = Producer({"bootstrap.servers": self.broker, "client.id": "e2e-confluent-txn-source", "acks": "all"})
        for i in range(SOURCE_RECORDS):
            p.produce(self.source, key=b"s-%d" % i, value=b"s-%d" % i, partition=i % SOURCE_PARTITIONS)
        if p.flush(FLUSH_WAIT_S):
            raise TimeoutError(f"source records undelivered after {FLUSH_WAIT_S}s")

        member = Consumer({
            "bootstrap.servers": self.broker, "client.id": "e2e-confluent-txn-member", "group.id": self.group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": "read_committed",
            "session.timeout.ms": 10000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 200, **self.debug,
        })
        member.subscribe([self.source])
        read = []
        deadline = time.monotonic() + ASSIGN_WAIT_S
        while len(read) < SOURCE_RECORDS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the group member read {len(read)} of {SOURCE_RECORDS} source records"
                                   f" in {ASSIGN_WAIT_S}s")
            for m in member.consume(num_messages=100, timeout=0.2):
                if m.error() is not None:
                    raise KafkaException(m.error())
                read.append(m)
        positions = member.position([TopicPartition(self.source, p) for p in range(SOURCE_PARTITIONS)])
        want = {p: len([i for i in range(SOURCE_RECORDS) if i % SOURCE_PARTITIONS == p])
                for p in range(SOURCE_PARTITIONS)}
        got = {tp.partition: tp.offset for tp in positions}
        if got != want:
            raise AssertionError(f"the group member's positions are {got} after reading the source, want {want}")
        return member, positions

    # --- the transactional producer

    def on_delivery(self, err, msg):
        key = msg.key().decode()
        if err is not None:
            self.delivery_errors.append(f"{key}: delivery failed: {err}")
        else:
            self.produced_at[key] = (msg.partition(), msg.offset())

    def produce_txn(self, producer, txn):
        """Produces RECORDS records of transaction txn over every partition and
        waits until the broker acknowledged them all."""
        for seq in range(self.records):
            key = f"t{txn}-{seq:04d}"
            value = f"{key}-{self.run_id}-".encode() + b"v" * ((seq * 37) % 500)
            self.sent[key] = (txn, value)
            producer.produce(self.topic, key=key.encode(), value=value, partition=seq % PARTITIONS,
                             on_delivery=self.on_delivery)
            producer.poll(0)
        left = producer.flush(FLUSH_WAIT_S)
        if left:
            raise TimeoutError(f"transaction {txn}: {left} records undelivered after {FLUSH_WAIT_S}s")
        acked = sum(1 for k in self.produced_at if k.startswith(f"t{txn}-"))
        if acked != self.records:
            raise AssertionError(f"transaction {txn}: {acked} of {self.records} records acknowledged:"
                                 f" {self.delivery_errors[:5]}")

    def transactions(self, member, positions):
        producer = Producer({
            "bootstrap.servers": self.broker, "client.id": "e2e-confluent-txn-producer",
            "transactional.id": f"{self.topic}-txn", "transaction.timeout.ms": 60000,
            "acks": "all", "linger.ms": 5, "message.timeout.ms": FLUSH_WAIT_S * 1000, **self.debug,
        })
        producer.init_transactions(TXN_WAIT_S)

        producer.begin_transaction()
        self.produce_txn(producer, 1)
        producer.commit_transaction(TXN_WAIT_S)

        producer.begin_transaction()
        self.produce_txn(producer, 2)
        aborted_offsets = [TopicPartition(self.source, p, ABORTED_SOURCE_OFFSET) for p in range(SOURCE_PARTITIONS)]
        producer.send_offsets_to_transaction(aborted_offsets, member.consumer_group_metadata(), TXN_WAIT_S)
        producer.abort_transaction(TXN_WAIT_S)
        after_abort = self.committed()

        producer.begin_transaction()
        self.produce_txn(producer, 3)
        producer.send_offsets_to_transaction(positions, member.consumer_group_metadata(), TXN_WAIT_S)
        producer.commit_transaction(TXN_WAIT_S)
        if producer.flush(FLUSH_WAIT_S):
            raise TimeoutError("producer not flushed after the last commit")
        return after_abort

    # --- reading back

    def committed(self):
        """GROUP's committed offsets on the source topic, partition -> offset,
        asked by a consumer outside the group's membership (read_committed, so
        librdkafka asks for stable offsets)."""
        c = Consumer({
            "bootstrap.servers": self.broker, "client.id": "e2e-confluent-txn-committed", "group.id": self.group,
            "enable.auto.commit": False, "isolation.level": "read_committed", **self.debug,
        })
        try:
            tps = c.committed([TopicPartition(self.source, p) for p in range(SOURCE_PARTITIONS)],
                              timeout=ADMIN_WAIT_S)
            for tp in tps:
                if tp.error is not None:
                    raise KafkaException(tp.error)
            return {tp.partition: tp.offset for tp in tps}
        finally:
            c.close()

    def read_all(self, isolation):
        """Reads every partition from its beginning until each reports its end
        and nothing more arrives; returns the roundtrip.Received records."""
        c = Consumer({
            "bootstrap.servers": self.broker, "client.id": f"e2e-confluent-txn-{isolation}",
            "group.id": f"e2e-unsubscribed-{self.topic}-{isolation}", "isolation.level": isolation,
            "enable.auto.commit": False, "enable.auto.offset.store": False, "enable.partition.eof": True,
            "fetch.wait.max.ms": 200, **self.debug,
        })
        want = sum(1 for txn, _ in self.sent.values() if isolation == "read_uncommitted" or txn != 2)
        try:
            c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
            received = []
            at_end = set()
            deadline = time.monotonic() + CONSUME_WAIT_S
            end_since = None
            while True:
                now = time.monotonic()
                if len(at_end) == PARTITIONS:
                    end_since = end_since or now
                    if len(received) >= want and now - end_since >= GRACE_S:
                        return received, None
                    if now - end_since >= STALLED_S:
                        return received, (f"{isolation} consumer: every partition at its end for {STALLED_S}s"
                                          f" with {len(received)} records read, want {want}")
                else:
                    end_since = None
                if now > deadline:
                    return received, (f"{isolation} consumer: {len(received)} records read, want {want}, and the"
                                      f" end of partitions {sorted(at_end)} of {PARTITIONS} after {CONSUME_WAIT_S}s")
                for m in c.consume(num_messages=500, timeout=0.2):
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            at_end.add(m.partition())
                            continue
                        raise KafkaException(err)
                    at_end.discard(m.partition())
                    received.append(roundtrip.Received(m.partition(), m.offset(), m.key(), m.value(), ()))
        finally:
            c.close()

    def problems(self, isolation, received, unfinished):
        found = [unfinished] if unfinished else []
        wanted = {k for k, (txn, _) in self.sent.items() if isolation == "read_uncommitted" or txn != 2}
        seen = {}
        seen_at = set()
        per_partition = {}
        for r in received:
            where = f"partition {r.partition} offset {r.offset}"
            if (r.partition, r.offset) in seen_at:
                found.append(f"{isolation}: {where} read twice")
                continue
            seen_at.add((r.partition, r.offset))
            key = r.key.decode(errors="replace") if r.key is not None else None
            if key not in self.sent:
                found.append(f"{isolation}: {where}: unexpected key {key!r:.60}")
                continue
            txn, value = self.sent[key]
            if key not in wanted:
                found.append(f"{isolation}: {where}: {key} of aborted transaction {txn} read")
            if key in seen:
                found.append(f"{isolation}: {key} read twice, at {seen[key]} and {where}")
                continue
            seen[key] = where
            if r.value != value:
                found.append(f"{isolation}: {key}: value {r.value!r:.60} differs from the one sent")
            if self.produced_at.get(key) != (r.partition, r.offset):
                found.append(f"{isolation}: {key} read at {where}, delivery report said {self.produced_at.get(key)}")
            per_partition.setdefault(r.partition, []).append((r.offset, key))
        missing = sorted(wanted - set(seen))
        if missing:
            found.append(f"{isolation}: {len(missing)} records never read, first {missing[:5]}")
        for p, recs in sorted(per_partition.items()):
            if [o for o, _ in recs] != sorted(o for o, _ in recs):
                found.append(f"{isolation}: partition {p}: offsets out of order")
            keys = [k for _, k in recs]
            if keys != sorted(keys):
                found.append(f"{isolation}: partition {p}: records not in produce order")
        return found

    def run(self):
        create_topics(self.broker, [(self.topic, PARTITIONS), (self.source, SOURCE_PARTITIONS)])
        member, positions = self.source_member()
        try:
            after_abort = self.transactions(member, positions)
        finally:
            member.close()  # enable.auto.commit is off: closing commits nothing
        found = list(self.delivery_errors)
        if any(o != OFFSET_INVALID for o in after_abort.values()):
            found.append(f"right after the abort, committed offsets of {self.group} are {after_abort}, want none")

        for isolation in ("read_committed", "read_uncommitted"):
            received, unfinished = self.read_all(isolation)
            found += self.problems(isolation, received, unfinished)

        want = {tp.partition: tp.offset for tp in positions}
        got = self.committed()
        if got != want:
            found.append(f"committed offsets of {self.group} on {self.source} are {got},"
                         f" want {want} as sent in the committed transaction")
        return found, (f"3 transactions of {self.records} records over {PARTITIONS} partitions:"
                       f" read_committed read the {2 * self.records} committed exactly, none aborted;"
                       f" group offsets {want} committed by send_offsets_to_transaction")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", type=int, default=300, help="records in each transaction")
    parser.add_argument("--debug", default="", help="librdkafka debug contexts, e.g. eos,protocol")
    args = parser.parse_args()
    check = Check(args.broker, args.topic, args.records, args.debug)
    roundtrip.run_check("confluent-kafka transactions", check.run)


if __name__ == "__main__":
    main()
