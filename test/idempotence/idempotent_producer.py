"""Produces COUNT records with librdkafka's idempotent producer (enable.idempotence, which
implies acks=all) and prints one JSON line: how many were delivered and the errors seen.

usage: idempotent_producer.py BOOTSTRAP TOPIC COUNT PREFIX
"""
import json
import sys

from confluent_kafka import Producer

bootstrap, topic, count, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
delivered = 0
errors = []


def on_delivery(err, msg):
    global delivered
    if err is not None:
        errors.append(str(err))
    else:
        delivered += 1


p = Producer({
    'bootstrap.servers': bootstrap,
    'enable.idempotence': True,
    'linger.ms': 5,
    'batch.num.messages': 50,
    'message.timeout.ms': 30000,
})
for i in range(count):
    p.produce(topic, key=str(i % 7).encode(), value=f'{prefix}-{i}'.encode(), on_delivery=on_delivery)
    p.poll(0)
remaining = p.flush(30)
print(json.dumps({'delivered': delivered, 'errors': errors[:5], 'undelivered': remaining}))
sys.exit(0 if delivered == count and not errors else 1)
