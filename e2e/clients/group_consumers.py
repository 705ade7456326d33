"""Two group consumers share a topic, through kafka-python or confluent-kafka.

Both members subscribe to a 4-partition topic in one consumer group and wait
until the group gives each of them two partitions. Then records are produced;
together the members must read every one exactly once (the group is stable,
so nothing is redelivered), each only from partitions it was assigned. They
commit and leave; the group's committed offsets must equal the end offsets,
and a new member of the group must read only records produced afterwards.
Run with Debian's /usr/bin/python3.

    group_consumers.py --client kafka-python --broker 127.0.0.1:9092 --topic t
    group_consumers.py --client confluent-kafka --broker 127.0.0.1:9092 --topic t
"""

import argparse
import threading
import time

import roundtrip

PARTITIONS = 4
RECORDS = 2000
LATE_RECORDS = 100
# Bounds on every wait, in seconds; the whole check stays well under the
# caller's timeout.
ASSIGN_WAIT_S = 60
CONSUME_WAIT_S = 60
ADMIN_WAIT_S = 30


class Member(threading.Thread):
    """One group member polling on its own thread (consumers are not
    thread-safe, so all consumer calls happen here)."""

    def __init__(self, client, name):
        super().__init__(name=name, daemon=True)
        self.client = client
        self.consumer = client.new_member(name)
        self.stop = threading.Event()
        # Both members commit while both are still in the group: a member
        # that left first would start a rebalance that strips the other's
        # assignment, and a commit without an assignment commits nothing.
        self.commit_now = threading.Event()
        self.committed = threading.Event()
        self.lock = threading.Lock()
        self.assigned = set()
        self.ever_assigned = set()
        self.records = []  # (partition, offset, value)
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                if self.commit_now.is_set() and not self.committed.is_set():
                    self.client.commit(self.consumer)
                    self.committed.set()
                for partition, offset, value in self.client.poll(self.consumer):
                    with self.lock:
                        self.records.append((partition, offset, value))
                assigned = self.client.assignment(self.consumer)
                with self.lock:
                    self.assigned = assigned
                    self.ever_assigned |= assigned
        except Exception as err:  # noqa: BLE001 - reported by the main thread
            self.error = err
        finally:
            self.client.close(self.consumer)

    def snapshot(self):
        with self.lock:
            return set(self.assigned), list(self.records)


class KafkaPython:
    name = "kafka-python"

    def __init__(self, broker, topic, group):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        from kafka.admin import KafkaAdminClient, NewTopic
        self.KafkaConsumer, self.KafkaProducer, self.TopicPartition = KafkaConsumer, KafkaProducer, TopicPartition
        self.broker, self.topic, self.group = broker, topic, group
        admin = KafkaAdminClient(bootstrap_servers=broker, client_id="e2e-group-admin", request_timeout_ms=30000)
        try:
            admin.create_topics([NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)],
                                timeout_ms=ADMIN_WAIT_S * 1000)
        finally:
            admin.close()

    def new_member(self, name):
        c = self.KafkaConsumer(bootstrap_servers=self.broker, client_id=name, group_id=self.group,
                               auto_offset_reset="earliest", enable_auto_commit=False,
                               session_timeout_ms=10000, heartbeat_interval_ms=500,
                               fetch_max_wait_ms=200, request_timeout_ms=30000)
        c.subscribe([self.topic])
        return c

    def poll(self, c):
        out = []
        for tp, msgs in c.poll(timeout_ms=200).items():
            out += [(tp.partition, m.offset, m.value) for m in msgs]
        return out

    def assignment(self, c):
        return {tp.partition for tp in c.assignment()}

    def commit(self, c):
        c.commit()

    def close(self, c):
        c.close()

    def produce(self, values):
        p = self.KafkaProducer(bootstrap_servers=self.broker, client_id="e2e-group-producer", acks="all")
        try:
            for v in values:
                p.send(self.topic, key=v, value=v)
            p.flush(timeout=30)
        finally:
            p.close(timeout=10)

    def committed_and_end(self):
        c = self.KafkaConsumer(bootstrap_servers=self.broker, group_id=self.group, enable_auto_commit=False)
        try:
            tps = [self.TopicPartition(self.topic, p) for p in range(PARTITIONS)]
            end = c.end_offsets(tps)
            return {tp.partition: (c.committed(tp), end[tp]) for tp in tps}
        finally:
            c.close()


