/**
 * acks=all latency with exactly one request in flight: the floor a single synchronous producer
 * sees. One connection, one Produce v9 of one record at a time, the next sent when the answer
 * arrives; every round trip after the warm-up goes into the percentiles.
 *
 *   npm run build && npm run bench:build
 *   node dist-bench/bench/one-in-flight.js --bootstrap 127.0.0.1:9092 [--requests 10000] [--record-size 1024] [--topic one-in-flight] [--acks -1|1]
 *
 * `--acks 1` gives the same round trip without the fdatasync, which separates the broker's
 * own path (network, thread hops, the write) from the disk.
 *
 * The topic must exist or be auto-created (a first Metadata request asks for it).
 */
import net from 'node:net';
import { encodeRequestFrame } from '../src/shared/protocol/frames.js';
import { ApiKey } from '../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../src/shared/record-batch.js';
import { decodeResponseHeader } from '../src/shared/protocol/headers.js';
import { decodeProduceResponse } from '../src/shared/protocol/generated/produce-response.js';
import { Reader } from '../src/shared/protocol/reader.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const [host, port] = arg('bootstrap', '127.0.0.1:9092').split(':') as [string, string];
const requests = Number(arg('requests', '10000'));
const size = Number(arg('record-size', '1024'));
const topic = arg('topic', 'one-in-flight');
const acks = Number(arg('acks', '-1'));
const warmup = Math.min(500, Math.floor(requests / 10));

async function main(): Promise<void> {
  const s = net.connect(Number(port), host);
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  let pending: Buffer[] = [];
  let buffered = 0;
  let wake: ((frame: Buffer) => void) | undefined;
  s.on('data', (d: Buffer) => {
    pending.push(d);
    buffered += d.length;
    if (buffered >= 4) {
      const all = Buffer.concat(pending);
      const size = all.readInt32BE(0);
      if (all.length >= 4 + size) {
        const rest = all.subarray(4 + size);
        pending = rest.length ? [rest] : [];
        buffered = rest.length;
        wake?.(all.subarray(4, 4 + size));
      }
    }
  });
  const roundTrip = (frame: Buffer[]): Promise<Buffer> =>
    new Promise((resolve) => {
      wake = resolve;
      s.cork();
      for (const c of frame) s.write(c);
      s.uncork();
    });
  await roundTrip(encodeRequestFrame(ApiKey.Metadata, 9, 0, 'one-in-flight', { topics: [{ name: topic }], allowAutoTopicCreation: true }));
  const records = buildRecordBatch({ records: [{ key: null, value: Buffer.alloc(size, 1) }] });
  const micros: number[] = [];
  let errors = 0;
  for (let i = 1; i <= requests; i++) {
    const frame = encodeRequestFrame(ApiKey.Produce, 9, i, 'one-in-flight', {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    const t0 = process.hrtime.bigint();
    const answer = await roundTrip(frame);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
    const r = new Reader(answer);
    decodeResponseHeader(r, ApiKey.Produce, 9);
    if (decodeProduceResponse(r, 9).responses[0]?.partitionResponses[0]?.errorCode !== 0) errors++;
    else if (i > warmup) micros.push(elapsed);
  }
  s.destroy();
  micros.sort((a, b) => a - b);
  const q = (p: number): string => micros[Math.min(micros.length - 1, Math.floor(p * micros.length))]!.toFixed(0);
  console.log(`acks=${acks === -1 ? 'all' : acks}, one request in flight, ${size} B record, topic ${topic} partition 0, ${host}:${port}, ${micros.length} samples after ${warmup} warm-up`);
  console.log('p50 us  p99 us  p99.9 us  max us  errors');
  console.log(`${q(0.5).padStart(6)}  ${q(0.99).padStart(6)}  ${q(0.999).padStart(8)}  ${micros[micros.length - 1]!.toFixed(0).padStart(6)}  ${errors}`);
}

void main();
