// A real broker process on a size-limited tmpfs: a partition whose disk fills up answers
// KAFKA_STORAGE_ERROR, then comes back by itself once space is freed, with every acknowledged
// record there exactly once and nothing of the write that failed half-way. mount needs root:
// the file skips itself otherwise, and the test skips itself when the mount fails.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { eventually } from '../clients/harness.js';
import { WireClient, readPartition } from '../clients/wire-client.js';
import { mountTmpfs, type TapLike } from './helpers.js';

const TOPIC = 'disk-full';
const BIG_VALUE = 256 * 1024;

/** Stops the broker before the mount goes; prints its log tail when the test failed. */
function stopAtTeardown(t: TapLike, broker: BrokerProcess): void {
  t.teardown(async () => {
    if (!t.passing()) t.comment(`broker log (tail):\n${broker.output().split('\n').slice(-40).join('\n')}`);
    await broker.kill();
  });
}

async function produce(client: WireClient, values: Buffer[]): Promise<number> {
  const records = buildRecordBatch({ records: values.map((value) => ({ key: null, value })) });
  const r = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  return r.responses[0].partitionResponses[0].errorCode as number;
}

async function fetchError(client: WireClient): Promise<number> {
  const r = await client.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1024 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  return r.responses[0].partitions[0].errorCode as number;
}

/** Record values are `<id>|<padding>`; tests compare the ids. */
const value = (id: string, padding = 0): Buffer => Buffer.concat([Buffer.from(`${id}|`), Buffer.alloc(padding, 0x61)]);
const idOf = (v: Buffer | null): string => (v ? v.subarray(0, v.indexOf(0x7c)).toString() : 'null');

if (process.getuid?.() !== 0) {
  t.plan(1);
  t.pass('not root: skipping the disk-full test (mount needs root)');
} else {
  t.test('a partition whose disk filled up comes back once space is freed, without a restart', async (t) => {
    const mount = mountTmpfs(t, 'size=8m');
    if ('error' in mount) {
      t.pass(`mount -t tmpfs failed (${mount.error}): skipping`);
      return;
    }
    const broker = await startBroker({ dataDir: path.join(mount.dir, 'data'), overrides: { 'num.partitions': 1 } });
    stopAtTeardown(t, broker);
    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    const acked: string[] = [];
    const send = async (ids: string[], padding = 0): Promise<number> => {
      const error = await produce(client, ids.map((id) => value(id, padding)));
      if (error === ErrorCode.NONE) acked.push(...ids);
      return error;
    };
    const batchIds = (prefix: string, n: number): string[] => Array.from({ length: 5 }, (_, i) => `${prefix}${n}.${i}`);

    await eventually('the auto-created topic to take a produce', async () => (await send(batchIds('before-', 0))) === ErrorCode.NONE, 30_000);
    let errors = 0;
    for (let n = 1; n < 20; n++) if ((await send(batchIds('before-', n))) !== ErrorCode.NONE) errors++;
    t.equal(errors, 0, 'produce works while there is room');

    // Leave a little more than two big batches of room, so the disk fills in the middle of one.
    const st = fs.statfsSync(mount.dir);
    const filler = path.join(mount.dir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail * st.bsize - 600 * 1024)));
    let failure: number = ErrorCode.NONE;
    for (let n = 0; n < 40 && failure === ErrorCode.NONE; n++) failure = await send([`big-${n}`], BIG_VALUE);
    t.equal(failure, ErrorCode.KAFKA_STORAGE_ERROR, 'the produce that found the disk full gets KAFKA_STORAGE_ERROR');
    t.equal(await send(batchIds('while-full-', 0)), ErrorCode.KAFKA_STORAGE_ERROR, 'so does the next one, while the disk is full');
    t.equal(await fetchError(client), ErrorCode.KAFKA_STORAGE_ERROR, 'consumers are refused too');

    fs.rmSync(filler);
    await eventually('the partition to come back', async () => (await fetchError(client)) === ErrorCode.NONE, 30_000);
    errors = 0;
    for (let n = 0; n < 20; n++) if ((await send(batchIds('after-', n))) !== ErrorCode.NONE) errors++;
    t.equal(errors, 0, 'produce works again');

    const read = await readPartition(client, TOPIC, 0);
    t.same(read.records.map((r) => idOf(r.value)), acked, 'every acknowledged record is there exactly once, in order, and nothing else');
    t.ok(acked.some((id) => id.startsWith('big-')), 'big batches went in before the disk filled');
  });

}
