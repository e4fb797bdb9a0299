// Micro-benchmark of the leader's batch check: validateBatches over one batch of 16 records of
// 1 KiB (JSON-like text, 2:1 to 4:1 compressible), uncompressed and with each codec, the
// compressed records decompressed and walked as a produce to the leader does. Rates are per
// second of this process's CPU time (a shared machine's wall clock says more about its other
// tenants), MB/s in uncompressed batch bytes.
//
// Bodies come from the reference compressors: zlib (gzip), snappyjs (raw snappy, as librdkafka
// writes it), the lz4 CLI (64 KiB independent blocks, as Kafka's Java client writes) and the
// zstd CLI, with its content size and without it and with a 2 MiB window (as kcat and the Java
// client write it), both installed with the project's test tools.
//
//   npm run build && npm run bench:build && node dist-bench/bench/batch-validation.js [seconds-per-case]
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import snappy from 'snappyjs';
import { uncompressedLimit } from '../src/shared/compression.js';
import { ErrorCode } from '../src/shared/errors.js';
import { BATCH_HEADER_SIZE, buildRecordBatch, resealBatch, validateBatches } from '../src/shared/record-batch.js';

const seconds = Number(process.argv[2] ?? 1);
const LIMIT = uncompressedLimit(1_048_588);

let seed = 42;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
}

const WORDS = ['click', 'view', 'purchase', 'user', 'session', 'page', 'item', 'cart', 'search', 'home', 'mobile', 'desktop', 'eu-west', 'us-east', 'referrer', 'campaign'];

/** 1 KiB of JSON-like text, different in every record. */
function recordValue(i: number): Buffer {
  let s = `{"id":${i},"user":"user-${rand(100_000)}","ts":${1_700_000_000_000 + rand(1e9)},"tags":[`;
  while (s.length < 1024) s += `"${WORDS[rand(WORDS.length)]}-${rand(1000)}",`;
  return Buffer.from(`${s.slice(0, 1021)}"]}`);
}

/** 16 KiB of record values in 16 records (Kafka's default batch.size). */
function plainBatch(): Buffer {
  return buildRecordBatch({ records: Array.from({ length: 16 }, (_, i) => ({ value: recordValue(i) })), firstTimestamp: Date.now() });
}

function compressed(plain: Buffer, codecId: number, compress: (records: Buffer) => Buffer): Buffer {
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), compress(plain.subarray(BATCH_HEADER_SIZE))]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt16BE(codecId, 21);
  resealBatch(batch, 0);
  return batch;
}

const cli = (cmd: string, args: string[]) => (records: Buffer) => execFileSync(cmd, args, { input: records });

function run(name: string, batch: Buffer, uncompressedBytes: number): void {
  const check = validateBatches(batch, LIMIT);
  if (check.errorCode !== ErrorCode.NONE) throw new Error(`${name}: ${check.errorMessage}`);
  for (let i = 0; i < 2000; i++) validateBatches(batch, LIMIT);
  let ops = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 100; i++) validateBatches(batch, LIMIT);
    ops += 100;
  }
  const cpu = process.cpuUsage(cpuStart);
  const secs = (cpu.user + cpu.system) / 1e6;
  const mbs = (ops * uncompressedBytes) / secs / 1e6;
  console.log(
    `${name.padEnd(38)} ${String(batch.length).padStart(6)} B  ${(uncompressedBytes / batch.length).toFixed(1).padStart(4)}:1  ` +
      `${(ops / secs).toFixed(0).padStart(8)} batches/s  ${mbs.toFixed(0).padStart(6)} MB/s`,
  );
}

const plain = plainBatch();
console.log(`validateBatches, one batch of ${plain.length} bytes (${plain.readInt32BE(57)} records), ${seconds} s per case`);
const cases: Array<[string, Buffer]> = [
  ['none', plain],
  ['gzip (zlib level 6)', compressed(plain, 1, (r) => gzipSync(r))],
  ['snappy (raw, snappyjs)', compressed(plain, 2, (r) => Buffer.from(snappy.compress(r)))],
  ['lz4 (lz4 CLI, -B4 -BI)', compressed(plain, 3, cli('lz4', ['-q', '-c', '-B4', '-BI']))],
  ['zstd (content size)', compressed(plain, 4, cli('zstd', ['-q', '-c', '-3']))],
  ['zstd (no content size, 2 MiB window)', compressed(plain, 4, cli('zstd', ['-q', '-c', '-3', '--no-content-size', '--zstd=wlog=21']))],
];
for (const [name, batch] of cases) run(name, batch, plain.length);
