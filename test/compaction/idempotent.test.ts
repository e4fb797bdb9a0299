// An idempotent producer goes on writing to a compacted topic after the cleaner removed its
// records: its next sequence is taken, and a retry of its last batch is recognised as one and
// answered with the original offsets, even after a crash whose restart had to rebuild the
// producer state from the log alone (its snapshots removed): the cleaner kept the header of the
// producer's last batch, with its sequence, as Kafka's does.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { startBroker } from '../helpers/broker.js';
import { cleanings, createTopic, produce, rows } from './helpers.js';

const TOPIC = 'idempotent-compacted';
const SEGMENT_MS = 60_000;

t.test('an idempotent producer continues after its records were cleaned away', async (t) => {
  const broker = await startBroker({ overrides: { 'log.cleaner.backoff.ms': 100, 'num.partition.workers': 1 }, env: { LOG_LEVEL: 'info', LOG_FORMAT: 'json' } });
  brokerTeardown(t, broker);
  let client = await WireClient.connect(broker.port);
  await createTopic(client, TOPIC, { 'cleanup.policy': 'compact', 'segment.bytes': 4096, 'segment.ms': SEGMENT_MS, 'min.cleanable.dirty.ratio': 0.01 });
  const init = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1, producerEpoch: -1 });
  t.equal(init.errorCode, ErrorCode.NONE);
  const { producerId, producerEpoch } = init;
  const send = async (c: WireClient, baseSequence: number, key: string, ts = Date.now()): Promise<{ errorCode: number; baseOffset: number }> => {
    const records = buildRecordBatch({ firstTimestamp: ts, producerId, producerEpoch, baseSequence, records: [0, 1].map((i) => ({ key: Buffer.from(`${key}-${i}`), value: Buffer.from(`seq-${baseSequence + i}`) })) });
    const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
    const p = r.responses[0].partitionResponses[0];
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  };

  // The producer writes keys a-0, a-1 (sequences 0-1), then another client overwrites them:
  // a cleaning leaves nothing of the producer's records.
  const first = await send(client, 0, 'a');
  t.equal(first.errorCode, ErrorCode.NONE);
  await produce(client, TOPIC, Array.from({ length: 200 }, (_, i) => ({ key: `a-${i % 2}`, value: `other-${i}-${'x'.repeat(60)}` })), { perBatch: 10 });
  const [rolled] = await produce(client, TOPIC, [{ key: 'roll', value: 'roll' }], { lastTimestamp: Date.now() + SEGMENT_MS + 1000 });
  await eventually('a cleaning up to the roll', () => cleanings(broker.output()).some((c) => c.nextDirtyOffset === rolled), 30_000);
  const read = rows((await readPartition(client, TOPIC, 0)).records);
  t.notOk(read.some((r) => r.value?.startsWith('seq-')), 'the producer\'s records were cleaned away');

  const retry = await send(client, 0, 'a');
  t.same(retry, first, 'a retry of its last batch is answered with the original offsets');

  // A crash, and no producer snapshot to start from: the state comes from the log alone.
  client.close();
  await broker.kill('SIGKILL');
  const dir = path.join(broker.dataDir, `${TOPIC}-0`);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.snapshot'))) rmSync(path.join(dir, f));
  await broker.restart();
  client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const again = await send(client, 0, 'a');
  t.same(again, first, 'after the restart the retry is still recognised');
  const next = await send(client, 2, 'b');
  t.equal(next.errorCode, ErrorCode.NONE, 'and its next sequence is taken (no OUT_OF_ORDER_SEQUENCE_NUMBER)');
  const final = rows((await readPartition(client, TOPIC, 0)).records);
  t.notOk(final.some((r) => r.value === 'seq-0'), 'the retried batch was not written again');
});
