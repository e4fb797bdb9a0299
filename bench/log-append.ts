/**
 * Storage append benchmark: group commit vs one fdatasync per append, against the raw disk.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/log-append.js [--duration=3] [--dir=/tmp]
 *
 * 1, 8 and 64 partitions on one LogManager; 1 KiB records in 16 KiB batches, acks=-1; 1 and 64
 * concurrent appenders (appender i writes partition i mod P, one batch in flight each). Then
 * the same bytes written sequentially to one file with an fdatasync per 16 KiB and per 1 MiB,
 * and 1 MiB rounds spread over 8 and 64 files with one fdatasync per file per round, all in
 * parallel on the thread pool: what group commit itself does, so those rows are its ceiling
 * at 8 and 64 partitions. The raw rows run before and after the logs (the disk's speed drifts
 * over a run); `ratio` = MB/s of the row / the mean MB/s of the two raw 1 MiB-fsync runs, and
 * `of ceiling` = MB/s of the row / the mean MB/s of the raw runs over as many files.
 * `rounds/s`: fsync rounds (one fdatasync per file written in the round); p50/p99: an append's
 * latency, or a raw round's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { crc32c } from '../src/shared/crc32c.js';
import { buildRecordBatch } from '../src/shared/record-batch.js';
import { defaultLogConfig } from '../src/shared/log-config.js';
import { LogManager } from '../src/workers/partition/log/log-manager.js';

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const DURATION_MS = Number(arg('duration', '3')) * 1000;
const BASE_DIR = arg('dir', os.tmpdir());
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 16;

function makeBatch(): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: Buffer.alloc(RECORD_BYTES - 10, i) })),
  });
}

interface Row {
  mode: string;
  partitions: number | string;
  appenders: number | string;
  appendsPerSec: number;
  mbPerSec: number;
  roundsPerSec: number;
  p50us: number;
  p99us: number;
  /** Files synced per round, for rows that have a raw ceiling. */
  files?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0;
}

async function runLog(groupCommit: boolean, partitions: number, appenders: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(BASE_DIR, 'bench-log-'));
  const m = await LogManager.open({ dir, config: defaultLogConfig, logger: pino({ level: 'silent' }), groupCommit });
  try {
    const logs = await Promise.all(Array.from({ length: partitions }, (_, p) => m.create('bench', p)));
    const latencies: number[] = [];
    let bytes = 0;
    const rounds0 = m.syncRounds;
    const start = performance.now();
    const end = start + DURATION_MS;
    await Promise.all(
      Array.from({ length: appenders }, async (_, i) => {
        const records = makeBatch();
        const log = logs[i % partitions]!;
        while (performance.now() < end) {
          const t0 = performance.now();
          const r = await m.append(log, records, { acks: -1, leaderEpoch: 0 });
          if (r.errorCode !== 0) throw new Error(`append failed: ${r.errorCode}`);
          latencies.push((performance.now() - t0) * 1000);
          bytes += records.length;
        }
      }),
    );
    const secs = (performance.now() - start) / 1000;
    const sorted = Float64Array.from(latencies).sort();
    return {
      mode: groupCommit ? 'group commit' : 'fsync per append',
      files: partitions,
      partitions,
      appenders,
      appendsPerSec: latencies.length / secs,
      mbPerSec: bytes / secs / 1e6,
      roundsPerSec: (m.syncRounds - rounds0) / secs,
      p50us: percentile(sorted, 0.5),
      p99us: percentile(sorted, 0.99),
    };
  } finally {
    await m.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function rowStats(mode: string, latencies: number[], appends: number, bytes: number, syncs: number, secs: number, files?: number): Row {
  const sorted = Float64Array.from(latencies).sort();
  return {
    mode,
    files,
    partitions: '-',
    appenders: '-',
    appendsPerSec: appends / secs,
    mbPerSec: bytes / secs / 1e6,
    roundsPerSec: syncs / secs,
    p50us: percentile(sorted, 0.5),
    p99us: percentile(sorted, 0.99),
  };
}

/**
 * 1 MiB per round spread over `files` files (16 KiB batches, equal shares), then one
 * fdatasync per file, all at once on the thread pool; a round's latency is its write and sync.
 */
async function runRawFiles(files: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(BASE_DIR, 'bench-raw-'));
  const fds = Array.from({ length: files }, (_, i) => fs.openSync(path.join(dir, `raw-${i}.log`), 'w'));
  const chunk = makeBatch();
  const perFile = Math.max(1, Math.round((1 << 20) / chunk.length / files));
  const latencies: number[] = [];
  let bytes = 0;
  let rounds = 0;
  const start = performance.now();
  while (performance.now() - start < DURATION_MS) {
    const t0 = performance.now();
    for (const fd of fds) for (let i = 0; i < perFile; i++) bytes += fs.writeSync(fd, chunk);
    await Promise.all(fds.map((fd) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())))));
    rounds++;
    latencies.push((performance.now() - t0) * 1000);
  }
  const secs = (performance.now() - start) / 1000;
  for (const fd of fds) fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return rowStats(`raw, 1 MiB over ${files} files`, latencies, rounds * perFile * files, bytes, rounds, secs, files);
}

