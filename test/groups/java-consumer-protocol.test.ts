// Kafka 4.3's own console consumer with group.protocol=consumer (KIP-848) against a real broker
// process: two consumers share a topic, one leaves and the other takes over its partitions, and
// a consumer started after both stopped resumes from their committed offsets: every record is
// read exactly once. Optional: runs when java is present (the jars come from
// bench/peers/kafka/fetch.sh, which needs mvn).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { hasCommand, startBroker } from '../helpers/broker.js';
import { consoleConsumer, type ConsoleConsumer } from '../helpers/console-consumer.js';
import { brokerTeardown, eventually } from '../clients/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const peers = path.join(root, 'bench/peers/kafka');
const lib = path.join(peers, 'lib');
const TOPIC = 'payments';
const GROUP = 'payment-readers';
const PARTITIONS = 4;

function javaReady(): boolean {
  if (!hasCommand('java')) return false;
  const has = () => existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('kafka-tools-'));
  if (!has() && hasCommand('mvn')) spawnSync('bash', [path.join(peers, 'fetch.sh')], { stdio: 'ignore', timeout: 600_000 });
  return has();
}

function groupConsumer(bootstrap: string): ConsoleConsumer {
  return consoleConsumer({ bootstrap, topic: TOPIC, group: GROUP, prefix: 'payment-', failOnError: true });
}

t.test('Java console consumers with group.protocol=consumer', { skip: javaReady() ? false : 'java or the Kafka jars are not available' }, async (t) => {
  const broker = await startBroker({ overrides: { 'offsets.topic.num.partitions': 4, 'group.consumer.heartbeat.interval.ms': 500 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'java-848', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  let produced = 0;
  const produce = async (n: number) => {
    const messages = Array.from({ length: n }, (_, i) => ({ partition: (produced + i) % PARTITIONS, value: `payment-${produced + i}` }));
    produced += n;
    await producer.send({ topic: TOPIC, acks: -1, messages });
  };

  const readers: ConsoleConsumer[] = [];
  t.teardown(() => readers.forEach((r) => r.proc.kill('SIGKILL')));
  const seen = () => readers.flatMap((r) => r.lines);

  await produce(200);
  const a = groupConsumer(broker.bootstrap);
  const b = groupConsumer(broker.bootstrap);
  readers.push(a, b);
  // More records whenever everything so far has been read, until both consumers have had some.
  await eventually('both consumers share the topic', async () => {
    if (a.lines.length > 0 && b.lines.length > 0) return true;
    if (seen().length >= produced) await produce(20);
    return false;
  }, 90_000);
  await eventually('everything so far is read', () => seen().length >= produced, 90_000);
  const groups = await admin.listGroups();
  t.same(groups.groups.find((g) => g.groupId === GROUP)?.protocolType, 'consumer', 'ListGroups shows a consumer group');

  await b.stop();
  const before = a.lines.length;
  await produce(200);
  await eventually('the remaining consumer takes over and reads the next 200', () => seen().length >= produced, 90_000);
  t.equal(a.lines.length - before, 200, 'the remaining consumer read all the new records, its former partner\'s partitions too');
  await a.stop();

  await produce(100);
  const c = groupConsumer(broker.bootstrap);
  readers.push(c);
  await eventually('a later consumer of the group reads what came after the commits', () => seen().length >= produced, 90_000);
  await c.stop();

  const all = seen();
  const expected = Array.from({ length: produced }, (_, i) => `payment-${i}`);
  t.equal(all.length, produced, 'as many records read as produced: no duplicates');
  t.same([...new Set(all)].sort(), expected.sort(), 'every record read: no loss');
  t.equal(c.lines.length, 100, 'the later consumer resumed from the committed offsets');
});
