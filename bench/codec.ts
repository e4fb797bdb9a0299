// Micro-benchmark of the protocol hot paths: decoding Produce requests and encoding
// Fetch responses (with record data passed by reference), plus the request header.
//
//   npx tsc -p bench/tsconfig.json && node dist-bench/bench/codec.js [seconds-per-case]
import {
  ApiKey,
  decodeProduceRequest,
  decodeRequestHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  Reader,
  Writer,
} from '../src/shared/protocol/index.js';

const seconds = Number(process.argv[2] ?? 1);

interface Row {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
  mbPerSec: number;
}

function run(name: string, bytesPerOp: number, op: () => void): Row {
  for (let i = 0; i < 20_000; i++) op();
  let ops = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) op();
    ops += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const secs = Number(elapsed) / 1e9;
  return { name, opsPerSec: ops / secs, nsPerOp: (secs * 1e9) / ops, mbPerSec: (ops * bytesPerOp) / secs / 2 ** 20 };
}

function produceFrame(partitions: number, batchBytes: number): Buffer {
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: 'bench-topic',
        partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: Buffer.alloc(batchBytes, index) })),
      },
    ],
  };
  return Buffer.concat(encodeRequestFrame(ApiKey.Produce, 9, 1, 'bench-client', body)).subarray(4);
}

function decodeProduce(frame: Buffer): () => void {
  return () => {
    const h = decodeRequestHeader(frame);
    decodeProduceRequest(new Reader(frame, h.headerLength), h.apiVersion);
  };
}

function fetchBody(topics: number, partitions: number, recordBytes: number): object {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: Array.from({ length: topics }, (_, t) => ({
      topic: `bench-topic-${t}`,
      partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
        partitionIndex,
        errorCode: 0,
        highWatermark: 1_000_000,
        lastStableOffset: 1_000_000,
        logStartOffset: 0,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: Buffer.alloc(recordBytes, partitionIndex),
      })),
    })),
  };
}

function encodeFetch(body: object): () => void {
  const w = new Writer(64 * 1024);
  let sink = 0;
  return () => {
    sink += encodeResponseFrame(ApiKey.Fetch, 12, 7, body, w).length;
    if (sink < 0) throw new Error('unreachable');
  };
}

const small = produceFrame(1, 1024);
const wide = produceFrame(16, 16 * 1024);
const rows: Row[] = [
  run('decode ProduceRequest v9, 1 partition x 1 KiB', small.length, decodeProduce(small)),
  run('decode ProduceRequest v9, 16 partitions x 16 KiB', wide.length, decodeProduce(wide)),
  run('decodeRequestHeader (Produce v9)', 0, () => decodeRequestHeader(small)),
  run('encode FetchResponse v12, 1 partition x 1 MiB', 2 ** 20, encodeFetch(fetchBody(1, 1, 2 ** 20))),
  run('encode FetchResponse v12, 4 topics x 8 partitions x 64 KiB', 32 * 64 * 1024, encodeFetch(fetchBody(4, 8, 64 * 1024))),
  run('encode FetchResponse v12, 4 topics x 8 partitions x 512 B', 32 * 512, encodeFetch(fetchBody(4, 8, 512))),
];

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'ops/s'.padStart(12)}  ${'ns/op'.padStart(10)}  ${'MiB/s'.padStart(10)}`);
for (const r of rows) {
  const mb = r.mbPerSec > 0 ? r.mbPerSec.toFixed(0) : '-';
  console.log(`${r.name.padEnd(width)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)}  ${r.nsPerOp.toFixed(0).padStart(10)}  ${mb.padStart(10)}`);
}
console.log('MiB/s counts record bytes carried; Fetch record data is referenced, not copied.');
