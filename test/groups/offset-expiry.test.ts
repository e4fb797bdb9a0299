// Committed offsets expire as in Kafka: offsets.retention.minutes after a group became empty
// (or, without a group, after their commit), checked every offsets.retention.check.interval.ms.
// The rules on their own first, then against a broker with kafkajs: the offsets of a group
// whose consumer left are gone (tombstones written, still gone after a restart), those of a
// group whose consumer still subscribes to the topic stay.
import t from 'tap';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { newGroup, type CommittedOffset } from '../../src/shared/groups/group.js';
import { GroupStateMachine } from '../../src/shared/groups/group-state-machine.js';
import { expiredOffsets } from '../../src/shared/groups/offset-expiry.js';
import { decodeKey } from '../../src/shared/groups/records.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { readPartition, WireClient } from '../clients/wire-client.js';

const HOUR = 3_600_000;

function offset(topic: string, commitTimestamp: number): CommittedOffset {
  return { topic, partition: 0, offset: 5, leaderEpoch: -1, metadata: '', commitTimestamp };
}

t.test('which offsets expire', async (t) => {
  const g = newGroup('g', 0);
  g.offsets.set('0:a', offset('a', 10 * HOUR));
  const topics = (): Set<string> => new Set(['a']);
  t.same(expiredOffsets(g, 10 * HOUR + HOUR - 1, HOUR, topics, null), [], 'without a group: kept until retention after the commit');
  t.equal(expiredOffsets(g, 11 * HOUR, HOUR, topics, null).length, 1, 'then expired');
  t.same(expiredOffsets(g, 11 * HOUR, HOUR, topics, (topic) => topic === 'a'), [], 'a consumer group subscribing to the topic keeps it');
  g.protocolType = 'consumer';
  g.stateTimestamp = 10.5 * HOUR;
  t.same(expiredOffsets(g, 11 * HOUR, HOUR, topics, null), [], 'an empty group: retention counts from when it became empty');
  t.equal(expiredOffsets(g, 11.5 * HOUR, HOUR, topics, null).length, 1);
  g.state = 'Stable';
  g.members.set('m', { memberId: 'm' } as never);
  t.same(expiredOffsets(g, 20 * HOUR, HOUR, topics, null), [], 'a stable consumer group keeps the topics it subscribes to');
  t.equal(expiredOffsets(g, 20 * HOUR, HOUR, () => new Set(['b']), null).length, 1, 'not the others');
  g.state = 'PreparingRebalance';
  t.same(expiredOffsets(g, 20 * HOUR, HOUR, () => new Set(), null), [], 'a rebalancing group keeps everything');
});

t.test('the group state machine writes tombstones for expired offsets, and forgets them once written', async (t) => {
  const m = new GroupStateMachine({ initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1, maxSessionTimeoutMs: HOUR, maxMetadataBytes: 4096, newMemberId: () => 'member' });
  const commit = m.commitOffsets(0, 1, { groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 'a', partition: 0, offset: 7, leaderEpoch: -1, metadata: null }] });
  m.persisted(0, commit.writes[0]!.token, ErrorCode.NONE);
  t.same(m.expireOffsets(HOUR - 1, HOUR, () => null).writes, [], 'nothing before retention');
  const fx = m.expireOffsets(HOUR, HOUR, () => null);
  t.same(fx.writes[0]!.records.map((r) => [decodeKey(r.key).type, r.value]), [['offset', null], ['group', null]], 'a tombstone for the offset and for the group left empty');
  t.same(m.expireOffsets(HOUR, HOUR, () => null).writes, [], 'not written twice while the first write is on its way');
  t.equal(m.fetchOffsets('g', [{ name: 'a', partitions: [0] }])[0]!.offset, 7, 'the offset counts until its tombstone is written');
  m.persisted(HOUR, fx.writes[0]!.token, ErrorCode.NONE);
  t.equal(m.fetchOffsets('g', [{ name: 'a', partitions: [0] }])[0]!.offset, -1, 'then it is gone');
  t.equal(m.presence('g'), 'absent', 'and so is the group');
});

const TOPIC = 'expiring';

t.test('kafkajs: the offsets of a group left empty expire, those of a subscribed group stay', async (t) => {
  const broker = await startBroker({
    overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 1, 'offsets.retention.minutes': 0.05, 'offsets.retention.check.interval.ms': 300 },
  });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'offset-expiry', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'one' }] });
  await producer.disconnect();

  const consumers: Consumer[] = [];
  t.teardown(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
  });
  const consumeAndCommit = async (groupId: string): Promise<Consumer> => {
    const c = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    consumers.push(c);
    await c.connect();
    await c.subscribe({ topic: TOPIC, fromBeginning: true });
    let seen = false;
    await c.run({ autoCommit: false, eachMessage: async () => void (seen = true) });
    await eventually(`${groupId} to consume`, () => seen, 30_000);
    await c.commitOffsets([{ topic: TOPIC, partition: 0, offset: '1' }]);
    return c;
  };
  const committed = async (groupId: string): Promise<string> => (await admin.fetchOffsets({ groupId, topics: [TOPIC] }))[0]!.partitions[0]!.offset;

  const gone = await consumeAndCommit('gone');
  await consumeAndCommit('staying');
  t.equal(await committed('gone'), '1', 'the offset is committed');
  await gone.disconnect();
  await eventually('the empty group\'s offsets to expire', async () => (await committed('gone')) === '-1', 20_000);
  t.pass('the empty group\'s offset expired');
  t.equal(await committed('staying'), '1', 'the group still subscribed keeps its offset past the retention');

  const wire = await WireClient.connect(broker.port);
  t.teardown(() => wire.close());
  const log = (await readPartition(wire, '__consumer_offsets', 0)).records;
  const tombstones = log.filter((r) => r.value === null).map((r) => decodeKey(r.key!)).map((k) => (k.type === 'offset' ? `${k.group}/${k.topic}/${k.partition}` : `${k.type}/${k.group}`));
  t.same(tombstones, ['gone/expiring/0', 'group/gone'], 'tombstones for the offset and the group are in __consumer_offsets');
});
