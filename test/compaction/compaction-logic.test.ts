// The compaction rules on their own (cleaner/compaction.ts, selection.ts, batch-records.ts):
// which records and batches a cleaning keeps, what a rewritten batch looks like, tombstones
// and their delete horizon, transactions, the offset map's budget, which log is cleaned and
// which part of it.
import t from 'tap';
import { buildMarkerBatch, TRANSACTIONAL_FLAG } from '../../src/shared/control-records.js';
import { buildRecordBatch, checkBatchAt, resealBatch, type BatchInfo } from '../../src/shared/record-batch.js';
import { DELETE_HORIZON_FLAG, readBatchRecords } from '../../src/workers/partition/log/cleaner/batch-records.js';
import { cleanBatch, mapBatch, OffsetMap, TransactionTracker, type CleanContext } from '../../src/workers/partition/log/cleaner/compaction.js';
import { filthiest, groupSegments, MAX_SEGMENTS_PER_GROUP, toClean, type LogStat } from '../../src/workers/partition/log/cleaner/selection.js';
import { compressedBatch } from '../helpers/compressed-batch.js';

const NOW = 1_700_000_000_000;

interface Rec {
  key: string | null;
  value: string | null;
}

function batch(baseOffset: number, records: Rec[], opts: { producerId?: number; baseSequence?: number; transactional?: boolean; ts?: number } = {}): Buffer {
  const b = buildRecordBatch({
    baseOffset,
    firstTimestamp: opts.ts ?? NOW - 1000,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerId === undefined ? -1 : 0,
    baseSequence: opts.baseSequence ?? -1,
    records: records.map((r, i) => ({ key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), timestampDelta: i })),
  });
  if (opts.transactional) {
    b.writeInt16BE(TRANSACTIONAL_FLAG, 21);
    resealBatch(b, 0);
  }
  return b;
}

function info(buf: Buffer): BatchInfo {
  const c = checkBatchAt(buf, 0, buf.length);
  if (!c.ok) throw new Error(c.errorMessage);
  return c.batch;
}

/** The records of a batch as the log path reads them: offset, key, 'v' or null, timestamp. */
function contents(buf: Buffer): Array<{ offset: number; key: string | null; value: string | null; ts: number }> {
  const b = info(buf);
  const read = readBatchRecords(buf, b, 1 << 20);
  if (typeof read === 'string') throw new Error(read);
  return read.records.map((r) => ({ offset: b.baseOffset + r.offsetDelta, key: r.key?.toString() ?? null, value: r.hasValue ? 'v' : null, ts: b.firstTimestamp + r.timestampDelta }));
}

function ctx(map: OffsetMap, overrides: Partial<CleanContext> = {}): CleanContext {
  return { map, txns: new TransactionTracker([]), now: NOW, deleteRetentionMs: 10_000, producers: new Map(), segmentEnd: Number.MAX_SAFE_INTEGER, maxBytes: 1 << 20, ...overrides };
}

function mapOf(batches: Buffer[], startOffset = 0, capacity = 1 << 20): OffsetMap {
  const map = new OffsetMap(capacity);
  const txns = new TransactionTracker([]);
  for (const b of batches) mapBatch(b, info(b), map, txns, startOffset, 1 << 20);
  return map;
}

t.test('the latest record of each key stays, at its offset; older ones and keyless ones go', async (t) => {
  const first = batch(0, [{ key: 'a', value: '1' }, { key: 'b', value: '1' }, { key: null, value: 'x' }, { key: 'c', value: '1' }]);
  const second = batch(4, [{ key: 'a', value: '2' }, { key: 'c', value: '2' }]);
  const map = mapOf([first, second]);
  t.equal(map.latestOffset, 5);
  const out = cleanBatch(first, info(first), ctx(map));
  if (out.kind !== 'write') throw new Error(out.kind);
  const b = info(out.bytes);
  t.same(contents(out.bytes).map((r) => [r.offset, r.key]), [[1, 'b']], 'only b survives in the first batch, at offset 1');
  t.same([b.baseOffset, b.lastOffsetDelta, b.recordCount], [0, 3, 1], 'base offset and last offset delta kept: offsets are not renumbered');
  t.equal(contents(out.bytes)[0]!.ts, NOW - 1000 + 1, 'the record keeps its timestamp');
  t.same(cleanBatch(second, info(second), ctx(map)), { kind: 'copy' }, 'a batch that keeps every record is copied as it is');
  t.notOk(checkBatchAt(out.bytes, 0, out.bytes.length, 1 << 20).ok, 'a producer could not send such a batch');
});

