// A live group changing protocol under load, with real clients against a real broker process:
// kafkajs consumers (the classic protocol) share a topic, Kafka's Java console consumer with
// group.protocol=consumer joins them (the group becomes a consumer group), the kafkajs ones
// leave one by one; and the other way, a kafkajs consumer stays behind when the Java one leaves
// (the group becomes classic again). Every record is read, and a later consumer resumes from
// the committed offsets. The Java parts need java and Kafka's jars (test/helpers/kafka-jars.ts).
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { consoleConsumer } from '../helpers/console-consumer.js';
import { kafkaJarsMissing } from '../helpers/kafka-jars.js';
import { brokerTeardown, eventually } from '../clients/harness.js';

const PARTITIONS = 4;

interface Reader {
  lines: string[];
  stop(): Promise<void>;
}

function javaConsumer(bootstrap: string, topic: string, group: string, procs: ChildProcess[]): Reader {
  const c = consoleConsumer({ bootstrap, topic, group, prefix: 'rec-' });
  procs.push(c.proc);
  return c;
}

async function kafkajsConsumer(kafka: Kafka, topic: string, group: string, consumers: Consumer[]): Promise<Reader> {
  const consumer = kafka.consumer({ groupId: group, heartbeatInterval: 500, sessionTimeout: 10_000, rebalanceTimeout: 20_000 });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const lines: string[] = [];
  await consumer.run({ autoCommitInterval: 500, eachMessage: async ({ message }) => void lines.push(message.value!.toString()) });
  return { lines, stop: () => consumer.disconnect() };
}

t.test('a classic group upgraded by a consumer-protocol member and downgraded again, under load', async (t) => {
  const missing = await kafkaJarsMissing();
  if (missing !== null) return t.skip(`the Java consumer cannot run: ${missing}`);
  const broker = await startBroker({ overrides: { 'offsets.topic.num.partitions': 1, 'group.consumer.heartbeat.interval.ms': 500, 'group.initial.rebalance.delay.ms': 0 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'migration', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const procs: ChildProcess[] = [];
  const consumers: Consumer[] = [];
  t.teardown(async () => {
    procs.forEach((p) => p.kill('SIGKILL'));
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  });

  for (const [direction, topic, group] of [['upgrade', 'orders-up', 'readers-up'], ['downgrade', 'orders-down', 'readers-down']] as const) {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    let produced = 0;
    const produce = async (n: number) => {
      const messages = Array.from({ length: n }, (_, i) => ({ partition: (produced + i) % PARTITIONS, value: `rec-${produced + i}` }));
      produced += n;
      await producer.send({ topic, acks: -1, messages });
    };
    const readers: Reader[] = [];
    const seen = () => new Set(readers.flatMap((r) => r.lines));
    const allRead = (what: string) => eventually(what, () => seen().size >= produced, 120_000);
    const groupType = async () => (await admin.listGroups()).groups.find((g) => g.groupId === group)?.protocolType;

    await produce(400);
    if (direction === 'upgrade') {
      const a = await kafkajsConsumer(kafka, topic, group, consumers);
      const b = await kafkajsConsumer(kafka, topic, group, consumers);
      readers.push(a, b);
      await allRead('the two classic consumers read the first records');
      const java = javaConsumer(broker.bootstrap, topic, group, procs);
      readers.push(java);
      await eventually('the consumer-protocol member joins the live group and gets partitions', async () => {
        if (java.lines.length > 0) return true;
        await produce(20);
        return false;
      }, 120_000);
      t.pass('a consumer-protocol member joined the live classic group');
      await a.stop();
      await produce(200);
      await allRead('one classic consumer left: the rest read everything');
      await b.stop();
      const before = java.lines.length;
      await produce(200);
      await allRead('both classic consumers left: the Java consumer reads everything');
      t.ok(java.lines.length - before >= 200, 'the Java consumer took over every partition');
      await java.stop();
    } else {
      const java = javaConsumer(broker.bootstrap, topic, group, procs);
      readers.push(java);
      await allRead('the Java consumer reads the first records');
      const a = await kafkajsConsumer(kafka, topic, group, consumers);
      readers.push(a);
      await eventually('the classic member joins the consumer group and gets partitions', async () => {
        if (a.lines.length > 0) return true;
        await produce(20);
        return false;
      }, 120_000);
      t.equal(await groupType(), 'consumer', 'a classic member joined the consumer group');
      await java.stop();
      // DescribeGroups describes classic groups only (a consumer group answers GROUP_ID_NOT_FOUND).
      await eventually('the group is classic again', async () => {
        const described = await admin.describeGroups([group]).catch(() => null);
        return described?.groups[0]?.members.length === 1;
      }, 30_000);
      t.pass('the group became classic again, with the kafkajs consumer in it');
      const before = a.lines.length;
      await produce(200);
      await allRead('the classic consumer left behind reads everything');
      t.ok(a.lines.length - before >= 200, 'the classic consumer took over every partition');
      await a.stop();
    }
    await produce(100);
    const later = await kafkajsConsumer(kafka, topic, group, consumers);
    readers.push(later);
    await allRead('a later consumer reads what came after the commits');
    await later.stop();
    const expected = Array.from({ length: produced }, (_, i) => `rec-${i}`);
    t.same([...seen()].sort(), expected.sort(), `${direction}: every record read, none lost`);
    t.ok(later.lines.length < 200, `${direction}: the later consumer resumed from the committed offsets (read ${later.lines.length} of ${produced})`);
  }
});
