// @platformatic/kafka against a real broker process: the admin creates a topic, the producer
// writes plain and gzip batches, and the consumer reads them back with its group-less
// `fetch` (Fetch by topic id at the highest version both sides know, no group APIs).
// `listOffsets` gives the high watermarks.
import t from 'tap';
import { Admin, Consumer, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from './harness.js';

const TOPIC = 'platformatic-data';
const PARTITIONS = 2;

t.test('@platformatic/kafka produce and fetch round trip', async (t) => {
  const broker = await startBroker();
  brokerTeardown(t, broker);
  const common = { clientId: 'platformatic-e2e', bootstrapBrokers: [broker.bootstrap], retries: 3, retryDelay: 200 };

  const admin = new Admin(common);
  t.teardown(() => admin.close());
  await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
  const md = await admin.metadata({ topics: [TOPIC] });
  const topicMd = md.topics.get(TOPIC);
  t.equal(topicMd?.partitionsCount, PARTITIONS, 'the admin sees the created partitions');
  t.ok(topicMd?.partitions.every((p) => p.leader === broker.nodeId), 'every partition led by the broker');

  // send() takes acks from its own options (default: 1 unless idempotent), not the constructor's.
  const producer = new Producer({ ...common, serializers: stringSerializers });
  t.teardown(() => producer.close());
  const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const compression of ['none', 'gzip'] as const) {
    for (let batch = 0; batch < 5; batch++) {
      const messages = Array.from({ length: 100 }, (_, i) => {
        const n = batch * 100 + i;
        const partition = n % PARTITIONS;
        const value = `${compression}-${n}-${'x'.repeat(n % 50)}`;
        expected[partition]!.push(value);
        return { topic: TOPIC, partition, key: `k${n}`, value };
      });
      const res = await producer.send({ messages, compression, acks: ProduceAcks.ALL });
      t.ok(res.offsets && res.offsets.length > 0, `${compression} batch ${batch} acknowledged with offsets`);
    }
  }

  const consumer = new Consumer({ ...common, groupId: 'never-joined' });
  t.teardown(() => consumer.close());
  const offsets = await consumer.listOffsets({ topics: [TOPIC] });
  t.same(
    offsets.get(TOPIC)?.map(Number),
    expected.map((e) => e.length),
    'listOffsets gives each partition its record count as the latest offset',
  );

  const meta = await consumer.metadata({ topics: [TOPIC] });
  const topicId = meta.topics.get(TOPIC)!.id;
  for (let p = 0; p < PARTITIONS; p++) {
    const values: string[] = [];
    const offs: number[] = [];
    let next = 0n;
    while (offs.length < expected[p]!.length) {
      const res = await consumer.fetch({
        node: broker.nodeId,
        maxWaitTime: 100,
        topics: [{ topicId, partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: next, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      const part = res.responses[0]!.partitions[0]!;
      t.equal(part.errorCode, 0, `partition ${p} fetch at ${next}: no error`);
      const before = offs.length;
      for (const batch of part.records ?? []) {
        for (const r of batch.records) {
          const offset = batch.firstOffset + BigInt(r.offsetDelta);
          if (offset < next) continue;
          offs.push(Number(offset));
          values.push(r.value?.toString() ?? '');
        }
      }
      if (offs.length === before) {
        const batches = (part.records ?? []).map((b) => `${b.firstOffset}+${b.records.length}`).join(',');
        t.comment(`partition ${p} fetch at ${next}: nothing new (highWatermark ${part.highWatermark}, batches [${batches}])`);
        break;
      }
      next = BigInt(offs[offs.length - 1]!) + 1n;
    }
    t.same(offs, expected[p]!.map((_, i) => i), `partition ${p}: offsets 0..${expected[p]!.length - 1}, contiguous`);
    const mismatch = values.findIndex((v, i) => v !== expected[p]![i]);
    t.equal(mismatch, -1, `partition ${p}: every value read back equal, plain and gzip`);
  }
});
