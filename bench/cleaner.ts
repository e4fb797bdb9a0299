/**
 * Log cleaner benchmark: how fast the cleaner compacts a log, and what a cleaning does to the
 * latency of appends to another log of the same partition worker meanwhile.
 *
 *   npm run build && npm run bench:build
 *   node dist-bench/bench/cleaner.js [--mb=64] [--rounds=3] [--keys=10000] [--rate=500] [--io=0] [--dir=/tmp] [--markdown]
 *
 * One LogManager, as a partition worker holds it (this thread), with the cleaner pool of the
 * broker (src/main/cleaner-pool.ts: one piscina thread, the I/O budget `--io` bytes/s, 0 for
 * none). Each round, a new compacted log (8 MiB segments) gets `--mb` MB of updates (1 KiB
 * values over `--keys` keys, 64 KiB batches), its active segment is rolled, and it is cleaned
 * whole: MB/s cleaned = its size before / the cleaning's time (offset map, rewrite and swap).
 * Meanwhile open-loop appends at `--rate` per second (16 KiB batches, acks=-1: written and
 * fdatasync'd through the group commit) go to another log; then as many seconds of the same
 * appends without a cleaning. Latency counts from each append's scheduled time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { CleanerPool } from '../src/main/cleaner-pool.js';
import { buildRecordBatch } from '../src/shared/record-batch.js';
import { defaultLogConfig, type LogConfig } from '../src/shared/log-config.js';
import { LogManager } from '../src/workers/partition/log/log-manager.js';
import type { PartitionLog } from '../src/workers/partition/log/partition-log.js';
import { markdownTable, plainTable, type Cell } from './lib/table.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const MB = Number(arg('mb', '64'));
const KEYS = Number(arg('keys', '10000'));
const RATE = Number(arg('rate', '500'));
const IO = Number(arg('io', '0'));
const ROUNDS = Number(arg('rounds', '3'));
const BASE_DIR = arg('dir', os.tmpdir());
const VALUE_BYTES = 1024;
const PER_BATCH = 64;

const compacted: LogConfig = { ...defaultLogConfig, compact: true, segmentBytes: 8 << 20, minCleanableDirtyRatio: 0, retentionCheckIntervalMs: 3_600_000 };

/** Fills a compacted log with `mb` MB of updates and rolls its active segment. */
async function fillMb(m: LogManager, name: string, mb: number): Promise<PartitionLog> {
  const log = await m.create(name, 0, compacted);
  const value = Buffer.alloc(VALUE_BYTES, 1);
  let written = 0;
  let i = 0;
  while (written < mb * 1e6) {
    const records = Array.from({ length: PER_BATCH }, () => ({ key: Buffer.from(`key-${i++ % KEYS}`), value }));
    const r = await m.append(log, buildRecordBatch({ records }), { acks: 1, leaderEpoch: 0 });
    if (r.errorCode !== 0) throw new Error(`append failed: ${r.errorCode}`);
    written += PER_BATCH * VALUE_BYTES;
  }
  await m.append(log, buildRecordBatch({ firstTimestamp: Date.now() + compacted.segmentMs + 1000, records: [{ key: Buffer.from('roll'), value }] }), { acks: -1, leaderEpoch: 0 });
  return log;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0;
}

/** Open-loop appends to `log` at RATE/s until `until` settles; latencies in ms. */
async function appendsUntil(m: LogManager, log: PartitionLog, until: Promise<unknown>): Promise<number[]> {
  const batch = buildRecordBatch({ records: Array.from({ length: 16 }, () => ({ value: Buffer.alloc(VALUE_BYTES, 2) })) });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let done = false;
  void until.then(() => (done = true), () => (done = true));
  const start = performance.now();
  let sent = 0;
  while (!done) {
    const due = start + (sent * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent++;
    pending.push(m.append(log, batch, { acks: -1, leaderEpoch: 0 }).then(() => void latencies.push(performance.now() - due)));
  }
  await Promise.all(pending);
  return latencies;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(BASE_DIR, 'bench-cleaner-'));
  const pool = new CleanerPool(1, IO > 0 ? IO : Number.MAX_VALUE);
  const m = await LogManager.open({
    dir,
    config: { ...defaultLogConfig, retentionCheckIntervalMs: 3_600_000 },
    logger: pino({ level: 'silent' }),
    cleaner: { runner: pool, backoffMs: 3_600_000, offsetMapBytes: 128 << 20 },
  });
  try {
    const target = await m.create('appends', 0);
    // The pool's thread starts with the first cleaning: not counted.
    await fillMb(m, 'warm-up', 1);
    await m.cleaner!.cleanOnce();
    const cleanerRows: Cell[][] = [];
    const idle: number[] = [];
    const during: number[] = [];
    let idleSecs = 0;
    let duringSecs = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const log = await fillMb(m, `compacted-${round}`, MB);
      const sizeBefore = log.segments.slice(0, -1).reduce((n, s) => n + s.size, 0);
      let secs = 0;
      const cleaning = (async () => {
        const t0 = performance.now();
        const report = await m.cleaner!.cleanOnce();
        secs = (performance.now() - t0) / 1000;
        if (!report) throw new Error('nothing was cleaned');
        return report;
      })();
      during.push(...(await appendsUntil(m, target, cleaning)));
      const s = (await cleaning).result.stats;
      duringSecs += secs;
      const sizeAfter = log.segments.slice(0, -1).reduce((n, seg) => n + seg.size, 0);
      cleanerRows.push([round, sizeBefore / 1e6, sizeAfter / 1e6, s.mapMs / 1000, secs, sizeBefore / 1e6 / secs, s.recordsRead, s.recordsWritten]);
      idle.push(...(await appendsUntil(m, target, new Promise((r) => setTimeout(r, secs * 1000)))));
      idleSecs += secs;
    }
    const idleSorted = Float64Array.from(idle).sort();
    const duringSorted = Float64Array.from(during).sort();

    console.log(`cleaner: ${ROUNDS} logs of ${MB} MB of updates (${VALUE_BYTES} B values over ${KEYS} keys), 8 MiB segments, io budget ${IO > 0 ? `${IO} B/s` : 'none'}, node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(1)}`);
    const cleanerHeaders = ['cleaning', 'MB before', 'MB after', 'map s', 'total s', 'MB/s cleaned', 'records', 'kept'];
    const appendHeaders = ['appends (16 KiB, acks=-1)', 'rate/s', 'count', 'p50 ms', 'p99 ms', 'max ms', 'seconds'];
    const appendRows: Cell[][] = [
      ['no cleaning', RATE, idleSorted.length, percentile(idleSorted, 0.5), percentile(idleSorted, 0.99), idleSorted[idleSorted.length - 1] ?? 0, idleSecs],
      ['during cleaning', RATE, duringSorted.length, percentile(duringSorted, 0.5), percentile(duringSorted, 0.99), duringSorted[duringSorted.length - 1] ?? 0, duringSecs],
    ];
    const table = process.argv.includes('--markdown') ? markdownTable : plainTable;
    console.log(table(cleanerHeaders, cleanerRows));
    console.log();
    console.log(table(appendHeaders, appendRows));
  } finally {
    await m.close();
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
