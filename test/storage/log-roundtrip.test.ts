import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { validateBatches } from '../../src/shared/record-batch.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';

async function readAll(m: LogManager, log: PartitionLog, from: number, maxBytes = 10_000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const r = await m.read(log, offset, maxBytes);
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`read error ${r.errorCode}`);
    const parts = splitBatches(r.records);
    if (parts.length === 0) throw new Error(`empty read at ${offset}`);
    for (const p of parts) out.push(Buffer.from(p.bytes));
    offset = parts[parts.length - 1]!.lastOffset + 1;
  }
  return out;
}

t.test('appends round-trip across segment rolls, with index and time lookups', async (t) => {
  const dir = tmpDir(t);
  const cfg = config({ segmentBytes: 64 * 1024, indexIntervalBytes: 1024 });
  let m = await LogManager.open({ dir, config: cfg, logger: silent });
  let log = await m.create('orders', 0);
  t.equal(await m.create('orders', 0), log, 'create is idempotent');
  const written: Buffer[] = [];
  const t0 = 1_700_000_000_000;
  let expectOffset = 0;
  for (let i = 0; i < 300; i++) {
    const count = 1 + (i % 5);
    const b = batch(count, 100 + (i % 7) * 50, t0 + i * 10, i);
    const r = await m.append(log, b, { acks: i % 3 === 0 ? 1 : -1, leaderEpoch: 0 });
    t.equal(r.errorCode, ErrorCode.NONE);
    if (r.baseOffset !== expectOffset) t.fail(`base offset ${r.baseOffset}, expected ${expectOffset}`);
    expectOffset += count;
    written.push(b);
  }
  await m.flushAll();
  t.equal(log.logEndOffset, expectOffset);
  t.equal(log.durableEndOffset, expectOffset);
  t.ok(log.segments.length > 3, `rolled into ${log.segments.length} segments`);
  const files = fs.readdirSync(path.join(dir, 'orders-0'));
  t.ok(files.includes('00000000000000000000.log') && files.includes('00000000000000000000.index') && files.includes('00000000000000000000.timeindex'));
  t.ok(fs.statSync(path.join(dir, 'orders-0', '00000000000000000000.index')).size > 0, 'offset index written');

  t.same(await readAll(m, log, 0), written, 'every batch reads back byte for byte');
  for (const off of [0, 1, 17, 123, expectOffset - 1]) {
    const r = await m.read(log, off, 1);
    const [first] = splitBatches(r.records);
    t.ok(first && first.baseOffset <= off && first.lastOffset >= off, `read at ${off} starts with the batch holding it`);
    t.equal(validateBatches(r.records).errorCode, ErrorCode.NONE, 'fetched bytes keep a valid CRC');
  }
  const bounded = await m.read(log, 0, 1 << 20, 10);
  t.ok(splitBatches(bounded.records).every((b) => b.lastOffset < 10), 'upper bound respected');
  t.equal((await m.read(log, expectOffset, 1000)).records.length, 0, 'read at the end is empty');
  t.equal((await m.read(log, expectOffset + 1, 1000)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

  // batch i has timestamps t0 + 10i .. t0 + 10i + count-1, first offset sum of earlier counts
  const baseOf = (i: number): number => Array.from({ length: i }, (_, k) => 1 + (k % 5)).reduce((a, b) => a + b, 0);
  t.same(log.offsetForTimestamp(t0 + 1500), { offset: baseOf(150), timestamp: t0 + 1500 });
  t.same(log.offsetForTimestamp(t0 + 1522), { offset: baseOf(152) + 2, timestamp: t0 + 1522 });
  t.same(log.offsetForTimestamp(t0 + 1501), { offset: baseOf(151), timestamp: t0 + 1510 });
  t.same(log.offsetForTimestamp(t0 - 5), { offset: 0, timestamp: t0 });
  t.equal(log.offsetForTimestamp(t0 + 10_000), undefined);
  t.same(log.maxTimestamp(), { offset: expectOffset - 1, timestamp: t0 + 2990 + 4 });

  await m.close();
  t.ok(fs.existsSync(path.join(dir, '.kafka_cleanshutdown')), 'clean-shutdown marker written');
  t.match(fs.readFileSync(path.join(dir, 'recovery-point-offset-checkpoint'), 'utf8'), `0\n1\norders 0 ${expectOffset}\n`);

  m = await LogManager.open({ dir, config: cfg, logger: silent });
  t.notOk(fs.existsSync(path.join(dir, '.kafka_cleanshutdown')), 'marker removed at open');
  log = m.get('orders', 0)!;
  t.equal(log.logEndOffset, expectOffset, 'log end offset after reopen');
  t.same(await readAll(m, log, 0), written, 'same bytes after reopen');
  t.same(log.offsetForTimestamp(t0 + 1500), { offset: baseOf(150), timestamp: t0 + 1500 });
  t.same(log.maxTimestamp(), { offset: expectOffset - 1, timestamp: t0 + 2990 + 4 });
  const r = await m.append(log, batch(2, 10, t0 + 5000), { acks: -1, leaderEpoch: 0 });
  t.equal(r.baseOffset, expectOffset, 'appends continue after reopen');
  await m.close();
});

t.test('truncateTo, deleteRecordsBefore, retention and the leader epoch cache', async (t) => {
  const dir = tmpDir(t);
  const cfg = config({ segmentBytes: 16 * 1024, indexIntervalBytes: 512 });
  const m = await LogManager.open({ dir, config: cfg, logger: silent });
  const log = await m.create('t', 3);
  const now = Date.now();
  for (let i = 0; i < 100; i++) {
    const epoch = i < 50 ? 1 : 3;
    const r = await m.append(log, batch(2, 200, now - 100_000 + i * 1000, i), { acks: -1, leaderEpoch: epoch });
    t.equal(r.errorCode, 0);
  }
  t.same(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 100 }]);
  t.same(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 100 });
  t.same(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 100 });
  t.same(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 200 });
  t.same(log.endOffsetForEpoch(4), { epoch: -1, endOffset: -1 });

  await log.truncateTo(121);
  t.equal(log.logEndOffset, 120, 'cut at the start of the batch holding the offset');
  const tail = splitBatches((await m.read(log, 118, 1 << 20)).records);
  t.same(tail.map((b) => b.baseOffset), [118]);
  await log.truncateTo(90);
  t.equal(log.logEndOffset, 90);
  t.same(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }], 'epochs past the cut dropped');
  await log.leaderEpochCache.flushed();
  t.equal(fs.readFileSync(path.join(dir, 't-3', 'leader-epoch-checkpoint'), 'utf8'), '0\n1\n1 0\n');
  const r = await m.append(log, batch(1, 10, Date.now() - 60_000), { acks: -1, leaderEpoch: 4 });
  t.equal(r.baseOffset, 90, 'appends continue at the cut');
  for (let i = 0; i < 120; i++) await m.append(log, batch(2, 200, Date.now() - (i < 80 ? 60_000 : 0)), { acks: 1, leaderEpoch: 4 });

  const segsBefore = log.segments.length;
  await log.deleteRecordsBefore(81);
  t.equal(log.logStartOffset, 81);
  t.ok(log.segments.length < segsBefore, 'segments wholly below the start offset deleted');
  t.equal((await m.read(log, 80, 100)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  t.equal(splitBatches((await m.read(log, 81, 1)).records)[0]!.lastOffset, 81);

  log.config = { ...log.config, retentionMs: 50_000 };
  await m.runRetention(Date.now());
  t.ok(log.logStartOffset > 81, `time retention advanced the start to ${log.logStartOffset}`);
  log.config = { ...log.config, retentionMs: -1, retentionBytes: 20 * 1024 };
  await m.runRetention(Date.now());
  const size = log.segments.reduce((s, g) => s + g.size, 0);
  t.ok(size <= 20 * 1024 + 16 * 1024 && log.segments.length >= 1, `size retention left ${size} bytes`);
  log.config = { ...log.config, retentionBytes: 0 };
  await m.runRetention(Date.now());
  t.equal(log.segments.length, 1, 'the active segment is never deleted');
  await m.close();
  t.match(fs.readFileSync(path.join(dir, 'log-start-offset-checkpoint'), 'utf8'), `t 3 ${log.logStartOffset}`);
});
