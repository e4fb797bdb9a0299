"""librdkafka's transactional producer, then a read_committed and a read_uncommitted reader.

Runs TXNS transactions with one transactional id, alternately committed and aborted (each
aborted one flushed first, so its records are in the log), each writing RECORDS records over
the topic's PARTITIONS partitions. Then reads every partition from the start under both
isolation levels until each reader's position reaches the partition's end, and prints one
JSON line: the values each reader saw per partition, in order, and the errors.

usage: confluent_txn.py BOOTSTRAP TOPIC PARTITIONS TXNS RECORDS
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, partitions, txns, records = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
errors = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))


p = Producer({
    'bootstrap.servers': bootstrap,
    'transactional.id': f'py-txn-{topic}',
    'linger.ms': 5,
    'message.timeout.ms': 30000,
})
p.init_transactions(30)
for t in range(txns):
    commit = t % 2 == 0
    p.begin_transaction()
    for j in range(records):
        value = f"{'c' if commit else 'a'}-{t}-{j}"
        p.produce(topic, value=value.encode(), partition=(t + j) % partitions, on_delivery=on_delivery)
    if commit:
        p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)


def read(isolation):
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': f'py-txn-reader-{isolation}',
        'enable.auto.commit': False,
        'isolation.level': isolation,
    })
    tps = [TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(partitions)]
    ends = {i: c.get_watermark_offsets(TopicPartition(topic, i), timeout=10)[1] for i in range(partitions)}
    c.assign(tps)
    seen = {i: [] for i in range(partitions)}
    deadline = time.time() + 60
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is not None:
            if m.error():
                errors.append(str(m.error()))
            else:
                seen[m.partition()].append(m.value().decode())
        positions = c.position([TopicPartition(topic, i) for i in range(partitions)])
        if all(tp.offset >= ends[tp.partition] for tp in positions):
            break
    else:
        errors.append(f'{isolation}: did not reach the end of every partition')
    c.close()
    return seen


print(json.dumps({'committed': read('read_committed'), 'uncommitted': read('read_uncommitted'), 'errors': errors[:5]}))
