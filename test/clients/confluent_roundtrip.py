"""Produces with confluent_kafka (librdkafka) in compressed batches, then reads back by
partition assignment (no consumer group: the group id is required by the client but never
used, auto commit is off).

Usage: confluent_roundtrip.py BOOTSTRAP INPUT_JSON
INPUT_JSON: {"topic": str, "partitions": int,
             "rounds": [{"compression": str, "messages": [{"partition": int, "value": str}]}]}
Prints one JSON object: {"delivered": [{"partition", "offset", "value", "error"}],
                         "consumed": [{"partition", "offset", "value"}], "errors": [str]}
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def produce(bootstrap, topic, rounds):
    delivered = []

    def on_delivery(err, msg):
        delivered.append({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "value": msg.value().decode(),
            "error": str(err) if err else None,
        })

    for rnd in rounds:
        producer = Producer({
            "bootstrap.servers": bootstrap,
            "compression.type": rnd["compression"],
            "acks": "all",
            "linger.ms": 20,
            "enable.idempotence": False,
        })
        for m in rnd["messages"]:
            producer.produce(topic, value=m["value"].encode(), partition=m["partition"], on_delivery=on_delivery)
            producer.poll(0)
        left = producer.flush(30)
        if left:
            raise RuntimeError(f"{left} messages not delivered after 30 s ({rnd['compression']})")
    return delivered


def consume(bootstrap, topic, partitions, expected, errors):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "never-used-for-commits",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    consumed = []
    at_eof = set()
    deadline = time.time() + 30
    while time.time() < deadline and (len(consumed) < expected or len(at_eof) < partitions):
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_eof.add(msg.partition())
            else:
                errors.append(str(msg.error()))
            continue
        at_eof.discard(msg.partition())
        consumed.append({"partition": msg.partition(), "offset": msg.offset(), "value": msg.value().decode()})
    consumer.close()
    return consumed


def main():
    bootstrap, input_path = sys.argv[1], sys.argv[2]
    with open(input_path) as f:
        spec = json.load(f)
    errors = []
    delivered = produce(bootstrap, spec["topic"], spec["rounds"])
    consumed = consume(bootstrap, spec["topic"], spec["partitions"], len(delivered), errors)
    json.dump({"delivered": delivered, "consumed": consumed, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