/** The same bytes, written sequentially to one file, an fdatasync every `syncEvery` bytes. */
function runRaw(syncEvery: number): Row {
  const dir = fs.mkdtempSync(path.join(BASE_DIR, 'bench-raw-'));
  const fd = fs.openSync(path.join(dir, 'raw.log'), 'w');
  const chunk = makeBatch();
  const perSync = Math.max(1, Math.round(syncEvery / chunk.length));
  const latencies: number[] = [];
  let bytes = 0;
  let syncs = 0;
  const start = performance.now();
  while (performance.now() - start < DURATION_MS) {
    const t0 = performance.now();
    for (let i = 0; i < perSync; i++) bytes += fs.writeSync(fd, chunk);
    fs.fdatasyncSync(fd);
    syncs++;
    latencies.push((performance.now() - t0) * 1000);
  }
  const secs = (performance.now() - start) / 1000;
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return rowStats(`raw, fsync per ${syncEvery >= 1 << 20 ? '1 MiB' : '16 KiB'}`, latencies, syncs * perSync, bytes, syncs, secs, syncEvery >= 1 << 20 ? 1 : undefined);
}

function crcRate(): number {
  const buf = Buffer.alloc(16 << 20, 7);
  crc32c(buf);
  const t0 = performance.now();
  crc32c(buf);
  return buf.length / ((performance.now() - t0) / 1000) / 1e6;
}

async function main(): Promise<void> {
  const raws = async (): Promise<Row[]> => [runRaw(16 * 1024), runRaw(1 << 20), await runRawFiles(8), await runRawFiles(64)];
  const before = await raws();
  const logs: Row[] = [];
  for (const groupCommit of [true, false]) {
    for (const partitions of [1, 8, 64]) {
      for (const appenders of [1, 64]) logs.push(await runLog(groupCommit, partitions, appenders));
    }
  }
  const after = await raws();
  const rows = [...before, ...logs, ...after];
  const mean = (i: number): number => (before[i]!.mbPerSec + after[i]!.mbPerSec) / 2;
  const raw1m = mean(1);
  /** The raw MB/s over as many files as the row syncs per round, by file count. */
  const ceilings = new Map([[1, raw1m], [8, mean(2)], [64, mean(3)]]);
  const ceiling = (r: Row): number | undefined => (r.files === undefined ? undefined : ceilings.get(r.files));
  const batchBytes = makeBatch().length;
  console.log(
    `log-append: ${RECORDS_PER_BATCH} x ${RECORD_BYTES} B records per batch (${batchBytes} B), acks=-1, ` +
      `${DURATION_MS / 1000} s per row, dir ${BASE_DIR}, node ${process.version}, ${os.cpus().length} cpus, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`,
  );
  console.log(`crc32c: ${crcRate().toFixed(0)} MB/s`);
  const header = ['mode', 'parts', 'appenders', 'appends/s', 'MB/s', 'rounds/s', 'p50 us', 'p99 us', 'ratio', 'of ceiling'];
  const table = rows.map((r) => [
    r.mode,
    String(r.partitions),
    String(r.appenders),
    r.appendsPerSec.toFixed(0),
    r.mbPerSec.toFixed(1),
    r.roundsPerSec.toFixed(0),
    r.p50us.toFixed(0),
    r.p99us.toFixed(0),
    (r.mbPerSec / raw1m).toFixed(2),
    ceiling(r) === undefined ? '-' : (r.mbPerSec / ceiling(r)!).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

await main();