class ConfluentKafka:
    name = "confluent-kafka"

    def __init__(self, broker, topic, group):
        import confluent_kafka
        from confluent_kafka.admin import AdminClient, NewTopic
        self.ck = confluent_kafka
        self.broker, self.topic, self.group = broker, topic, group
        self.assigned = {}
        admin = AdminClient({"bootstrap.servers": broker, "client.id": "e2e-group-admin"})
        futures = admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)],
                                      operation_timeout=ADMIN_WAIT_S, request_timeout=ADMIN_WAIT_S)
        futures[topic].result(timeout=ADMIN_WAIT_S)

    def new_member(self, name):
        c = self.ck.Consumer({
            "bootstrap.servers": self.broker, "client.id": name, "group.id": self.group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 10000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 200,
        })
        self.assigned[id(c)] = set()

        def on_assign(consumer, partitions):
            self.assigned[id(c)] = {p.partition for p in partitions}

        def on_revoke(consumer, partitions):
            self.assigned[id(c)] = set()

        c.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        return c

    def poll(self, c):
        out = []
        for m in c.consume(num_messages=500, timeout=0.2):
            if m.error() is not None:
                raise self.ck.KafkaException(m.error())
            out.append((m.partition(), m.offset(), m.value()))
        return out

    def assignment(self, c):
        return set(self.assigned[id(c)])

    def commit(self, c):
        try:
            c.commit(asynchronous=False)
        except self.ck.KafkaException as err:
            # Nothing consumed since the last commit is not an error.
            if err.args[0].code() != self.ck.KafkaError._NO_OFFSET:
                raise

    def close(self, c):
        c.close()

    def produce(self, values):
        p = self.ck.Producer({"bootstrap.servers": self.broker, "client.id": "e2e-group-producer", "acks": "all"})
        for v in values:
            p.produce(self.topic, key=v, value=v)
            p.poll(0)
        if p.flush(30):
            raise TimeoutError("records undelivered after 30s")

    def committed_and_end(self):
        c = self.ck.Consumer({"bootstrap.servers": self.broker, "group.id": self.group, "enable.auto.commit": False})
        try:
            tps = [self.ck.TopicPartition(self.topic, p) for p in range(PARTITIONS)]
            committed = {tp.partition: tp.offset for tp in c.committed(tps, timeout=ADMIN_WAIT_S)}
            out = {}
            for tp in tps:
                _, high = c.get_watermark_offsets(tp, timeout=ADMIN_WAIT_S)
                out[tp.partition] = (committed[tp.partition], high)
            return out
        finally:
            c.close()


def wait_until(what, limit_s, cond):
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {limit_s}s")
        time.sleep(0.05)


def values(start, n):
    return [str(i).encode() for i in range(start, start + n)]


def check_group(client):
    found = []
    a, b = Member(client, f"{client.name}-a"), Member(client, f"{client.name}-b")
    a.start()
    b.start()

    def shared():
        for m in (a, b):
            if m.error is not None:
                raise m.error
        (sa, _), (sb, _) = a.snapshot(), b.snapshot()
        return len(sa) == 2 and len(sb) == 2 and not sa & sb
    wait_until("both members own two partitions", ASSIGN_WAIT_S, shared)

    client.produce(values(0, RECORDS))

    def all_read():
        for m in (a, b):
            if m.error is not None:
                raise m.error
        return len(a.snapshot()[1]) + len(b.snapshot()[1]) >= RECORDS
    wait_until(f"{RECORDS} records read by the two members", CONSUME_WAIT_S, all_read)

    for m in (a, b):
        m.commit_now.set()

    def both_committed():
        for m in (a, b):
            if m.error is not None:
                raise m.error
        return a.committed.is_set() and b.committed.is_set()
    wait_until("both members committed", CONSUME_WAIT_S, both_committed)

    for m in (a, b):
        owned, records = m.snapshot()
        m.stop.set()
        m.join(timeout=30)
        if m.error is not None:
            raise m.error
        if not records:
            found.append(f"{m.name} read nothing")
        stray = {p for p, _, _ in records} - m.ever_assigned
        if stray:
            found.append(f"{m.name} read partitions {sorted(stray)} it was never assigned")
    got = [v for m in (a, b) for _, _, v in m.records]
    if sorted(got) != sorted(values(0, RECORDS)):
        dups = len(got) - len(set(got))
        found.append(f"read {len(got)} records ({len(set(got))} distinct, {dups} twice), want each of {RECORDS} once")

    for p, (committed, end) in sorted(client.committed_and_end().items()):
        if committed != end:
            found.append(f"partition {p}: committed offset {committed}, end offset {end}")

    # A new member resumes from the group's committed offsets.
    c = Member(client, f"{client.name}-c")
    c.start()
    wait_until("the new member owns every partition", ASSIGN_WAIT_S, lambda: len(c.snapshot()[0]) == PARTITIONS)
    client.produce(values(RECORDS, LATE_RECORDS))
    wait_until(f"{LATE_RECORDS} late records read", CONSUME_WAIT_S, lambda: len(c.snapshot()[1]) >= LATE_RECORDS)
    time.sleep(0.5)  # anything older would arrive right behind
    c.stop.set()
    c.join(timeout=30)
    late = sorted(v for _, _, v in c.records)
    if late != sorted(values(RECORDS, LATE_RECORDS)):
        found.append(f"new member read {len(late)} records, want exactly the {LATE_RECORDS} produced after the commits")
    return found, f"two members shared {RECORDS} records over {PARTITIONS} partitions, offsets committed and resumed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, choices=["kafka-python", "confluent-kafka"])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    kind = KafkaPython if args.client == "kafka-python" else ConfluentKafka
    roundtrip.run_check(f"{args.client} group", lambda: check_group(kind(args.broker, args.topic, f"{args.topic}-group")))


if __name__ == "__main__":
    main()
