// The Python librdkafka client (confluent_kafka) as a consumer group member
// (confluent_group.py): a first run subscribes, reads everything from the earliest offset and
// commits; a second run of the same group resumes at the committed offsets and reads only
// what was produced in between.
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, run } from '../clients/harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'confluent_group.py');
const TOPIC = 'confluent-group-data';
const PARTITIONS = 3;
const GROUP = 'py-readers';

interface Output {
  consumed: { partition: number; offset: number; value: string }[];
  committed: { partition: number; offset: number }[];
  errors: string[];
}

if (!commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) {
  t.plan(1);
  t.pass(`confluent_kafka not importable by ${PYTHON}: skipping (CI installs python3-confluent-kafka)`);
} else {
  t.test('confluent_kafka consumer group with commits', async (t) => {
    const broker = await startBroker({ overrides: { 'group.initial.rebalance.delay.ms': 0 } });
    brokerTeardown(t, broker);
    const kafka = new Kafka({ clientId: 'confluent-group-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const produce = async (from: number, n: number): Promise<string[]> => {
      const values = Array.from({ length: n }, (_, i) => `py-${from + i}`);
      await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value, i) => ({ partition: (from + i) % PARTITIONS, value })) });
      return values;
    };
    const consume = async (count: number): Promise<Output> => {
      const r = await run(PYTHON, [SCRIPT, broker.bootstrap, TOPIC, GROUP, String(count)], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`confluent_group.py exit ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout.toString()) as Output;
    };

    const first = await produce(0, 300);
    const run1 = await consume(first.length);
    t.same(run1.errors, [], 'first run: no errors');
    t.same(run1.consumed.map((c) => c.value).sort(), [...first].sort(), 'first run reads every record once');
    t.same(
      run1.committed.sort((a, b) => a.partition - b.partition).map((c) => c.offset),
      [100, 100, 100],
      'and commits each partition at its end',
    );

    const second = await produce(300, 60);
    const run2 = await consume(second.length);
    t.same(run2.errors, [], 'second run: no errors');
    t.same(run2.consumed.map((c) => c.value).sort(), [...second].sort(), 'second run resumes at the committed offsets');

    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    t.same(offsets[0]!.partitions.map((p) => p.offset), ['120', '120', '120'], 'the group\'s committed offsets, as an admin sees them');
  });
}
