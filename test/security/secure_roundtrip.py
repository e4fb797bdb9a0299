"""Produces messages with confluent_kafka (librdkafka) over a secured listener, then reads
them back by partition assignment (no group commits).

Usage: secure_roundtrip.py BOOTSTRAP TOPIC COUNT CONFIG_JSON
CONFIG_JSON: client settings added to both clients (security.protocol, ssl.*, sasl.*).
Prints one JSON object: {"version": str, "delivered": int, "consumed": [str], "errors": [str]}
"""
import json
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def main():
    bootstrap, topic, count, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    errors = []
    delivered = 0

    def on_delivery(err, msg):
        nonlocal delivered
        if err:
            errors.append(f"delivery: {err}")
        else:
            delivered += 1

    def on_error(err):
        errors.append(f"client: {err}")

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "message.timeout.ms": 15000, "error_cb": on_error, **extra})
    for i in range(count):
        producer.produce(topic, value=f"m{i}".encode(), partition=0, on_delivery=on_delivery)
        producer.poll(0)
    producer.flush(20)
    consumed = []
    if delivered == count:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                             "error_cb": on_error, **extra})
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.time() + 20
        while len(consumed) < count and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(f"consume: {msg.error()}")
                continue
            consumed.append(msg.value().decode())
        consumer.close()
    print(json.dumps({"version": confluent_kafka.libversion()[0], "delivered": delivered,
                      "consumed": consumed, "errors": errors[:5]}))


main()
