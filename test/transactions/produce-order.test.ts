// A transactional producer pipelines its produce requests on one connection (the Java
// client keeps up to five in flight). The first names a partition the leader has not yet
// checked with the transaction's coordinator, on another broker; the second, right behind
// it, only a partition already checked. The second must not reach the log first: its batch
// would be refused as out of sequence, which the Java client cannot retry (the batch
// before it was acknowledged by then) and Kafka Streams answers by abandoning its tasks.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';
import { WireClient } from '../clients/wire-client.js';
import { call, startCluster, waitFor } from '../cluster/fixtures/cluster.js';

const TOPIC = 'ordered-txn';

function txnBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  const b = buildRecordBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })), producerId, producerEpoch, baseSequence });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

t.test('pipelined transactional produce requests append in the order they were sent', async (t) => {
  const cluster = await startCluster({ 'transaction.state.log.num.partitions': 4, 'transaction.state.log.replication.factor': 1 }, 2);
  t.teardown(() => cluster.cleanup());
  const leader = cluster.broker(1);
  const created = await call<{ topics: { errorCode: number }[] }>(leader.port, ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1] }], configs: [] }],
    timeoutMs: 15_000,
    validateOnly: false,
  }, 30_000);
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'both partitions on broker 1');

  // A transactional id whose coordinator is broker 2, so broker 1 checks over the network.
  const { id, port } = await waitFor('a transactional id coordinated by broker 2', 30_000, async () => {
    for (let i = 0; i < 40; i++) {
      const r = await call<{ errorCode: number; nodeId: number; port: number }>(leader.port, ApiKey.FindCoordinator, 3, { key: `ordered-${i}`, keyType: 1 });
      if (r.errorCode !== ErrorCode.NONE) return undefined;
      if (r.nodeId === 2) return { id: `ordered-${i}`, port: r.port };
    }
    return undefined;
  });
  const init = await waitFor('InitProducerId', 30_000, async () => {
    const r = await call<{ errorCode: number; producerId: number; producerEpoch: number }>(port, ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    return r.errorCode === ErrorCode.NONE ? r : undefined;
  });
  const { producerId, producerEpoch } = init;
  const added = await call<any>(port, ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0, 1] }] });
  t.same(added.resultsByTopicV3AndBelow[0].resultsByPartition.map((p: { partitionErrorCode: number }) => p.partitionErrorCode), [ErrorCode.NONE, ErrorCode.NONE], 'both partitions in the transaction');

  const wire = await WireClient.connect(leader.port);
  t.teardown(() => wire.close());
  const produce = (data: { index: number; records: Buffer }[]) => wire.request<any>(ApiKey.Produce, 9, {
    transactionalId: id, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: data }],
  });
  const errorsOf = (r: any): number[] => r.responses[0].partitionResponses.map((p: { errorCode: number }) => p.errorCode);
  const first = await produce([{ index: 0, records: txnBatch(producerId, producerEpoch, 0, ['a0', 'a1', 'a2']) }]);
  t.same(errorsOf(first), [ErrorCode.NONE], 'partition 0 checked and written');

  const [both, behind] = await Promise.all([
    produce([{ index: 0, records: txnBatch(producerId, producerEpoch, 3, ['b0', 'b1', 'b2']) }, { index: 1, records: txnBatch(producerId, producerEpoch, 0, ['c0']) }]),
    produce([{ index: 0, records: txnBatch(producerId, producerEpoch, 6, ['d0', 'd1', 'd2']) }]),
  ]);
  t.same(errorsOf(both), [ErrorCode.NONE, ErrorCode.NONE], 'the request naming a partition new to the check goes in');
  t.same(errorsOf(behind), [ErrorCode.NONE], 'the request behind it goes in too, not refused as out of sequence');
  t.same([both.responses[0].partitionResponses[0].baseOffset, behind.responses[0].partitionResponses[0].baseOffset], [3, 6], 'in the order they were sent');
});
