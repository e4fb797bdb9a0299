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
import { ClientConnection } from '../src/shared/client-connection.js';
import { encodeRequestFrame } from '../src/shared/protocol/frames.js';
import { ApiKey } from '../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../src/shared/record-batch.js';

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
  const conn = await ClientConnection.connect(host, Number(port), { clientId: 'one-in-flight' });
  await conn.request(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: true });
  const records = buildRecordBatch({ records: [{ key: null, value: Buffer.alloc(size, 1) }] });
  const micros: number[] = [];
  let errors = 0;
  for (let i = 1; i <= requests; i++) {
    const frame = encodeRequestFrame(ApiKey.Produce, 9, 0, 'one-in-flight', {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    const t0 = process.hrtime.bigint();
    const answer = await conn.exchange(ApiKey.Produce, 9, frame);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
    if (answer.responses[0]?.partitionResponses[0]?.errorCode !== 0) errors++;
    else if (i > warmup) micros.push(elapsed);
  }
  conn.close();
  micros.sort((a, b) => a - b);
  const q = (p: number): string => micros[Math.min(micros.length - 1, Math.floor(p * micros.length))]!.toFixed(0);
  console.log(`acks=${acks === -1 ? 'all' : acks}, one request in flight, ${size} B record, topic ${topic} partition 0, ${host}:${port}, ${micros.length} samples after ${warmup} warm-up`);
  console.log('p50 us  p99 us  p99.9 us  max us  errors');
  console.log(`${q(0.5).padStart(6)}  ${q(0.99).padStart(6)}  ${q(0.999).padStart(8)}  ${micros[micros.length - 1]!.toFixed(0).padStart(6)}  ${errors}`);
}

void main();
