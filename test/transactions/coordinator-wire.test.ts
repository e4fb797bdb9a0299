// The transaction APIs on the wire against one broker: FindCoordinator for a transactional id,
// InitProducerId, AddPartitionsToTxn, transactional produce, the last stable offset seen by
// ListOffsets and Fetch under read_committed, fencing of a zombie by a new InitProducerId,
// the coordinator's abort of a transaction past its timeout, DescribeTransactions,
// ListTransactions, verification of transactional records with the coordinator (KIP-890),
// and the coordinator's state after a restart.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';

const TOPIC = 'wire-txn';
const RETRIABLE = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.CONCURRENT_TRANSACTIONS]);

function txnBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  const b = buildRecordBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })), producerId, producerEpoch, baseSequence });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

/** Repeats a request while it answers a retriable error, as clients do; fails after 30 s. */
async function retrying<T>(ask: () => Promise<T>, errorOf: (r: T) => number): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await ask();
    if (!RETRIABLE.has(errorOf(r)) || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('transactions on the wire', async (t) => {
  const broker = await startBroker({ overrides: { 'transaction.state.log.num.partitions': 2 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'wire-txn-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  let client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());

  const find = await retrying(() => client.request(ApiKey.FindCoordinator, 3, { key: 'tx-a', keyType: 1 }), (r) => r.errorCode);
  t.same([find.errorCode, find.nodeId, find.port], [ErrorCode.NONE, broker.nodeId, broker.port], 'FindCoordinator for a transactional id');
  const init = (id: string, timeoutMs = 60_000) =>
    retrying(() => client.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1, producerEpoch: -1 }), (r) => r.errorCode);
  const add = (id: string, p: { producerId: number; producerEpoch: number }, partitions: number[]) =>
    client.request(ApiKey.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions }],
    }).then((r) => r.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode));
  const produce = (id: string, partition: number, records: Buffer) =>
    client.request(ApiKey.Produce, 9, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] })
      .then((r) => r.responses[0].partitionResponses[0]);
  const latest = (partition: number, isolationLevel: number) =>
    client.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] })
      .then((r) => r.topics[0].partitions[0].offset as number);
  const fetchCommitted = (partition: number) =>
    client.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    }).then((r) => r.responses[0].partitions[0]);
  const describe = (id: string) => client.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] }).then((r) => r.transactionStates[0]);

  const zombie = await init('tx-a');
  t.same([zombie.errorCode, zombie.producerEpoch], [ErrorCode.NONE, 0], 'InitProducerId: a producer id at epoch 0');
  t.same(await add('tx-a', zombie, [0, 7]), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'a partition that does not exist fails the whole add');
  t.same(await add('tx-a', zombie, [0]), [ErrorCode.NONE], 'AddPartitionsToTxn');
  const written = await produce('tx-a', 0, txnBatch(zombie.producerId, 0, 0, ['x', 'y', 'z']));
  t.same([written.errorCode, written.baseOffset], [ErrorCode.NONE, 0], 'transactional records are written');
  t.same([await latest(0, 0), await latest(0, 1)], [3, 0], 'latest: 3 read_uncommitted, the last stable offset 0 read_committed');
  const open = await fetchCommitted(0);
  t.same([open.lastStableOffset, open.records.length], [0, 0], 'read_committed fetches nothing of the open transaction');
  const described = await describe('tx-a');
  t.same([described.errorCode, described.transactionState, described.topics], [ErrorCode.NONE, 'Ongoing', [{ topic: TOPIC, partitions: [0] }]], 'DescribeTransactions');
  const listed = await client.request(ApiKey.ListTransactions, 1, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: -1 });
  t.same([listed.errorCode, listed.transactionStates.map((s: { transactionalId: string }) => s.transactionalId), listed.unknownStateFilters], [ErrorCode.NONE, ['tx-a'], ['Bogus']], 'ListTransactions');

  const current = await init('tx-a');
  t.same([current.errorCode, current.producerId, current.producerEpoch], [ErrorCode.NONE, zombie.producerId, 2], 'a new InitProducerId aborts the open transaction and bumps the epoch');
  t.equal((await produce('tx-a', 0, txnBatch(zombie.producerId, 0, 3, ['late']))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'the zombie cannot write');
  const end = await client.request(ApiKey.EndTxn, 3, { transactionalId: 'tx-a', producerId: zombie.producerId, producerEpoch: 0, committed: true });
  t.equal(end.errorCode, ErrorCode.PRODUCER_FENCED, 'nor commit');
  const aborted = await fetchCommitted(0);
  t.same([aborted.lastStableOffset, aborted.highWatermark], [4, 4], 'the abort marker moves the last stable offset to the end');
  t.same(aborted.abortedTransactions, [{ producerId: zombie.producerId, firstOffset: 0 }], 'read_committed is told which records to drop');

  // KIP-890 verification: a transactional batch for a partition outside the producer's
  // ongoing transaction (never added, or arriving after the transaction ended) is refused,
  // so it cannot open a transaction no coordinator would ever end.
  t.equal((await produce('tx-a', 1, txnBatch(current.producerId, 2, 0, ['stray']))).errorCode, ErrorCode.INVALID_TXN_STATE, 'a partition not added to the transaction is refused');
  await retrying(() => client.request(ApiKey.FindCoordinator, 3, { key: 'g-wire', keyType: 0 }), (r) => r.errorCode);
  const txnCommit = () => client.request(ApiKey.TxnOffsetCommit, 3, {
    transactionalId: 'tx-a', groupId: 'g-wire', producerId: current.producerId, producerEpoch: 2, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' }] }],
  }).then((r) => r.topics[0].partitions[0].errorCode as number);
  t.equal(await retrying(txnCommit, (code) => code), ErrorCode.INVALID_TXN_STATE, 'TxnOffsetCommit before AddOffsetsToTxn is refused');
  const addOffsets = await client.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: 'tx-a', producerId: current.producerId, producerEpoch: 2, groupId: 'g-wire' });
  t.equal(addOffsets.errorCode, ErrorCode.NONE, 'AddOffsetsToTxn');
  t.equal(await txnCommit(), ErrorCode.NONE, 'then TxnOffsetCommit is taken');
  t.same(await add('tx-a', current, [0]), [ErrorCode.NONE]);
  t.equal((await produce('tx-a', 0, txnBatch(current.producerId, 2, 0, ['in']))).errorCode, ErrorCode.NONE);
  const commit = await client.request(ApiKey.EndTxn, 3, { transactionalId: 'tx-a', producerId: current.producerId, producerEpoch: 2, committed: true });
  t.equal(commit.errorCode, ErrorCode.NONE, 'EndTxn commit');
  await retrying(() => describe('tx-a'), (r) => (r.transactionState === 'CompleteCommit' ? ErrorCode.NONE : ErrorCode.CONCURRENT_TRANSACTIONS));
  t.equal((await produce('tx-a', 0, txnBatch(current.producerId, 2, 1, ['late']))).errorCode, ErrorCode.INVALID_TXN_STATE, 'a batch after its transaction ended is refused');
  t.same([await latest(0, 1), await latest(0, 0)], [6, 6], 'nothing holds the last stable offset back');

  const slow = await init('tx-b', 1_000);
  t.same(await add('tx-b', slow, [1]), [ErrorCode.NONE]);
  t.equal((await produce('tx-b', 1, txnBatch(slow.producerId, 0, 0, ['never']))).errorCode, ErrorCode.NONE);
  const expired = await retrying(() => describe('tx-b'), (r) => (r.transactionState === 'CompleteAbort' ? ErrorCode.NONE : ErrorCode.CONCURRENT_TRANSACTIONS));
  t.same([expired.transactionState, expired.producerEpoch], ['CompleteAbort', 1], 'a transaction past its timeout is aborted, its producer fenced');
  t.equal(await latest(1, 1), 2, 'read_committed moves past it');

  client.close();
  await broker.stop();
  await broker.restart();
  client = await WireClient.connect(broker.port);
  const reloaded = await retrying(() => describe('tx-a'), (r) => r.errorCode);
  t.same([reloaded.errorCode, reloaded.transactionState, reloaded.producerId, reloaded.producerEpoch], [ErrorCode.NONE, 'CompleteCommit', zombie.producerId, 2], 'after a restart the coordinator knows the id');
  t.same(await latest(0, 1), 6, 'and the partition its last stable offset');
  const aborted2 = await fetchCommitted(0);
  t.same(aborted2.abortedTransactions, [{ producerId: zombie.producerId, firstOffset: 0 }], 'and its aborted transactions');

  // After a crash the partition's transactions come back from the log itself (its markers).
  const openAgain = await init('tx-c');
  t.same(await add('tx-c', openAgain, [1]), [ErrorCode.NONE]);
  t.equal((await produce('tx-c', 1, txnBatch(openAgain.producerId, 0, 0, ['pending']))).errorCode, ErrorCode.NONE);
  const lsoBefore = await latest(1, 1);
  client.close();
  await broker.kill('SIGKILL');
  await broker.restart();
  client = await WireClient.connect(broker.port);
  t.same([await latest(0, 1), await latest(1, 1)], [6, lsoBefore], 'after a SIGKILL: the same last stable offsets, the open transaction still holding partition 1');
  const crashed = await fetchCommitted(0);
  t.same(crashed.abortedTransactions, [{ producerId: zombie.producerId, firstOffset: 0 }], 'and the same aborted transactions');
  const ended = await retrying(() => client.request(ApiKey.EndTxn, 3, { transactionalId: 'tx-c', producerId: openAgain.producerId, producerEpoch: 0, committed: true }), (r) => r.errorCode);
  t.equal(ended.errorCode, ErrorCode.NONE, 'the transaction open at the crash commits');
  // The commit marker follows EndTxn's answer: it lands at lsoBefore + 1, so the end is lsoBefore + 2.
  const settledLso = await retrying(() => latest(1, 1), (lso) => (lso === lsoBefore + 2 ? ErrorCode.NONE : ErrorCode.CONCURRENT_TRANSACTIONS));
  t.same([settledLso, await latest(1, 0)], [lsoBefore + 2, lsoBefore + 2], 'and the last stable offset reaches the end, past the commit marker');
});
