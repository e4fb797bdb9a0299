"""Consumes with confluent_kafka (librdkafka) as a member of a consumer group: subscribe,
poll until COUNT records arrived (or nothing more comes), commit synchronously, close.

Usage: confluent_group.py BOOTSTRAP TOPIC GROUP COUNT
Prints one JSON object: {"consumed": [{"partition", "offset", "value"}],
                         "committed": [{"partition", "offset"}], "errors": [str]}
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError


def main():
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
    })
    consumer.subscribe([topic])
    consumed, errors = [], []
    deadline = time.time() + 40
    quiet_until = None
    while time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            # Past the expected count, a short quiet spell shows nothing extra is coming.
            if len(consumed) >= count:
                quiet_until = quiet_until or time.time() + 1.5
                if time.time() > quiet_until:
                    break
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                errors.append(str(msg.error()))
            continue
        consumed.append({"partition": msg.partition(), "offset": msg.offset(), "value": msg.value().decode()})
    committed = []
    try:
        for tp in consumer.commit(asynchronous=False) or []:
            committed.append({"partition": tp.partition, "offset": tp.offset})
    except Exception as e:  # nothing consumed leaves nothing to commit
        errors.append(f"commit: {e}")
    consumer.close()
    print(json.dumps({"consumed": consumed, "committed": committed, "errors": errors}))


if __name__ == "__main__":
    main()
