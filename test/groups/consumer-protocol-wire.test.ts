// Consumer groups (KIP-848) on the wire with a raw-protocol client: two members heartbeat
// into a group and split a topic with revoke-before-assign, offsets commit with the member
// epoch, ListGroups v5 shows the group's type, and after the broker restarts the coordinator
// knows the same members, epochs and assignments (its records in __consumer_offsets);
// OffsetDelete refuses a subscribed topic and deletes an unsubscribed one's offsets.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';

const GROUP = 'ledger';
const TOPIC = 'entries';

t.test('consumer group protocol on the wire, across a restart', async (t) => {
  const broker = await startBroker({ overrides: { 'offsets.topic.num.partitions': 3 } });
  brokerTeardown(t, broker);
  let client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }, { name: 'other', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  t.same(created.topics.map((x: any) => x.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  await client.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [GROUP] });

  const heartbeat = (memberId: string, memberEpoch: number, owned: any[] | null) =>
    client.request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: GROUP,
      memberId,
      memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
      subscribedTopicNames: memberEpoch === 0 ? [TOPIC] : null,
      subscribedTopicRegex: null,
      serverAssignor: memberEpoch === 0 ? 'range' : null,
      topicPartitions: owned,
    });
  const count = (a: any) => (a?.topicPartitions ?? []).reduce((n: number, tp: any) => n + tp.partitions.length, 0);

  let a: any;
  await eventually('the coordinator to load', async () => {
    a = await heartbeat('member-a', 0, []);
    return a.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  });
  t.equal(a.errorCode, ErrorCode.NONE);
  t.equal(count(a.assignment), 4, 'the first member gets all four partitions');
  const b = await heartbeat('member-b', 0, []);
  t.equal(count(b.assignment), 0, 'the second waits for them to be released');
  const a2 = await heartbeat('member-a', a.memberEpoch, a.assignment.topicPartitions);
  t.equal(count(a2.assignment), 2, 'the first is told to keep two (range: the lower half)');
  const a3 = await heartbeat('member-a', a2.memberEpoch, a2.assignment.topicPartitions);
  t.equal(a3.memberEpoch, b.memberEpoch, 'having revoked, it reaches the group epoch');
  const b2 = await heartbeat('member-b', b.memberEpoch, []);
  t.equal(count(b2.assignment), 2, 'the second gets the released two');

  const topicId = a2.assignment.topicPartitions[0].topicId;
  const commit = (epoch: number) =>
    client.request(ApiKey.OffsetCommit, 9, {
      groupId: GROUP, generationIdOrMemberEpoch: epoch, memberId: 'member-a', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: null, commitTimestamp: -1 }] }],
    });
  t.equal((await commit(a3.memberEpoch - 1)).topics[0].partitions[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH, 'a commit with an old epoch is refused');
  t.equal((await commit(a3.memberEpoch)).topics[0].partitions[0].errorCode, ErrorCode.NONE, 'with the current epoch it is taken');

  const listed = await client.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
  t.same(listed.groups.map((g: any) => [g.groupId, g.groupType, g.protocolType, g.groupState]), [[GROUP, 'consumer', 'consumer', 'Stable']], 'ListGroups v5: a Stable consumer group');
  const described = (await client.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0];

  await broker.stop();
  await broker.restart();
  client.close();
  client = await WireClient.connect(broker.port);
  let again: any;
  await eventually('the coordinator to load its partition again', async () => {
    await client.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [GROUP] });
    again = (await client.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0];
    return again.errorCode === ErrorCode.NONE;
  }, 30_000);
  const norm = (g: any) => ({ ...g, members: [...g.members].sort((x: any, y: any) => (x.memberId < y.memberId ? -1 : 1)) });
  t.same(norm(again), norm(described), 'after a restart: the same group epoch, members, epochs and assignments');
  const fetched = await client.request(ApiKey.OffsetFetch, 9, {
    groups: [{ groupId: GROUP, memberId: 'member-a', memberEpoch: a3.memberEpoch, topics: [{ name: TOPIC, partitionIndexes: [0] }] }], requireStable: false,
  });
  t.equal(fetched.groups[0].topics[0].partitions[0].committedOffset, 42, 'the committed offset is still there, fetched by the member');
  t.equal((await heartbeat('member-a', a3.memberEpoch, a3.assignment?.topicPartitions ?? a2.assignment.topicPartitions)).errorCode, ErrorCode.NONE, 'the member heartbeats on with its epoch');

  const del = await client.request(ApiKey.OffsetDelete, 0, { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
  t.equal(del.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 'OffsetDelete refuses a topic the group reads');
  const other = await client.request(ApiKey.OffsetCommit, 9, {
    groupId: GROUP, generationIdOrMemberEpoch: a3.memberEpoch, memberId: 'member-a', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null, commitTimestamp: -1 }] }],
  });
  t.equal(other.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const del2 = await client.request(ApiKey.OffsetDelete, 0, { groupId: GROUP, topics: [{ name: 'other', partitions: [{ partitionIndex: 0 }] }] });
  t.equal(del2.topics[0].partitions[0].errorCode, ErrorCode.NONE, 'OffsetDelete of a topic no member reads');
  const gone = await client.request(ApiKey.OffsetFetch, 9, { groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: [{ name: 'other', partitionIndexes: [0] }] }], requireStable: false });
  t.equal(gone.groups[0].topics[0].partitions[0].committedOffset, -1, 'its offset is gone');
  t.equal(topicId.length, 22, 'topic ids are Kafka uuids');
});
