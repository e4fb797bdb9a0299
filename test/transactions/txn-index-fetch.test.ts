// A read_committed Fetch lists the aborted transactions of old, rolled segments (from their
// .txnindex files) after a clean restart and after a SIGKILL: kafkajs transactions, every other
// one aborted, on a topic whose segments roll after about one transaction each.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';

const TOPIC = 'txn-index-fetch';
const TXN_ID = 'txn-index-fetch-1';

interface Aborted {
  producerId: number;
  firstOffset: number;
}

t.test('read_committed finds the aborted transactions of rolled segments across restarts', async (t) => {
  const broker = await startBroker({ overrides: { 'transaction.state.log.num.partitions': 2 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'txn-index-fetch', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }], waitForLeaders: true });
  await admin.disconnect();
  let wire = await WireClient.connect(broker.port);
  t.teardown(() => wire.close());

  const describe = async (): Promise<{ transactionState: string; producerId: number }> =>
    (await wire.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID] })).transactionStates[0];
  const fetchCommitted = async (fetchOffset: number): Promise<Aborted[]> => {
    const r = await wire.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = r.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`fetch at ${fetchOffset}: error ${p.errorCode}`);
    return (p.abortedTransactions ?? []).map((a: { producerId: bigint | number; firstOffset: bigint | number }) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }));
  };

  /** `n` transactions, every other one aborted (the first included); the aborted ones. */
  const transactions = async (producer: Producer, n: number): Promise<Aborted[]> => {
    const aborted: Aborted[] = [];
    for (let i = 0; i < n; i++) {
      const txn = await producer.transaction();
      const sent = await txn.send({ topic: TOPIC, messages: Array.from({ length: 3 }, (_, j) => ({ value: Buffer.alloc(300, i * 3 + j) })) });
      const commit = i % 2 === 1;
      if (commit) await txn.commit();
      else await txn.abort();
      for (;;) {
        const d = await describe();
        if (d.transactionState === (commit ? 'CompleteCommit' : 'CompleteAbort')) {
          if (!commit) aborted.push({ producerId: Number(d.producerId), firstOffset: Number(sent[0]!.baseOffset) });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return aborted;
  };
  const connectProducer = async (): Promise<Producer> => {
    const producer = kafka.producer({ transactionalId: TXN_ID, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    return producer;
  };

  let producer = await connectProducer();
  const first = await transactions(producer, 6);
  await producer.disconnect();
  const logDir = path.join(broker.dataDir, `${TOPIC}-0`);
  const indexed = fs.readdirSync(logDir).filter((n) => n.endsWith('.txnindex')).length;
  t.equal(indexed, 3, 'each aborted transaction in the .txnindex of its own segment');
  t.same(await fetchCommitted(0), first, 'read_committed from the start: the three aborted transactions');
  t.same(await fetchCommitted(first[1]!.firstOffset), first.slice(1), 'from the second one on: the last two');

  wire.close();
  await broker.stop();
  await broker.restart();
  wire = await WireClient.connect(broker.port);
  t.same(await fetchCommitted(0), first, 'after a clean restart: the same');

  producer = await connectProducer();
  const later = await transactions(producer, 4);
  await producer.disconnect();
  wire.close();
  await broker.kill('SIGKILL');
  await broker.restart();
  wire = await WireClient.connect(broker.port);
  t.same(await fetchCommitted(0), [...first, ...later], 'after a SIGKILL: those and the two aborted since');
});
