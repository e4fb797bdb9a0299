// kafkajs consumer groups against a real broker process: three consumers share six
// partitions, a member leaves and another joins, every record is processed exactly once
// (kafkajs commits after each batch and before it rejoins), and the group's committed
// offsets survive a broker restart: a consumer of the same group afterwards reads only what
// was produced after them.
import t from 'tap';
import { AssignerProtocol, Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from '../clients/harness.js';

const TOPIC = 'orders';
const PARTITIONS = 6;
const GROUP = 'order-processors';

t.test('kafkajs: a consumer group over six partitions', async (t) => {
  const broker = await startBroker({
    overrides: { 'num.partitions': 1, 'group.initial.rebalance.delay.ms': 1000, 'offsets.topic.num.partitions': 10 },
  });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'groups-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());

  let produced = 0;
  const produce = async (n: number): Promise<string[]> => {
    const values = Array.from({ length: n }, (_, i) => `order-${produced + i}`);
    await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value, i) => ({ partition: (produced + i) % PARTITIONS, value })) });
    produced += n;
    return values;
  };

  const times = new Map<string, number>();
  const consumers = new Map<string, Consumer>();
  const start = async (name: string): Promise<void> => {
    const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, rebalanceTimeout: 15_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topic: TOPIC, fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        const v = message.value!.toString();
        times.set(v, (times.get(v) ?? 0) + 1);
      },
    });
    consumers.set(name, c);
  };
  const stop = async (name: string): Promise<void> => {
    await consumers.get(name)!.disconnect();
    consumers.delete(name);
  };
  t.teardown(async () => {
    for (const c of consumers.values()) await c.disconnect().catch(() => undefined);
  });
  const allProcessed = (values: string[]) => eventually(`${values.length} records to be processed`, () => values.every((v) => times.has(v)), 30_000);
  /** Waits for a Stable group of `members`; returns each member's partitions. */
  const stableWith = async (members: number): Promise<number[][]> => {
    let assigned: number[][] = [];
    await eventually(
      `a Stable group of ${members}`,
      async () => {
        const [g] = (await admin.describeGroups([GROUP])).groups;
        if (g?.state !== 'Stable' || g.members.length !== members) return false;
        assigned = g.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[TOPIC] ?? []);
        return true;
      },
      30_000,
    );
    return assigned;
  };
  const coversAll = (assigned: number[][]): boolean =>
    assigned
      .flat()
      .sort((a, b) => a - b)
      .join() === [0, 1, 2, 3, 4, 5].join();

  await t.test('three consumers split the six partitions', async (t) => {
    await Promise.all([start('a'), start('b'), start('c')]);
    const values = await produce(120);
    await allProcessed(values);
    const assigned = await stableWith(3);
    t.ok(coversAll(assigned), `every partition assigned exactly once: ${JSON.stringify(assigned)}`);
    t.same(assigned.map((a) => a.length), [2, 2, 2], 'two partitions each');
  });

  await t.test('a member leaves: the other two take its partitions', async (t) => {
    await stop('c');
    const assigned = await stableWith(2);
    t.ok(coversAll(assigned), 'the two remaining members cover all six partitions');
    await allProcessed(await produce(120));
  });

  await t.test('a member joins: the group rebalances to three again', async (t) => {
    await start('d');
    const assigned = await stableWith(3);
    t.ok(coversAll(assigned), 'three members cover all six partitions');
    await allProcessed(await produce(120));
  });

  await t.test('each record was processed once', async (t) => {
    t.equal(times.size, produced, 'every record produced was processed');
    const twice = [...times].filter(([, n]) => n !== 1);
    t.same(twice, [], 'none more than once');
  });

  await t.test('committed offsets survive a broker restart', async (t) => {
    for (const name of [...consumers.keys()]) await stop(name);
    const before = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const committed = before[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
    t.same(committed, Array(PARTITIONS).fill(produced / PARTITIONS), 'every partition committed to its end');
    const listed = await admin.listGroups();
    t.ok(listed.groups.some((g) => g.groupId === GROUP), 'listGroups shows the group');

    await admin.disconnect();
    await producer.disconnect();
    t.equal(await broker.stop(), 0, 'the broker stops cleanly');
    await broker.restart();
    await admin.connect();
    await producer.connect();

    let after: number[] = [];
    await eventually(
      'the committed offsets to be served again',
      async () => {
        try {
          const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
          after = res[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
    t.same(after, committed, 'fetchOffsets after the restart equals before');

    times.clear();
    const fresh = await produce(60);
    await start('e');
    // The fresh records reach every partition after anything older, and a partition is
    // consumed in order: once they are all processed, an older record would have been seen.
    await allProcessed(fresh);
    t.same([...times.keys()].sort(), [...fresh].sort(), 'a consumer of the group reads only what came after the commits');
  });

  await t.test('admin: describe, delete', async (t) => {
    await stop('e');
    const [g] = (await admin.describeGroups([GROUP])).groups;
    t.equal(g!.state, 'Empty', 'with no members the group is Empty');
    await admin.deleteGroups([GROUP]);
    const [gone] = (await admin.describeGroups([GROUP])).groups;
    t.equal(gone!.state, 'Dead', 'a deleted group is Dead');
    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    t.ok(offsets[0]!.partitions.every((p) => p.offset === '-1'), 'and its offsets are gone');
  });
});
