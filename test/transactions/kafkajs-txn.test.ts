// kafkajs consume-transform-produce: each transaction writes to the output topic and commits
// the input offsets of a group with sendOffsets. A committed transaction moves both the
// output and the group's offsets; an aborted one moves neither; a read_committed reader of
// the output sees the committed transactions' records only.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';

const INPUT = 'kjs-txn-in';
const OUTPUT = 'kjs-txn-out';
const GROUP = 'kjs-transformer';

t.test('kafkajs transactions with sendOffsets', async (t) => {
  const broker = await startBroker({ overrides: { 'transaction.state.log.num.partitions': 2, 'offsets.topic.num.partitions': 2, 'group.initial.rebalance.delay.ms': 0 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'kjs-txn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: 1 }, { topic: OUTPUT, numPartitions: 2 }], waitForLeaders: true });

  const producer = kafka.producer({ transactionalId: 'kjs-transformer-1', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const groupOffset = async (): Promise<string> => (await admin.fetchOffsets({ groupId: GROUP, topics: [INPUT] }))[0]!.partitions[0]!.offset;
  const wire = await WireClient.connect(broker.port);
  t.teardown(() => wire.close());
  /** EndTxn answers once the outcome is decided; markers follow. Waits until the coordinator has written them all. */
  const settled = async (state: string): Promise<void> => {
    for (;;) {
      const r = await wire.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['kjs-transformer-1'] });
      if (r.transactionStates[0].transactionState === state) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  /** OffsetFetch v7 with require_stable, as the Java client asks under read_committed: the partition's error code. */
  const stableFetch = async (): Promise<number> => {
    const r = await wire.request(ApiKey.OffsetFetch, 7, { groupId: GROUP, topics: [{ name: INPUT, partitionIndexes: [0] }], requireStable: true });
    return r.topics[0].partitions[0].errorCode as number;
  };

  /**
   * One transformed batch of input records [from, to): output records plus the group's
   * offset, committed or aborted. Answers what a stable offset fetch said while the
   * transaction was open.
   */
  const transform = async (from: number, to: number, commit: boolean): Promise<number> => {
    const txn = await producer.transaction();
    const messages = Array.from({ length: to - from }, (_, i) => ({ value: `out-${from + i}`, partition: (from + i) % 2 }));
    await txn.send({ topic: OUTPUT, messages });
    await txn.sendOffsets({ consumerGroupId: GROUP, topics: [{ topic: INPUT, partitions: [{ partition: 0, offset: String(to) }] }] });
    const whileOpen = await stableFetch();
    if (commit) await txn.commit();
    else await txn.abort();
    await settled(commit ? 'CompleteCommit' : 'CompleteAbort');
    return whileOpen;
  };

  t.equal(await transform(0, 10, true), ErrorCode.UNSTABLE_OFFSET_COMMIT, 'while the transaction is open its offset is not stable');
  t.equal(await stableFetch(), ErrorCode.NONE, 'once it committed, it is');
  t.equal(await groupOffset(), '10', 'a committed transaction moves the group offset');
  await transform(10, 20, false);
  t.equal(await groupOffset(), '10', 'an aborted one does not');
  await transform(10, 25, true);
  t.equal(await groupOffset(), '25', 'the retried range commits');

  const reader = kafka.consumer({ groupId: 'kjs-txn-reader', readUncommitted: false });
  await reader.connect();
  t.teardown(() => reader.disconnect());
  await reader.subscribe({ topic: OUTPUT, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    void reader.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.includes('out-24') && seen.includes('out-23')) resolve();
      },
    });
  });
  const expected = [...Array.from({ length: 10 }, (_, i) => `out-${i}`), ...Array.from({ length: 15 }, (_, i) => `out-${10 + i}`)];
  t.same([...seen].sort(), [...expected].sort(), 'read_committed: the committed transactions only, each record once');

  // The group's offsets come back from the log after a restart: the committed transactions'
  // staged records count, the aborted ones' (the last write here) do not.
  await transform(25, 30, false);
  await reader.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  wire.close();
  await broker.stop();
  await broker.restart();
  const again = kafka.admin();
  await again.connect();
  t.teardown(() => again.disconnect());
  let offset = '';
  for (let i = 0; i < 200 && offset !== '25'; i++) {
    offset = await again.fetchOffsets({ groupId: GROUP, topics: [INPUT] }).then((r) => r[0]!.partitions[0]!.offset, () => '');
    if (offset !== '25') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(offset, '25', 'after a restart the group offset is the last committed transaction\'s');
});
