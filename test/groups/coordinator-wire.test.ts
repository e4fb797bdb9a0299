// The coordinator seen on the wire, at versions the client tests do not reach: batched
// FindCoordinator (v4) and OffsetFetch (v8), MEMBER_ID_REQUIRED from JoinGroup v4 on but not
// before, ListGroups state filters, and the __consumer_offsets log holding Kafka-format
// records for the group's commits on the partition Kafka's hash rule names.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/shared/groups/coordinator-partition.js';
import { decodeKey, decodeOffsetValue } from '../../src/shared/groups/records.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { readPartition, WireClient } from '../clients/wire-client.js';

const OFFSET_PARTITIONS = 7;

t.test('group coordinator on the wire', async (t) => {
  const broker = await startBroker({ overrides: { 'offsets.topic.num.partitions': OFFSET_PARTITIONS, 'transaction.state.log.num.partitions': 2, 'group.initial.rebalance.delay.ms': 0 } });
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());

  await t.test('FindCoordinator creates the offsets topic and answers by key', async (t) => {
    const v4 = await client.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['alpha', 'beta'] });
    t.same(
      v4.coordinators.map((c: any) => [c.key, c.errorCode, c.nodeId, c.port]),
      [
        ['alpha', ErrorCode.NONE, broker.nodeId, broker.port],
        ['beta', ErrorCode.NONE, broker.nodeId, broker.port],
      ],
      'v4: one answer per key, this broker',
    );
    const v0 = await client.request(ApiKey.FindCoordinator, 0, { key: 'alpha' });
    t.same([v0.errorCode, v0.nodeId, v0.host, v0.port], [ErrorCode.NONE, broker.nodeId, '127.0.0.1', broker.port], 'v0');
    const txn = await client.request(ApiKey.FindCoordinator, 3, { key: 'tx', keyType: 1 });
    t.same([txn.errorCode, txn.nodeId], [ErrorCode.NONE, broker.nodeId], 'a transactional id is coordinated here too');
    const md = await client.request(ApiKey.Metadata, 9, { topics: [{ name: OFFSETS_TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    t.equal(md.topics[0].partitions.length, OFFSET_PARTITIONS, 'offsets topic has offsets.topic.num.partitions partitions');
  });

  const join = (version: number, memberId: string) =>
    client.request(ApiKey.JoinGroup, version, {
      groupId: `join-v${version}`,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('m') }],
      reason: null,
    });

  await t.test('JoinGroup: member ids by version', async (t) => {
    // The partition may still be loading right after creation: clients retry that.
    let first: any;
    await eventually('the coordinator to finish loading', async () => {
      first = await join(5, '');
      return first.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    });
    t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'v5 first join: MEMBER_ID_REQUIRED');
    const second = await join(5, first.memberId);
    t.same([second.errorCode, second.generationId, second.leader, second.protocolName], [ErrorCode.NONE, 1, first.memberId, 'range'], 'rejoin with the id: generation 1');
    let old: any;
    await eventually('the coordinator to finish loading', async () => {
      old = await join(3, '');
      return old.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    });
    t.same([old.errorCode, old.generationId], [ErrorCode.NONE, 1], 'v3: joins at once, no member id round trip');
    const sync = await client.request(ApiKey.SyncGroup, 3, { groupId: 'join-v3', generationId: 1, memberId: old.memberId, groupInstanceId: null, assignments: [{ memberId: old.memberId, assignment: Buffer.from('mine') }] });
    t.equal(Buffer.from(sync.assignment).toString(), 'mine', 'SyncGroup relays the leader\'s assignment');
    const hb = await client.request(ApiKey.Heartbeat, 4, { groupId: 'join-v3', generationId: 1, memberId: old.memberId, groupInstanceId: null });
    t.equal(hb.errorCode, ErrorCode.NONE, 'heartbeat');
    const states = await client.request(ApiKey.ListGroups, 4, { statesFilter: ['Stable'] });
    t.same(states.groups.map((g: any) => g.groupId), ['join-v3'], 'ListGroups filters by state');
    const leave = await client.request(ApiKey.LeaveGroup, 1, { groupId: 'join-v3', memberId: old.memberId });
    t.equal(leave.errorCode, ErrorCode.NONE, 'LeaveGroup v1');
  });

  await t.test('OffsetCommit v8, batched OffsetFetch v8, and the records in the log', async (t) => {
    const groups = ['committer-1', 'committer-2'];
    for (const [i, groupId] of groups.entries()) {
      let res: any;
      await eventually('the commit to be taken', async () => {
        res = await client.request(ApiKey.OffsetCommit, 8, {
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 100 + i, committedLeaderEpoch: 2, committedMetadata: `meta-${i}` }] }],
        });
        return res.topics[0].partitions[0].errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      });
      t.equal(res.topics[0].partitions[0].errorCode, ErrorCode.NONE, `${groupId}: committed`);
    }
    const fetched = await client.request(ApiKey.OffsetFetch, 8, {
      groups: groups.map((groupId) => ({ groupId, topics: [{ name: 'events', partitionIndexes: [0, 1] }] })),
      requireStable: false,
    });
    t.same(
      fetched.groups.map((g: any) => [g.groupId, g.errorCode, g.topics[0].partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata])]),
      [
        ['committer-1', 0, [[0, 100, 2, 'meta-0'], [1, -1, -1, '']]],
        ['committer-2', 0, [[0, 101, 2, 'meta-1'], [1, -1, -1, '']]],
      ],
      'v8 answers each group, -1 where nothing was committed',
    );
    const v1 = await client.request(ApiKey.OffsetFetch, 1, { groupId: 'committer-1', topics: [{ name: 'events', partitionIndexes: [0] }] });
    t.equal(v1.topics[0].partitions[0].committedOffset, 100, 'v1 reads the same');

    const p = partitionForGroup('committer-1', OFFSET_PARTITIONS);
    const { records } = await readPartition(client, OFFSETS_TOPIC, p);
    const commits = records
      .map((r) => ({ key: decodeKey(r.key!), value: r.value }))
      .filter((r) => r.key.type === 'offset' && r.key.group === 'committer-1');
    t.equal(commits.length, 1, `the commit is a record on ${OFFSETS_TOPIC}-${p}`);
    t.same(commits[0]!.key, { type: 'offset', group: 'committer-1', topic: 'events', partition: 0 });
    t.match(decodeOffsetValue(commits[0]!.value!), { offset: 100, leaderEpoch: 2, metadata: 'meta-0' });
  });
});
