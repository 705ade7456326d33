"""Round trip through kafka-python (2.0.x, as Debian ships it).

Creates a topic with the admin client, produces keyed records with headers
through KafkaProducer with the chosen compression, then reads every partition
from the beginning with a group-less KafkaConsumer (assign, not subscribe) and
compares with roundtrip.problems. Run with Debian's /usr/bin/python3.

    kafka_python_roundtrip.py --broker 127.0.0.1:9092 --topic t --compression gzip
"""

import argparse
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

import roundtrip

# Bounds on every wait, in seconds; the whole check stays well under the
# caller's timeout.
METADATA_WAIT_S = 30
CONSUME_WAIT_S = 60


def create_topic(broker, topic, partitions):
    admin = KafkaAdminClient(bootstrap_servers=broker, client_id="e2e-kafka-python-admin",
                             request_timeout_ms=30000)
    try:
        # Raises on any topic error code in the CreateTopics response.
        admin.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)],
                            timeout_ms=30000)
    finally:
        admin.close()


def produce(broker, topic, compression, records):
    """Sends records and returns seq -> (partition, offset) as acknowledged."""
    producer = KafkaProducer(bootstrap_servers=broker, client_id="e2e-kafka-python-producer",
                             compression_type=compression, acks="all", linger_ms=5,
                             request_timeout_ms=30000, max_block_ms=30000)
    try:
        # Waits for metadata, so a topic that is not yet visible fails here.
        partitions = producer.partitions_for(topic)
        # The version kafka-python settled on by probing the broker at connect.
        print(f"  kafka-python: broker probed as api_version {producer.config['api_version']}", flush=True)
        futures = [
            producer.send(topic, key=r.key, value=r.value, headers=list(r.headers))
            for r in records
        ]
        producer.flush(timeout=30)
        produced_at = {}
        for r, future in zip(records, futures):
            meta = future.get(timeout=10)
            produced_at[r.seq] = (meta.partition, meta.offset)
        return produced_at, len(partitions or ())
    finally:
        producer.close(timeout=10)


def consume_all(broker, topic):
    """Reads every partition from its beginning to its end offset at the time of the call."""
    consumer = KafkaConsumer(bootstrap_servers=broker, client_id="e2e-kafka-python-consumer",
                             group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=200,
                             request_timeout_ms=30000)
    try:
        deadline = time.monotonic() + METADATA_WAIT_S
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            consumer.topics()  # forces a metadata refresh
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"consumer metadata never listed topic {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(tps)

        received = []
        deadline = time.monotonic() + CONSUME_WAIT_S
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                behind = {tp.partition: (consumer.position(tp), end[tp]) for tp in tps}
                raise TimeoutError(f"no end of partitions in {CONSUME_WAIT_S}s: (position, end) {behind}")
            for tp, batch in consumer.poll(timeout_ms=500, max_records=500).items():
                for m in batch:
                    received.append(roundtrip.Received(m.partition, m.offset, m.key, m.value,
                                                       tuple(m.headers)))
        return received, len(partitions)
    finally:
        consumer.close(autocommit=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--compression", default="gzip", help="gzip, snappy, lz4 or none")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    compression = None if args.compression == "none" else args.compression
    name = f"kafka-python {args.compression}"

    def check():
        create_topic(args.broker, args.topic, args.partitions)
        sent = roundtrip.records_to_send(args.records, uuid.uuid4().hex)
        produced_at, producer_partitions = produce(args.broker, args.topic, compression, sent)
        received, consumer_partitions = consume_all(args.broker, args.topic)
        found = []
        for who, seen in (("producer", producer_partitions), ("consumer", consumer_partitions)):
            if seen != args.partitions:
                found.append(f"{who} metadata shows {seen} partitions, created {args.partitions}")
        found += roundtrip.problems(sent, received, produced_at, args.partitions)
        return found, f"{len(sent)} records over {args.partitions} partitions round-tripped exactly"

    roundtrip.run_check(name, check)


if __name__ == "__main__":
    main()
