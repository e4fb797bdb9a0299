/**
 * Storage append benchmark: group commit vs one fdatasync per append, against the raw disk.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/log-append.js [--duration=3] [--dir=/tmp]
 *
 * 1, 8 and 64 partitions on one LogManager; 1 KiB records in 16 KiB batches, acks=-1; 1 and 64
 * concurrent appenders (appender i writes partition i mod P, one batch in flight each). Then
 * the same bytes written sequentially to one file with an fdatasync per 16 KiB and per 1 MiB.
 * `ratio` = MB/s of the row / MB/s of the raw 1 MiB-fsync run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { crc32c } from '../src/shared/crc32c.js';
import { buildRecordBatch } from '../src/shared/record-batch.js';
import { defaultLogConfig } from '../src/workers/partition/log/config.js';
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
  const sorted = Float64Array.from(latencies).sort();
  return {
    mode: `raw, fsync per ${syncEvery >= 1 << 20 ? '1 MiB' : '16 KiB'}`,
    partitions: '-',
    appenders: '-',
    appendsPerSec: (syncs * perSync) / secs,
    mbPerSec: bytes / secs / 1e6,
    roundsPerSec: syncs / secs,
    p50us: percentile(sorted, 0.5),
    p99us: percentile(sorted, 0.99),
  };
}

function crcRate(): number {
  const buf = Buffer.alloc(16 << 20, 7);
  crc32c(buf);
  const t0 = performance.now();
  crc32c(buf);
  return buf.length / ((performance.now() - t0) / 1000) / 1e6;
}

async function main(): Promise<void> {
  const rows: Row[] = [runRaw(16 * 1024), runRaw(1 << 20)];
  const raw1m = rows[1]!.mbPerSec;
  for (const groupCommit of [true, false]) {
    for (const partitions of [1, 8, 64]) {
      for (const appenders of [1, 64]) rows.push(await runLog(groupCommit, partitions, appenders));
    }
  }
  const batchBytes = makeBatch().length;
  console.log(
    `log-append: ${RECORDS_PER_BATCH} x ${RECORD_BYTES} B records per batch (${batchBytes} B), acks=-1, ` +
      `${DURATION_MS / 1000} s per row, dir ${BASE_DIR}, node ${process.version}, ${os.cpus().length} cpus, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`,
  );
  console.log(`crc32c: ${crcRate().toFixed(0)} MB/s`);
  const header = ['mode', 'parts', 'appenders', 'appends/s', 'MB/s', 'fsyncs/s', 'p50 us', 'p99 us', 'ratio'];
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
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

await main();
