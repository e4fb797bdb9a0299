// The transaction coordinator dies mid-transaction (SIGKILL). Three brokers, replication
// factor 3 for `__transaction_state` and the data topic. A transactional producer (driven
// on the wire) has written to two partitions when its coordinator is killed; the leader of
// the id's `__transaction_state` partition moves, the new coordinator loads the
// transaction (Ongoing, with both partitions) and the producer's EndTxn(commit) there
// writes the markers to both partitions: read_committed then sees every record, none aborted.
// A second producer left open when the new coordinator took over is aborted by it once its
// timeout passes, and read_committed moves past it.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { partitionForGroup } from '../../src/shared/groups/coordinator-partition.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';
import { call, metadata, startCluster, waitFor, type Cluster } from '../cluster/fixtures/cluster.js';

const TOPIC = 'fo-txn';
const TXN_PARTITIONS = 3;
/** A second transactional id in the same `__transaction_state` partition, so the same coordinator has both. */
const EXPIRING = Array.from({ length: 100 }, (_, i) => `fo-expire-${i}`).find((id) => partitionForGroup(id, TXN_PARTITIONS) === partitionForGroup('fo-commit', TXN_PARTITIONS))!;
const RETRIABLE = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT,
]);

function txnBatch(producerId: number, values: string[]): Buffer {
  const b = buildRecordBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })), producerId, producerEpoch: 0, baseSequence: 0 });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

/** Asks `ask` of whichever broker `where` names until the answer's error is not retriable. */
async function settle<T>(what: string, where: () => Promise<number | undefined>, ask: (port: number) => Promise<T>, errorOf: (r: T) => number): Promise<T> {
  return waitFor(what, 60_000, async () => {
    const port = await where();
    if (port === undefined) return undefined;
    const r = await ask(port);
    return RETRIABLE.has(errorOf(r)) ? undefined : r;
  });
}

t.test('a new transaction coordinator completes or aborts what the old one left open', async (t) => {
  const cluster: Cluster = await startCluster({ 'transaction.state.log.num.partitions': TXN_PARTITIONS, 'transaction.state.log.replication.factor': 3, 'default.replication.factor': 3, 'min.insync.replicas': 2 });
  t.teardown(() => cluster.cleanup());
  const anyPort = (): number => cluster.running()[0]!.port;
  const created = await call<{ topics: { errorCode: number }[] }>(anyPort(), ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false,
  }, 30_000);
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE);

  const coordinatorOf = async (id: string): Promise<number | undefined> => {
    const r = await call<{ errorCode: number; nodeId: number; port: number }>(anyPort(), ApiKey.FindCoordinator, 3, { key: id, keyType: 1 });
    return r.errorCode === ErrorCode.NONE && cluster.running().some((b) => b.nodeId === r.nodeId) ? r.port : undefined;
  };
  const leaderOf = async (partition: number): Promise<number | undefined> => {
    const md = await metadata(anyPort(), [TOPIC]);
    const leader = md.topics[0]?.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    return cluster.running().find((b) => b.nodeId === leader)?.port;
  };
  const init = (id: string, timeoutMs: number) => settle(`InitProducerId ${id}`, () => coordinatorOf(id),
    (port) => call<{ errorCode: number; producerId: number; producerEpoch: number }>(port, ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1, producerEpoch: -1 }),
    (r) => r.errorCode);
  const add = (id: string, producerId: number, partitions: number[]) => settle(`AddPartitionsToTxn ${id}`, () => coordinatorOf(id),
    (port) => call<any>(port, ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: TOPIC, partitions }] }),
    (r) => r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode as number)
    .then((r) => r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode as number);
  const produce = (id: string, partition: number, records: Buffer) => settle(`Produce ${partition}`, () => leaderOf(partition),
    (port) => call<any>(port, ApiKey.Produce, 9, { transactionalId: id, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] }),
    (r) => r.responses[0].partitionResponses[0].errorCode as number);
  const stable = (partition: number) => settle(`ListOffsets ${partition}`, () => leaderOf(partition),
    (port) => call<any>(port, ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 1, topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] }),
    (r) => r.topics[0].partitions[0].errorCode as number).then((r) => r.topics[0].partitions[0].offset as number);
  const fetchCommitted = (partition: number) => settle(`Fetch ${partition}`, () => leaderOf(partition),
    (port) => call<any>(port, ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    }), (r) => r.responses[0].partitions[0].errorCode as number).then((r) => r.responses[0].partitions[0]);

  const p = await init('fo-commit', 60_000);
  t.equal(p.errorCode, ErrorCode.NONE, 'InitProducerId');
  t.equal(await add('fo-commit', p.producerId, [0, 1]), ErrorCode.NONE, 'AddPartitionsToTxn');
  for (const partition of [0, 1]) {
    const r = await produce('fo-commit', partition, txnBatch(p.producerId, ['a', 'b', 'c']));
    t.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, `records in partition ${partition}`);
  }
  const slow = await init(EXPIRING, 4_000);
  t.equal(await add(EXPIRING, slow.producerId, [1]), ErrorCode.NONE);
  t.equal((await produce(EXPIRING, 1, txnBatch(slow.producerId, ['x']))).responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

  const oldPort = (await coordinatorOf('fo-commit'))!;
  const old = cluster.running().find((b) => b.port === oldPort)!;
  await old.kill('SIGKILL');
  t.pass(`killed the coordinator, broker ${old.nodeId}`);

  const end = await settle('EndTxn', () => coordinatorOf('fo-commit'),
    (port) => call<{ errorCode: number }>(port, ApiKey.EndTxn, 3, { transactionalId: 'fo-commit', producerId: p.producerId, producerEpoch: 0, committed: true }),
    (r) => r.errorCode);
  t.equal(end.errorCode, ErrorCode.NONE, 'the new coordinator commits the transaction it loaded');
  const committed = await waitFor('partition 0 stable', 60_000, async () => ((await stable(0)) === 4 ? 4 : undefined));
  t.equal(committed, 4, 'partition 0: the commit marker is in, nothing is unstable');
  const after0 = await fetchCommitted(0);
  t.same([after0.abortedTransactions, after0.records.length > 0], [[], true], 'read_committed reads the records, none aborted');
  const expired = await waitFor('partition 1 stable', 60_000, async () => {
    const lso = await stable(1);
    return lso === 6 ? lso : undefined;
  });
  t.equal(expired, 6, 'partition 1: the commit marker and the expired transaction\'s abort marker are in');
  const after1 = await fetchCommitted(1);
  t.same(after1.abortedTransactions, [{ producerId: slow.producerId, firstOffset: 3 }], 'the expired transaction is aborted by the new coordinator');
});
