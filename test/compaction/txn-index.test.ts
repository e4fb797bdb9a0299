// Compaction and the aborted-transaction index, as Kafka's cleaner does it: the cleaning that
// removes an aborted transaction's records keeps its ABORT marker, and the marker's entry goes
// to the index of the cleaned segment that holds it (kept across a restart). The producer's
// last batch stays, emptied, while the producer state tracks it; once the producer wrote again
// a cleaning removes it, and the next one, with nothing of the transaction left, drops the
// marker's entry.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildMarkerBatch } from '../../src/shared/control-records.js';
import { buildRecordBatch, checkBatchAt, resealBatch } from '../../src/shared/record-batch.js';
import { cleanLog } from '../../src/workers/partition/log/cleaner/clean-log.js';
import { Throttler, throttleBuffer } from '../../src/workers/partition/log/cleaner/throttle.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { decodeTxnEntries } from '../../src/workers/partition/log/txn-index.js';
import { config, silent, tmpDir } from '../storage/helpers.js';

const CFG = config({ compact: true, segmentBytes: 1024, minCleanableDirtyRatio: 0, minCompactionLagMs: 0, indexIntervalBytes: 256 });
const throttler = new Throttler(throttleBuffer(), Number.MAX_VALUE);

function open(dir: string): Promise<LogManager> {
  return LogManager.open({
    dir,
    config: CFG,
    logger: silent,
    cleaner: { runner: { clean: async (task) => cleanLog(task, throttler) }, backoffMs: 3_600_000, offsetMapBytes: 1 << 20 },
  });
}

function keyed(prefix: string, n: number, producerId = -1, baseSequence = 0): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`${prefix}${i}`), value: Buffer.alloc(100, i) }));
  if (producerId < 0) return buildRecordBatch({ records });
  const b = buildRecordBatch({ records, producerId, producerEpoch: 0, baseSequence });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

/** Producer ids of the batches holding records (markers aside) in the log. */
async function producersWithRecords(log: PartitionLog): Promise<number[]> {
  const ids = new Set<number>();
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const r = await log.read(offset, 1 << 20);
    if (r.records.length === 0) break;
    for (let p = 0; p < r.records.length; ) {
      const c = checkBatchAt(r.records, p, r.records.length);
      if (!c.ok) throw new Error(c.errorMessage);
      if ((c.batch.attributes & 0x20) === 0 && c.batch.recordCount > 0) ids.add(c.batch.producerId);
      offset = c.batch.baseOffset + c.batch.lastOffsetDelta + 1;
      p += c.batch.length;
    }
  }
  return [...ids].sort((a, b) => a - b);
}

function txnIndexFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.txnindex') && fs.statSync(path.join(dir, n)).size > 0);
}

t.test('a cleaning keeps the entry of the ABORT marker it keeps, the next one drops it', async (t) => {
  const dir = tmpDir(t, 'compact-txnindex');
  let m = await open(dir);
  let log = await m.create('c', 0);
  const append = (records: Buffer, markers = false) => m.append(log, records, { acks: 1, leaderEpoch: 0, markers });
  await append(keyed('k', 4));
  const data = await append(keyed('aborted-', 3, 5));
  const marker = await append(buildMarkerBatch(5, 0, false, 0), true);
  for (let i = 0; i < 6; i++) await append(keyed('k', 4));
  const entry = { producerId: 5, firstOffset: data.baseOffset, lastOffset: marker.baseOffset, lastStableOffset: marker.baseOffset + 1 };
  t.same(log.abortedTxns(0, log.logEndOffset), [entry], 'the abort is indexed');
  t.same(await producersWithRecords(log), [-1, 5], 'the aborted records are in the log');

  const first = await m.cleaner!.cleanOnce();
  t.ok(first, 'a cleaning ran');
  t.same(await producersWithRecords(log), [-1], 'it removed the aborted records');
  t.same(log.abortedTxns(0, log.logEndOffset), [entry], 'and kept the entry of the marker it kept');
  const holder = log.segments.find((s, i) => s.baseOffset <= marker.baseOffset && marker.baseOffset < (log.segments[i + 1]?.baseOffset ?? Infinity))!;
  t.same(txnIndexFiles(log.dir), [`${String(holder.baseOffset).padStart(20, '0')}.txnindex`], 'in the file of the cleaned segment holding the marker');
  t.same(decodeTxnEntries(fs.readFileSync(path.join(log.dir, txnIndexFiles(log.dir)[0]!)), holder.baseOffset), [entry]);

  await m.close();
  m = await open(dir);
  t.teardown(() => m.close());
  log = m.get('c', 0)!;
  t.same(log.abortedTxns(0, log.logEndOffset), [entry], 'after a restart the cleaned segment\'s index is read back');

  await m.append(log, keyed('committed-', 2, 5, 3), { acks: 1, leaderEpoch: 0 });
  await m.append(log, buildMarkerBatch(5, 0, true, 0), { acks: 1, leaderEpoch: 0, markers: true });
  for (const round of [1, 2]) {
    for (let i = 0; i < 6; i++) await m.append(log, keyed('k', 4), { acks: 1, leaderEpoch: 0 });
    t.ok(await m.cleaner!.cleanOnce(), `cleaning ${round} after the producer wrote again`);
  }
  t.same(log.abortedTxns(0, log.logEndOffset), [], 'with nothing of the transaction left, the entry goes');
  t.same(txnIndexFiles(log.dir), [], 'and so does its file');
});