t.test('records past the mapped end stay whatever their key', async (t) => {
  const b = batch(0, [{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
  const map = new OffsetMap(1 << 20);
  map.put(Buffer.from('a'), 0);
  map.updateLatestOffset(0);
  t.same(cleanBatch(b, info(b), ctx(map)), { kind: 'copy' }, 'offset 1 lies past the map: kept, and so is offset 0 (latest as far as the map knows)');
});

t.test('a tombstone stays until its batch\'s delete horizon, stamped by the first cleaning', async (t) => {
  const b = batch(10, [{ key: 'a', value: null }, { key: 'b', value: 'x' }]);
  const map = mapOf([b]);
  const first = cleanBatch(b, info(b), ctx(map));
  if (first.kind !== 'write') throw new Error(first.kind);
  const stamped = info(first.bytes);
  t.ok(stamped.attributes & DELETE_HORIZON_FLAG, 'the batch gets a delete horizon');
  t.equal(stamped.firstTimestamp, NOW + 10_000, 'now + delete.retention.ms');
  t.same(contents(first.bytes).map((r) => [r.offset, r.key, r.value, r.ts]), [[10, 'a', null, NOW - 1000], [11, 'b', 'v', NOW - 999]], 'both records kept, timestamps unchanged');
  t.same(cleanBatch(first.bytes, stamped, ctx(map, { now: NOW + 9_999 })), { kind: 'copy' }, 'before the horizon the tombstone stays');
  const later = cleanBatch(first.bytes, stamped, ctx(map, { now: NOW + 10_000 }));
  if (later.kind !== 'write') throw new Error(later.kind);
  t.same(contents(later.bytes).map((r) => [r.offset, r.key]), [[11, 'b']], 'at the horizon it goes');
});

t.test('an idempotent producer\'s last batch keeps its header when its records all go', async (t) => {
  const old = batch(0, [{ key: 'a', value: '1' }], { producerId: 7, baseSequence: 41 });
  const newer = batch(1, [{ key: 'a', value: '2' }]);
  const map = mapOf([old, newer]);
  const tracked = ctx(map, { producers: new Map([[7, { lastDataOffset: 0, epoch: 0 }]]) });
  const out = cleanBatch(old, info(old), tracked);
  if (out.kind !== 'write') throw new Error(out.kind);
  const b = info(out.bytes);
  t.same([b.recordCount, b.baseOffset, b.lastOffsetDelta, b.producerId, b.producerEpoch, b.baseSequence], [0, 0, 0, 7, 0, 41], 'an empty batch with its producer, epoch and sequence');
  t.same(cleanBatch(old, info(old), ctx(map, { producers: new Map([[7, { lastDataOffset: 5, epoch: 0 }]]) })), { kind: 'drop' }, 'not its last batch: it goes');
  t.equal(cleanBatch(old, info(old), ctx(map, { segmentEnd: 1 })).kind, 'write', 'the last batch before a cleaned segment\'s end stays too');
  t.same(cleanBatch(out.bytes, b, tracked), { kind: 'copy' }, 'an empty batch still needed is copied');
});

t.test('aborted transactions go, and their markers once nothing of them is left', async (t) => {
  const aborted = batch(0, [{ key: 'a', value: 'x' }], { producerId: 5, transactional: true });
  const abortMarker = withBase(buildMarkerBatch(5, 0, false, 0, NOW - 500), 1);
  const committed = batch(2, [{ key: 'b', value: 'y' }], { producerId: 6, transactional: true });
  const commitMarker = withBase(buildMarkerBatch(6, 0, true, 0, NOW - 500), 3);
  const txns = (): TransactionTracker => new TransactionTracker([{ producerId: 5, firstOffset: 0 }]);
  const map = new OffsetMap(1 << 20);
  const mapTxns = txns();
  for (const b of [aborted, abortMarker, committed, commitMarker]) mapBatch(b, info(b), map, mapTxns, 0, 1 << 20);
  t.equal(map.get(Buffer.from('a')), -1, 'aborted records are not mapped');
  const pass = ctx(map, { txns: txns() });
  t.same(cleanBatch(aborted, info(aborted), pass), { kind: 'drop' }, 'the aborted batch goes');
  t.same(cleanBatch(abortMarker, info(abortMarker), pass), { kind: 'copy' }, 'its ABORT marker stays while this pass saw the aborted batch');
  t.same(cleanBatch(committed, info(committed), pass), { kind: 'copy' }, 'committed data stays');
  t.same(cleanBatch(commitMarker, info(commitMarker), pass), { kind: 'copy' }, 'its COMMIT marker stays');

  const next = ctx(map, { txns: txns() });
  const marker = cleanBatch(abortMarker, info(abortMarker), next);
  if (marker.kind !== 'write') throw new Error(marker.kind);
  t.equal(info(marker.bytes).firstTimestamp, NOW + 10_000, 'with its transaction gone, the marker gets a delete horizon');
  t.same(cleanBatch(marker.bytes, info(marker.bytes), ctx(map, { txns: txns(), now: NOW + 10_000 })), { kind: 'drop' }, 'and goes after it');
});

t.test('a compressed batch is rewritten with its codec (gzip) or uncompressed', async (t) => {
  for (const [codec, expected] of [['gzip', 1], ['snappy', 0], ['lz4', 0], ['zstd', 0]] as const) {
    const b = compressedBatch(codec, { baseOffset: 0, firstTimestamp: NOW, records: [{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: Buffer.from('b'), value: Buffer.from('1') }, { key: Buffer.from('a'), value: Buffer.from('2') }] });
    const map = mapOf([b]);
    const out = cleanBatch(b, info(b), ctx(map));
    if (out.kind !== 'write') throw new Error(out.kind);
    t.equal(info(out.bytes).attributes & 7, expected, `${codec}: written with codec ${expected}`);
    t.same(contents(out.bytes).map((r) => [r.offset, r.key]), [[1, 'b'], [2, 'a']], `${codec}: the latest of each key, at their offsets`);
  }
});

t.test('the offset map stops at its budget', async (t) => {
  const keys = batch(0, Array.from({ length: 10 }, (_, i) => ({ key: `key-${i}`, value: 'v' })));
  const small = new OffsetMap(3 * (5 + 64));
  t.notOk(mapBatch(keys, info(keys), small, new TransactionTracker([]), 0, 1 << 20), 'full within the batch');
  t.equal(small.size, 3);
  t.equal(small.latestOffset, -1, 'a batch not mapped whole does not count as mapped');
});

function withBase(buf: Buffer, baseOffset: number): Buffer {
  buf.writeBigInt64BE(BigInt(baseOffset), 0);
  return buf;
}

function stat(overrides: Partial<LogStat> = {}): LogStat {
  const segments = [0, 100, 200, 300].map((baseOffset, i) => ({ baseOffset, size: 1000, maxTimestamp: NOW - 10_000 + i * 1000, firstTimestamp: NOW - 10_500 + i * 1000 }));
  return { segments, logStartOffset: 0, logEndOffset: 350, checkpoint: undefined, lastStableOffset: 350, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, ...overrides };
}

t.test('the dirty section ends at the active segment, the last stable offset, or the compaction lag', async (t) => {
  t.match(toClean(stat(), NOW), { firstDirtyOffset: 0, firstUncleanableOffset: 300, cleanBytes: 0, dirtyBytes: 3000, ratio: 1 });
  t.match(toClean(stat({ checkpoint: 200 }), NOW), { firstDirtyOffset: 200, cleanBytes: 2000, dirtyBytes: 1000 }, 'from the checkpoint');
  t.match(toClean(stat({ lastStableOffset: 150 }), NOW), { firstUncleanableOffset: 100 }, 'down to the segment holding the last stable offset');
  t.match(toClean(stat({ minCompactionLagMs: 9_500 }), NOW), { firstUncleanableOffset: 100 }, 'a segment with a record younger than the lag is not cleaned');
  t.match(toClean(stat({ checkpoint: 400 }), NOW), { firstDirtyOffset: 0, checkpointReset: true }, 'a checkpoint past the log end starts over');
  t.notOk(toClean(stat({ checkpoint: 200 }), NOW).overdue);
  t.ok(toClean(stat({ checkpoint: 200, maxCompactionLagMs: 5_000 }), NOW).overdue, 'a dirty record older than max.compaction.lag.ms is overdue');
});

t.test('the log with the highest dirty ratio above its minimum goes first', async (t) => {
  const a = { toClean: toClean(stat({ checkpoint: 200 }), NOW), minCleanableDirtyRatio: 0.5 };
  const b = { toClean: toClean(stat({ checkpoint: 100 }), NOW), minCleanableDirtyRatio: 0.5 };
  const overdue = { toClean: toClean(stat({ checkpoint: 200, maxCompactionLagMs: 1 }), NOW), minCleanableDirtyRatio: 0.5 };
  t.equal(filthiest([a, b]), 1, '2/3 dirty beats 1/3, which is below 0.5');
  t.equal(filthiest([a]), -1, 'none due');
  t.equal(filthiest([a, overdue]), 1, 'an overdue log is due whatever its ratio');
});

t.test('segments are grouped up to segment.bytes', async (t) => {
  const segs = [100, 300, 700, 50, 50].map((size, i) => ({ baseOffset: i * 10, size }));
  t.same(groupSegments(segs, 50, 1000), [[0, 2], [2, 5]]);
  const many = Array.from({ length: MAX_SEGMENTS_PER_GROUP + 1 }, (_, i) => ({ baseOffset: i, size: 1 }));
  t.same(groupSegments(many, many.length, 1 << 30), [[0, MAX_SEGMENTS_PER_GROUP], [MAX_SEGMENTS_PER_GROUP, MAX_SEGMENTS_PER_GROUP + 1]], 'and a bounded count');
});

