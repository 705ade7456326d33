"""Round trip through confluent-kafka-python (librdkafka underneath).

Creates a topic with AdminClient, produces keyed records with headers through
Producer with the chosen compression (optionally idempotent), then reads every
partition from OFFSET_BEGINNING with assign() and compares with
roundtrip.problems. librdkafka's Consumer refuses to start without group.id,
so one is set, but the consumer never subscribes and never commits: no group
protocol is exercised. Run with Debian's /usr/bin/python3.

    confluent_kafka_roundtrip.py --broker 127.0.0.1:9092 --topic t --compression zstd [--idempotent]
        [--topic-compression snappy]

--topic-compression sets the topic's compression.type, so the broker stores
every batch recompressed into that codec and librdkafka reads the broker's
framing back.
"""

import argparse
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import roundtrip

# Bounds on every wait, in seconds; the whole check stays well under the
# caller's timeout.
ADMIN_WAIT_S = 30
FLUSH_WAIT_S = 30
CONSUME_WAIT_S = 60


def create_topic(broker, topic, partitions, topic_compression):
    admin = AdminClient({"bootstrap.servers": broker, "client.id": "e2e-confluent-admin"})
    config = {"compression.type": topic_compression} if topic_compression else {}
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config)],
                                  operation_timeout=ADMIN_WAIT_S, request_timeout=ADMIN_WAIT_S)
    futures[topic].result(timeout=ADMIN_WAIT_S)


def produce(broker, topic, compression, idempotent, records):
    """Sends records and returns seq -> (partition, offset) from the delivery reports."""
    producer = Producer({
        "bootstrap.servers": broker,
        "client.id": "e2e-confluent-producer",
        "compression.type": compression,
        "enable.idempotence": idempotent,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": FLUSH_WAIT_S * 1000,
    })
    produced_at = {}
    errors = []

    def on_delivery(err, msg):
        seq = int(msg.key()[4:])
        if err is not None:
            errors.append(f"seq {seq}: delivery failed: {err}")
        else:
            produced_at[seq] = (msg.partition(), msg.offset())

    for r in records:
        producer.produce(topic, key=r.key, value=r.value, headers=list(r.headers),
                         on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(FLUSH_WAIT_S)
    if left:
        errors.append(f"{left} records still undelivered after {FLUSH_WAIT_S}s flush")
    return produced_at, errors


def consume_all(broker, topic):
    """Reads every partition from its beginning to its high watermark at the time of the call."""
    consumer = Consumer({
        "bootstrap.servers": broker,
        "client.id": "e2e-confluent-consumer",
        "group.id": f"e2e-unsubscribed-{topic}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "fetch.wait.max.ms": 200,
    })
    try:
        metadata = consumer.list_topics(topic, timeout=ADMIN_WAIT_S).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        partitions = sorted(metadata.partitions)
        end = {}
        for p in partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=ADMIN_WAIT_S)
            end[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])

        received = []
        next_offset = {p: 0 for p in partitions}
        deadline = time.monotonic() + CONSUME_WAIT_S
        while any(next_offset[p] < end[p] for p in partitions):
            if time.monotonic() > deadline:
                behind = {p: (next_offset[p], end[p]) for p in partitions}
                raise TimeoutError(f"no end of partitions in {CONSUME_WAIT_S}s: (next, end) {behind}")
            for m in consumer.consume(num_messages=500, timeout=0.5):
                if m.error() is not None:
                    raise KafkaException(m.error())
                received.append(roundtrip.Received(m.partition(), m.offset(), m.key(), m.value(),
                                                   tuple(m.headers() or ())))
                next_offset[m.partition()] = max(next_offset[m.partition()], m.offset() + 1)
        return received, len(partitions)
    finally:
        consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--compression", default="zstd", help="zstd, lz4, snappy, gzip or none")
    parser.add_argument("--idempotent", action="store_true", help="enable.idempotence=true")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--topic-compression", default="", help="the topic's compression.type (default: the broker's)")
    args = parser.parse_args()
    name = f"confluent-kafka {args.compression}" + (" idempotent" if args.idempotent else "")
    if args.topic_compression:
        name += f" into a {args.topic_compression} topic"

    def check():
        create_topic(args.broker, args.topic, args.partitions, args.topic_compression)
        sent = roundtrip.records_to_send(args.records, uuid.uuid4().hex)
        produced_at, found = produce(args.broker, args.topic, args.compression, args.idempotent, sent)
        received, consumer_partitions = consume_all(args.broker, args.topic)
        if consumer_partitions != args.partitions:
            found.append(f"consumer metadata shows {consumer_partitions} partitions, created {args.partitions}")
        found += roundtrip.problems(sent, received, produced_at, args.partitions)
        return found, f"{len(sent)} records over {args.partitions} partitions round-tripped exactly"

    roundtrip.run_check(name, check)


if __name__ == "__main__":
    main()
