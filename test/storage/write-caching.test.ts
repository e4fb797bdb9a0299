// The group commit in write-caching mode: appends answered once written, fsynced by the flush limits.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { NO_FLUSH_LIMIT, type LogConfig } from '../../src/shared/log-config.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { batch, config, silent, tmpDir } from './helpers.js';

const cached = (limits: Partial<LogConfig>): LogConfig =>
  config({ writeCaching: true, flushMessages: NO_FLUSH_LIMIT, flushBytes: NO_FLUSH_LIMIT, flushMs: NO_FLUSH_LIMIT, ...limits });

async function open(t: Parameters<Parameters<typeof t.test>[1]>[0], cfg: LogConfig): Promise<{ m: LogManager; log: PartitionLog; syncs: () => number; durableAt: (offset: number) => Promise<void> }> {
  let syncs = 0;
  const m = await LogManager.open({ dir: tmpDir(t), config: cfg, logger: silent, commitStats: { round: () => {}, fdatasync: () => void syncs++ } });
  t.teardown(() => m.close());
  const log = await m.create('t', 0);
  const waiting: Array<{ offset: number; resolve: () => void }> = [];
  m.onDurable((l) => {
    for (const w of waiting.splice(0)) if (l.durableEndOffset >= w.offset) w.resolve();
    else waiting.push(w);
  });
  const durableAt = (offset: number): Promise<void> =>
    log.durableEndOffset >= offset ? Promise.resolve() : new Promise((resolve) => waiting.push({ offset, resolve }));
  return { m, log, syncs: () => syncs, durableAt };
}

t.test('acks=all is answered once written, and the log is fsynced when flush.messages records are unsynced', async (t) => {
  const { m, log, syncs, durableAt } = await open(t, cached({ flushMessages: 10 }));
  for (let i = 0; i < 3; i++) {
    const r = await m.append(log, batch(3, 100), { acks: -1, leaderEpoch: 0 });
    t.equal(r.errorCode, ErrorCode.NONE);
  }
  t.equal(log.writtenEndOffset, 9, 'nine records written and answered');
  t.equal(log.durableEndOffset, 0, 'none of them fsynced');
  t.equal(syncs(), 0, 'no fdatasync yet');
  await m.append(log, batch(3, 100), { acks: -1, leaderEpoch: 0 });
  await durableAt(12);
  t.equal(syncs(), 1, 'the tenth record started one fdatasync, covering all twelve');
});

t.test('flush.bytes: the log is fsynced once that many bytes are unsynced', async (t) => {
  const { m, log, durableAt } = await open(t, cached({ flushBytes: 4096 }));
  await m.append(log, batch(1, 2000), { acks: -1, leaderEpoch: 0 });
  t.equal(log.durableEndOffset, 0, 'below the limit: not fsynced');
  await m.append(log, batch(1, 2000), { acks: -1, leaderEpoch: 0 });
  await durableAt(2);
  t.pass('past 4096 bytes the log is fsynced');
});

t.test('flush.ms: a written record waits at most that long for its fsync', async (t) => {
  const { m, log, durableAt } = await open(t, cached({ flushMs: 50 }));
  const started = performance.now();
  await m.append(log, batch(1, 100), { acks: -1, leaderEpoch: 0 });
  t.equal(log.durableEndOffset, 0, 'answered before its fsync');
  await durableAt(1);
  t.ok(performance.now() - started >= 45, 'fsynced by the timer, not at once');
});

t.test('a shutdown fsyncs what write caching holds, whatever the limits', async (t) => {
  const { m, log } = await open(t, cached({}));
  await m.append(log, batch(5, 100), { acks: -1, leaderEpoch: 0 });
  t.equal(log.durableEndOffset, 0);
  await m.flushAll();
  t.equal(log.durableEndOffset, 5, 'everything fsynced');
});

t.test('a log leaving write caching is fsynced at once; by default acks=all waits for the fsync', async (t) => {
  const { m, log, syncs, durableAt } = await open(t, cached({}));
  await m.append(log, batch(2, 100), { acks: -1, leaderEpoch: 0 });
  log.config = config();
  m.flush(log);
  await durableAt(2);
  t.equal(syncs(), 1, 'what it cached is fsynced');
  const r = await m.append(log, batch(2, 100), { acks: -1, leaderEpoch: 0 });
  t.equal(r.lastOffset, 3);
  t.equal(log.durableEndOffset, 4, 'the next acks=all append is answered after its fsync');
});

t.test('an idempotent retry in write-caching mode is answered once its original is written', async (t) => {
  const { m, log } = await open(t, cached({}));
  const idempotent = (): Buffer =>
    buildRecordBatch({ producerId: 7, producerEpoch: 0, baseSequence: 0, records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] });
  const first = await m.append(log, idempotent(), { acks: -1, leaderEpoch: 0 });
  const retry = await m.append(log, idempotent(), { acks: -1, leaderEpoch: 0 });
  t.same([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, first.baseOffset], 'the retry gets the original offsets without waiting for an fsync');
  t.equal(log.durableEndOffset, 0);
});
