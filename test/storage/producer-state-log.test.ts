// Idempotent appends through the log: retries answered with their original offsets (also
// while the original is being fsynced), refused sequences writing nothing, and the producer
// state surviving a clean restart, a crash (from a roll snapshot plus the active segment), a
// damaged snapshot, a truncation and retention.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/workers/partition/log/data-dir.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { listSnapshots, snapshotFileName } from '../../src/workers/partition/log/producer-snapshot.js';
import { loadProducerState } from '../../src/workers/partition/log/producer-state-recovery.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { config, silent, splitBatches, tmpDir } from './helpers.js';

function idem(producerId: number, producerEpoch: number, baseSequence: number, count = 3, size = 50): Buffer {
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.alloc(size, baseSequence + i) })),
  });
}

async function countRecords(m: LogManager, log: PartitionLog): Promise<number> {
  let n = 0;
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const parts = splitBatches((await m.read(log, offset, 1 << 20)).records);
    if (parts.length === 0) break;
    for (const p of parts) n += p.lastOffset - p.baseOffset + 1;
    offset = parts[parts.length - 1]!.lastOffset + 1;
  }
  return n;
}

t.test('retries get the original offsets; bad sequences write nothing', async (t) => {
  const m = await LogManager.open({ dir: tmpDir(t, 'idem'), config: config(), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  const first = await m.append(log, idem(1, 0, 0), { acks: -1, leaderEpoch: 0 });
  const second = await m.append(log, idem(1, 0, 3), { acks: -1, leaderEpoch: 0 });
  t.same([first.baseOffset, second.baseOffset], [0, 3]);
  const retry = await m.append(log, idem(1, 0, 0), { acks: -1, leaderEpoch: 0 });
  t.equal(retry.errorCode, ErrorCode.NONE, 'a retry succeeds');
  t.same([retry.baseOffset, retry.lastOffset], [0, 2], 'with its original offsets');
  t.equal(log.logEndOffset, 6, 'and writes nothing');

  const refused: Array<[Buffer, number]> = [
    [idem(1, 0, 7), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
    [idem(1, 0, 2), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
    [idem(1, 1, 6), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
    [Buffer.concat([idem(2, 0, 0), idem(1, 0, 9)]), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
  ];
  for (const [records, code] of refused) t.equal((await m.append(log, records, { acks: 1, leaderEpoch: 0 })).errorCode, code);
  t.equal(log.logEndOffset, 6, 'a refused append writes none of its batches');
  t.equal(log.producers.get(2), undefined, 'nor records its producers');
  t.equal((await m.append(log, idem(1, 1, 0), { acks: 1, leaderEpoch: 0 })).baseOffset, 6, 'a new epoch at sequence 0');
  t.equal((await m.append(log, idem(1, 0, 6), { acks: 1, leaderEpoch: 0 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'the old epoch is fenced');
  t.equal(await countRecords(m, log), 9, 'every record once');
});

t.test('a retry that arrives while the original is being fsynced waits for it', async (t) => {
  const m = await LogManager.open({ dir: tmpDir(t, 'idem-inflight'), config: config(), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  await m.append(log, idem(5, 0, 0), { acks: -1, leaderEpoch: 0 });
  const original = m.append(log, idem(5, 0, 3, 4), { acks: -1, leaderEpoch: 0 });
  const retries = [m.append(log, idem(5, 0, 3, 4), { acks: -1, leaderEpoch: 0 }), m.append(log, idem(5, 0, 3, 4), { acks: 1, leaderEpoch: 0 })];
  t.ok(log.durableEndOffset <= 3, 'the original is not durable yet');
  const durableWhenRetryAnswered = retries[0]!.then(() => log.durableEndOffset);
  const all = await Promise.all([original, ...retries]);
  t.same(all.map((r) => [r.errorCode, r.baseOffset, r.lastOffset]), [[0, 3, 6], [0, 3, 6], [0, 3, 6]], 'the same offsets for all three');
  t.ok((await durableWhenRetryAnswered) >= 7, 'the acks=-1 retry is answered only once the original is durable');
  t.equal(log.logEndOffset, 7);
  t.equal(await countRecords(m, log), 7);
});

t.test('producer state survives a clean restart, a crash and a damaged snapshot', async (t) => {
  const dir = tmpDir(t, 'idem-restart');
  const cfg = config({ segmentBytes: 4096 });
  let m = await LogManager.open({ dir, config: cfg, logger: silent });
  let log = await m.create('p', 0);
  let seq = 0;
  for (let i = 0; i < 60; i++, seq += 3) await m.append(log, idem(7, 2, seq), { acks: 1, leaderEpoch: 0 });
  await m.append(log, idem(8, 0, 0), { acks: -1, leaderEpoch: 0 });
  const end = log.logEndOffset;
  const segments = log.segments.length;
  t.ok(segments > 3, `${segments} segments`);
  await m.close();
  const logDir = path.join(dir, 'p-0');
  const snapshots = await listSnapshots(logDir);
  t.equal(snapshots[snapshots.length - 1], end, 'a clean close leaves a snapshot at the log end');
  t.equal(snapshots.length, segments, 'and each roll left one at the new segment base');

  const retryAfterRestart = async (what: string): Promise<void> => {
    m = await LogManager.open({ dir, config: cfg, logger: silent });
    log = m.get('p', 0)!;
    const r = await m.append(log, idem(7, 2, seq - 3), { acks: -1, leaderEpoch: 0 });
    t.same([r.errorCode, r.baseOffset], [ErrorCode.NONE, end - 6], `${what}: the last batch is still known`);
    const old = await m.append(log, idem(7, 2, seq - 15), { acks: -1, leaderEpoch: 0 });
    t.same([old.errorCode, old.baseOffset], [ErrorCode.NONE, end - 18], `${what}: so is the fifth last`);
    t.equal((await m.append(log, idem(7, 1, 0), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, `${what}: the epoch too`);
    t.equal(log.logEndOffset, end, `${what}: nothing written`);
    await m.close();
  };
  await retryAfterRestart('clean restart');

  const replayed = async (): Promise<number> => {
    const l = await LogManager.open({ dir, config: cfg, logger: silent });
    const pl = l.get('p', 0)!;
    const loaded = await loadProducerState({
      dir: logDir, segments: pl.segments, logStartOffset: pl.logStartOffset, logEndOffset: pl.logEndOffset, nowMs: Date.now(),
    });
    await l.close();
    return loaded.replayedBatches;
  };
  t.equal(await replayed(), 0, 'after a clean close nothing is replayed');

  // A crash: no close snapshot, no clean-shutdown marker.
  fs.rmSync(path.join(logDir, snapshotFileName(end)));
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
  const activeBase = Math.max(...(await listSnapshots(logDir)));
  await retryAfterRestart('after a crash');
  fs.rmSync(path.join(logDir, snapshotFileName(end)));
  const fromRoll = await replayed();
  t.equal(fromRoll, (end - activeBase) / 3, 'only the active segment is replayed (every batch holds 3 records)');

  // A damaged newest snapshot: the one before it, and more of the log.
  fs.rmSync(path.join(logDir, snapshotFileName(end)), { force: true });
  const newest = path.join(logDir, snapshotFileName(activeBase));
  const bytes = fs.readFileSync(newest);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(newest, bytes);
  await retryAfterRestart('damaged snapshot');
  t.notOk(fs.existsSync(newest) && fs.readFileSync(newest).equals(bytes), 'the damaged snapshot is gone');

  // No snapshot at all: the whole log is replayed.
  for (const o of await listSnapshots(logDir)) fs.rmSync(path.join(logDir, snapshotFileName(o)));
  await retryAfterRestart('no snapshot');
});

t.test('truncation and retention', async (t) => {
  const dir = tmpDir(t, 'idem-truncate');
  const m = await LogManager.open({ dir, config: config({ segmentBytes: 700 }), logger: silent });
  t.teardown(() => m.close());
  const log = await m.create('p', 0);
  for (let seq = 0; seq < 30; seq += 3) await m.append(log, idem(3, 0, seq), { acks: -1, leaderEpoch: 0 });
  await log.truncateTo(21);
  t.equal(log.logEndOffset, 21);
  t.equal(log.producers.get(3)!.batches.at(-1)!.lastSeq, 20, 'the state forgets the batches cut off');
  t.equal((await m.append(log, idem(3, 0, 27), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const again = await m.append(log, idem(3, 0, 21), { acks: -1, leaderEpoch: 0 });
  t.same([again.errorCode, again.baseOffset], [ErrorCode.NONE, 21], 'a batch cut off is written again, not taken as a duplicate');

  const follower = buildRecordBatch({ baseOffset: 24, producerId: 4, producerEpoch: 0, baseSequence: 100, records: [{ value: Buffer.from('f') }] });
  await m.appendAsFollower(log, follower);
  t.equal(log.producers.get(4)!.batches[0]!.firstSeq, 100, 'a follower append is recorded as it is');

  const before = log.segments.length;
  await log.deleteRecordsBefore(log.logEndOffset);
  t.ok(log.segments.length < before, 'old segments dropped');
  t.equal(log.producers.size, 0, 'producers with nothing left in the log are forgotten');
  const snaps = await listSnapshots(log.dir);
  t.ok(snaps.every((o) => o >= log.segments[0]!.baseOffset), 'snapshots below the first segment are deleted');
  const fresh = await m.append(log, idem(3, 0, 90), { acks: -1, leaderEpoch: 0 });
  t.equal(fresh.errorCode, ErrorCode.NONE, 'a forgotten producer is accepted at its next sequence');
});
