// Crash safety of the swap of cleaned segments, state by state: a log is cleaned into
// `.cleaned` files, the files are left as a crash at each step of the swap would leave them,
// and the log is loaded again. Before the `.log.swap` rename the old segments stay and the
// leftovers go; from it on the swap is finished. Either way every key's latest record is there.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildRecordBatch, checkBatchAt } from '../../src/shared/record-batch.js';
import { readBatchRecords } from '../../src/workers/partition/log/cleaner/batch-records.js';
import type { CleanResult } from '../../src/shared/clean-task.js';
import { cleanLog } from '../../src/workers/partition/log/cleaner/clean-log.js';
import { Throttler, throttleBuffer } from '../../src/workers/partition/log/cleaner/throttle.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/workers/partition/log/data-dir.js';
import { LogManager } from '../../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../../src/workers/partition/log/partition-log.js';
import { segmentFileName } from '../../src/workers/partition/log/segment.js';
import { config, silent, tmpDir } from '../storage/helpers.js';

const KEYS = 20;
const UPDATES = 600;

async function open(dir: string): Promise<LogManager> {
  return LogManager.open({ dir, config: config({ compact: true, segmentBytes: 4096 }), logger: silent });
}

/** Every record of the log: offset, key, value. */
async function readAll(log: PartitionLog): Promise<Array<{ offset: number; key: string; value: string | null }>> {
  const out: Array<{ offset: number; key: string; value: string | null }> = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    if (r.errorCode !== 0) throw new Error(`read at ${offset}: error ${r.errorCode}`);
    let p = 0;
    while (p < r.records.length) {
      const c = checkBatchAt(r.records, p, r.records.length);
      if (!c.ok) throw new Error(c.errorMessage);
      const read = readBatchRecords(r.records, c.batch, 1 << 20);
      if (typeof read === 'string') throw new Error(read);
      for (const rec of read.records) {
        const o = c.batch.baseOffset + rec.offsetDelta;
        if (o >= offset) out.push({ offset: o, key: rec.key!.toString(), value: rec.hasValue ? 'v' : null });
      }
      offset = Math.max(offset, c.batch.baseOffset + c.batch.lastOffsetDelta + 1);
      p += c.batch.length;
    }
  }
  return out;
}

/** A log of UPDATES updates over KEYS keys in small segments, cleaned into .cleaned files; then closed uncleanly. */
async function cleanedLog(dir: string): Promise<{ result: CleanResult; latest: Map<string, number>; total: number; logDir: string }> {
  const m = await open(dir);
  const log = await m.create('t', 0);
  const latest = new Map<string, number>();
  for (let i = 0; i < UPDATES; i += 10) {
    const records = Array.from({ length: 10 }, (_, j) => ({ key: Buffer.from(`k${(i + j) % KEYS}`), value: Buffer.alloc(50, i + j) }));
    const r = await m.append(log, buildRecordBatch({ records }), { acks: 1, leaderEpoch: 0 });
    records.forEach((rec, j) => latest.set(rec.key.toString(), r.baseOffset + j));
  }
  const segments = log.segments.slice(0, -1);
  const result = cleanLog({
    dir: log.dir,
    name: log.name,
    segments: segments.map((s, j) => ({ baseOffset: s.baseOffset, nextOffset: log.segments[j + 1]!.baseOffset, size: s.size })),
    firstDirtyOffset: 0,
    firstUncleanableOffset: log.active.baseOffset,
    now: Date.now(),
    deleteRetentionMs: 86_400_000,
    segmentBytes: 4096 * 8,
    indexIntervalBytes: 512,
    maxBatchBytes: 1 << 20,
    offsetMapBytes: 1 << 20,
    aborted: [],
    producers: [],
  }, new Throttler(throttleBuffer(), Number.MAX_VALUE));
  const logDir = log.dir;
  await m.close();
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
  return { result, latest, total: UPDATES, logDir };
}

const rename = (dir: string, base: number, ext: string, from: string, to: string): void =>
  fs.renameSync(path.join(dir, segmentFileName(base, ext as '.log') + from), path.join(dir, segmentFileName(base, ext as '.log') + to));

const steps: Array<{ name: string; finished: boolean; crash: (dir: string, r: CleanResult) => void }> = [
  { name: 'cleaned files written', finished: false, crash: () => undefined },
  {
    name: 'indexes renamed to .swap',
    finished: false,
    crash: (dir, r) => {
      for (const c of r.cleaned) for (const ext of ['.index', '.timeindex']) rename(dir, c.baseOffset, ext, '.cleaned', '.swap');
    },
  },
  {
    name: 'every file renamed to .swap',
    finished: true,
    crash: (dir, r) => {
      for (const c of r.cleaned) for (const ext of ['.index', '.timeindex', '.log']) rename(dir, c.baseOffset, ext, '.cleaned', '.swap');
    },
  },
  {
    name: 'some replaced segments deleted',
    finished: true,
    crash: (dir, r) => {
      for (const c of r.cleaned) {
        for (const ext of ['.index', '.timeindex', '.log']) rename(dir, c.baseOffset, ext, '.cleaned', '.swap');
        for (const b of c.replaces.slice(1)) fs.rmSync(path.join(dir, segmentFileName(b, '.log')));
      }
    },
  },
  {
    name: 'indexes in place, the log still .swap',
    finished: true,
    crash: (dir, r) => {
      for (const c of r.cleaned) {
        for (const b of c.replaces) for (const ext of ['.index', '.timeindex', '.log'] as const) fs.rmSync(path.join(dir, segmentFileName(b, ext)), { force: true });
        for (const ext of ['.index', '.timeindex']) rename(dir, c.baseOffset, ext, '.cleaned', '');
        rename(dir, c.baseOffset, '.log', '.cleaned', '.swap');
      }
    },
  },
];

for (const step of steps) {
  t.test(`a crash with ${step.name}: the swap is ${step.finished ? 'finished' : 'undone'} at load`, async (t) => {
    const dir = tmpDir(t, 'swap');
    const { result, latest, total, logDir } = await cleanedLog(dir);
    t.ok(result.cleaned.length >= 2, `${result.cleaned.length} cleaned segments written`);
    step.crash(logDir, result);
    const m = await open(dir);
    t.teardown(() => m.close());
    const log = m.get('t', 0)!;
    const records = await readAll(log);
    t.same(fs.readdirSync(logDir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), [], 'no cleaned or swap file left');
    t.ok(records.every((r, i) => i === 0 || r.offset > records[i - 1]!.offset), 'offsets ascending');
    const byOffset = new Map(records.map((r) => [r.offset, r.key]));
    t.same([...latest].filter(([key, offset]) => byOffset.get(offset) !== key), [], 'every key\'s latest record is there');
    const cleanedEnd = result.nextDirtyOffset;
    const below = records.filter((r) => r.offset < cleanedEnd);
    if (step.finished) t.equal(below.length, new Set(below.map((r) => r.key)).size, 'the cleaned part holds one record per key');
    else t.equal(records.length, total, 'every record is still there');
    const after = await m.append(log, buildRecordBatch({ records: [{ key: Buffer.from('k0'), value: Buffer.from('after') }] }), { acks: -1, leaderEpoch: 0 });
    t.equal(after.baseOffset, log.logEndOffset - 1, 'and the log takes appends at its end');
  });
}
