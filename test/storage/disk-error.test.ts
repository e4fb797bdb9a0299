import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { nodeFileIo, type FileIo } from '../../src/workers/partition/log/file-io.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import { eventually } from '../clients/harness.js';
import { batch, config, silent, splitBatches, tmpDir } from './helpers.js';

type Fault = { op: 'write' | 'sync' | 'half-write'; code: string };

/**
 * Real I/O, except that the files in `failing` (by path) answer writes or fsyncs with the given
 * errno; a half-write writes the first half of the bytes before it fails, as a disk filling up does.
 */
function faultyIo(failing: Map<string, Fault>): FileIo {
  const fault = (fd: number, op: Fault['op']): Error | undefined => {
    const f = failing.size ? failing.get(fs.readlinkSync(`/proc/self/fd/${fd}`)) : undefined;
    return f && f.op === op ? Object.assign(new Error(`${f.code}: injected`), { code: f.code }) : undefined;
  };
  return {
    ...nodeFileIo,
    writev: (fd, bufs, pos) => {
      const half = fault(fd, 'half-write');
      if (half) {
        const bytes = Buffer.concat(bufs);
        return nodeFileIo.writev(fd, [bytes.subarray(0, bytes.length >> 1)], pos).then(() => Promise.reject(half));
      }
      const err = fault(fd, 'write');
      return err ? Promise.reject(err) : nodeFileIo.writev(fd, bufs, pos);
    },
    fdatasync: (fd) => {
      const err = fault(fd, 'sync');
      return err ? Promise.reject(err) : nodeFileIo.fdatasync(fd);
    },
    read: (fd, len, pos) => nodeFileIo.read(fd, len, pos),
  };
}

for (const [op, code] of [['write', 'ENOSPC'], ['sync', 'EIO']] as const) {
  t.test(`a failing ${op} (${code}) takes only its log offline`, async (t) => {
    const dir = tmpDir(t, 'diskerr');
    const failing = new Map<string, Fault>();
    const m = await LogManager.open({ dir, config: config(), logger: silent, io: faultyIo(failing) });
    const bad = await m.create('bad', 0);
    const good = await m.create('good', 0);
    t.equal((await m.append(bad, batch(1, 10), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.NONE);
    failing.set(path.join(fs.realpathSync(bad.dir), '00000000000000000000.log'), { op, code });
    const results = await Promise.all([
      m.append(bad, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
      m.append(bad, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
      m.append(good, batch(2, 10), { acks: -1, leaderEpoch: 0 }),
    ]);
    t.same(results.map((r) => r.errorCode), [ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NONE]);
    t.ok(bad.offline, 'the failing log is offline');
    t.equal((await m.append(bad, batch(1, 10), { acks: 1, leaderEpoch: 0 })).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'later appends refused');
    t.equal((await m.read(bad, 0, 1000)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'reads refused');
    for (let i = 0; i < 20; i++) {
      t.equal((await m.append(good, batch(1, 10), { acks: -1, leaderEpoch: 0 })).errorCode, ErrorCode.NONE);
    }
    const r = await m.read(good, 0, 1 << 20);
    t.equal(r.errorCode, ErrorCode.NONE);
    t.equal(good.logEndOffset, 22, 'the other log keeps working');
    failing.clear();
    await m.close();
    const again = await LogManager.open({ dir, config: config(), logger: silent });
    t.ok(again.get('good', 0)!.logEndOffset === 22, 'the healthy log reopens whole');
    await again.close();
  });
}

/** Three records of producer 7 from `baseSequence`. */
function idempotent(baseSequence: number): Buffer {
  return buildRecordBatch({
    producerId: 7,
    producerEpoch: 0,
    baseSequence,
    records: [0, 1, 2].map((i) => ({ key: null, value: Buffer.from(`seq ${baseSequence + i}`) })),
  });
}

t.test('a log taken offline by a half-done write comes back without it once the disk takes writes again', async (t) => {
  const dir = tmpDir(t, 'diskback');
  const failing = new Map<string, Fault>();
  const m = await LogManager.open({ dir, config: config(), logger: silent, io: faultyIo(failing) });
  const log = await m.create('t', 0);
  const heardDurable: number[] = [];
  m.onDurable((l) => heardDurable.push(l.durableEndOffset));
  const acks = -1 as const;
  t.equal((await m.append(log, idempotent(0), { acks, leaderEpoch: 0 })).errorCode, ErrorCode.NONE);
  const file = path.join(log.dir, '00000000000000000000.log');
  const sizeBefore = fs.statSync(file).size;
  failing.set(path.join(fs.realpathSync(log.dir), '00000000000000000000.log'), { op: 'half-write', code: 'ENOSPC' });
  const failed = await m.append(log, idempotent(3), { acks, leaderEpoch: 0 });
  failing.clear();
  t.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'the half-written batch is not acknowledged');
  t.ok(fs.statSync(file).size > sizeBefore, 'part of it reached the file');
  t.ok(log.offline, 'the log is offline');
  t.equal((await m.read(log, 0, 1 << 20)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'and refuses reads');

  await eventually('the log to come back online', () => !log.offline);
  t.equal(fs.statSync(file).size, sizeBefore, 'the partial bytes are cut');
  t.equal(log.logEndOffset, 3, 'the log ends after the acknowledged batch');
  t.equal(heardDurable.at(-1), 3, 'the durable end is announced');
  const retry = await m.append(log, idempotent(0), { acks, leaderEpoch: 0 });
  t.same([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, 0], 'the producer state is back: a retry of the first batch is a duplicate');
  const again = await m.append(log, idempotent(3), { acks, leaderEpoch: 0 });
  t.same([again.errorCode, again.baseOffset], [ErrorCode.NONE, 3], 'the failed batch, sent again, goes in once');
  const read = await m.read(log, 0, 1 << 20);
  t.same(splitBatches(read.records).map((b) => b.baseOffset), [0, 3], 'readers see each batch once');
  await m.close();

  const reopened = await LogManager.open({ dir, config: config(), logger: silent });
  t.equal(reopened.get('t', 0)!.logEndOffset, 6, 'a restart finds the same log');
  await reopened.close();
});
