/**
 * How fetched bytes should reach the main thread: copied through the worker's response ring,
 * or read by the main thread itself from a file position the worker hands over. Both paths end
 * with the bytes in a Buffer on the main thread, ready for the socket.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/fetch-path.js [--mb 2048] [--sizes 16384,262144,1048576]
 *
 * ring: a worker thread publishes FETCH_RESULT messages carrying `size` bytes; the main thread
 *       drains and copies each out of the ring (what partition-workers.ts does).
 * file: the main thread reads `size` bytes at successive positions of a page-cached file with
 *       FileHandle.read (one libuv thread-pool hop per read, as a handed-over position would need).
 * Prints bytes/s and the main thread's CPU time per GB for each.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { open, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRing, RingConsumer, RingProducer } from '../src/shared/ring.js';
import { MsgType, readMessage } from '../src/shared/thread-messages.js';
import { Outbox } from '../src/shared/outbox.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

async function producer(): Promise<void> {
  const { sab, size, count } = workerData as { sab: SharedArrayBuffer; size: number; count: number };
  // A port with a listener keeps this thread alive while the Outbox waits for ring space.
  parentPort!.on('message', () => process.exit(0));
  const out = new Outbox(new RingProducer(sab));
  const records = Buffer.alloc(size, 7);
  for (let i = 0; i < count; i++) {
    out.send({ type: MsgType.FETCH_RESULT, req: 1, part: i, error: 0, highWatermark: 0, logStartOffset: 0, divergingEpoch: -1, divergingEndOffset: -1, records });
    if (i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  parentPort!.postMessage('done');
}

async function ringRun(size: number, totalBytes: number): Promise<{ gbps: number; cpuPerGb: number }> {
  const count = Math.max(1, Math.floor(totalBytes / size));
  const sab = createRing(16 * 1024 * 1024);
  const consumer = new RingConsumer(sab);
  const w = new Worker(new URL(import.meta.url), { workerData: { sab, size, count } });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let got = 0;
  let bytes = 0;
  const keepAlive = setInterval(() => undefined, 1000);
  await new Promise<void>((resolve) => {
    void consumer.run((b, v, at) => {
      const m = readMessage(b, v, at);
      if (m.type === MsgType.FETCH_RESULT) bytes += m.records.length;
      if (++got === count) {
        consumer.stop();
        resolve();
      }
    });
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(keepAlive);
  await w.terminate();
  return { gbps: bytes / secs / 1e9, cpuPerGb: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9) };
}

async function fileRun(size: number, totalBytes: number): Promise<{ gbps: number; cpuPerGb: number }> {
  const file = path.join(os.tmpdir(), `fetch-path-${process.pid}.bin`);
  const fileBytes = 256 * 1024 * 1024;
  await writeFile(file, Buffer.alloc(fileBytes, 7));
  const fh = await open(file, 'r');
  const count = Math.max(1, Math.floor(totalBytes / size));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await fh.read(buf, 0, size, (i * size) % (fileBytes - size));
    bytes += bytesRead;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await fh.close();
  await rm(file);
  return { gbps: bytes / secs / 1e9, cpuPerGb: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9) };
}

async function main(): Promise<void> {
  const total = Number(arg('mb', '2048')) * 1024 * 1024;
  const sizes = arg('sizes', '16384,262144,1048576').split(',').map(Number);
  console.log(`fetch path: ${total / 1024 / 1024} MiB per run, ${os.cpus().length} cores, node ${process.version}`);
  console.log('size      path  GB/s   main-thread CPU s/GB');
  for (const size of sizes) {
    const r = await ringRun(size, total);
    const f = await fileRun(size, total);
    console.log(`${String(size).padEnd(9)} ring  ${r.gbps.toFixed(2).padStart(5)}  ${r.cpuPerGb.toFixed(3)}`);
    console.log(`${String(size).padEnd(9)} file  ${f.gbps.toFixed(2).padStart(5)}  ${f.cpuPerGb.toFixed(3)}`);
  }
}

if (isMainThread) void main();
else void producer();
