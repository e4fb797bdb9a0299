// Hostile input against a real broker process. First the specific answers a Kafka broker
// gives: an unknown API key closes the connection; a 200 MB size prefix closes it without
// the broker reserving memory for it; a Produce whose batch CRC is wrong gets CORRUPT_MESSAGE
// for that partition only; a valid request written one byte at a time is answered.
// Then 10,000 frames over many connections: random bytes, and real requests (ApiVersions,
// Metadata, Produce with a real record batch, plain or compressed with any codec, Fetch,
// ListOffsets, CreateTopics) at every supported version, sent intact or mutated (bit flips,
// truncations, huge or negative size prefixes, unknown API keys and versions, corrupt record
// batches, compressed batches whose codec, body or record count lies under a correct CRC).
// Compressed batches that lie also get checked answers of their own. A connection the broker
// closes is replaced by a fresh one. Afterwards the process must be alive and a real client
// must still produce and read back.
//
// Reproduce a run: FUZZ_SEED=<seed printed in the output> npx tap test/clients/fuzz.test.ts
import t, { type Test } from 'tap';
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { FrameReader } from '../../src/shared/frame-reader.js';
import { encodeRequestFrame } from '../../src/shared/protocol/frames.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch, type RecordInput } from '../../src/shared/record-batch.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { compress, compressedBatch, type BodyCodec } from '../helpers/compressed-batch.js';
import { brokerTeardown } from './harness.js';
import { readPartition, WireClient } from './wire-client.js';

const FRAMES = 10_000;
const CONNECTIONS = 8;
const FUZZ_TOPIC = 'fuzz';
const MAX_REQUEST_BYTES = 104_857_600; // socket.request.max.bytes default
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const randomBuf = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(0, 255)));

function frame(apiKey: number, version: number, body: object): Buffer {
  return Buffer.concat(encodeRequestFrame(apiKey, version, int(0, 2 ** 31 - 1), pick(['fuzz', null, '']), body));
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The broker's open file descriptors by kind (socket, pipe, path), for the failure report. */
function openFiles(pid: number): string {
  const kinds = new Map<string, number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\d+/g, 'N');
      } catch {
        continue;
      }
      kinds.set(target, (kinds.get(target) ?? 0) + 1);
    }
  } catch {
    return 'unreadable';
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${v} ${k}`).join(', ');
}

/** Resolves with the bytes received once the broker closes the socket, or null after timeoutMs. */
function closedWithin(socket: net.Socket, timeoutMs: number): Promise<Buffer | null> {
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

interface Generated {
  bytes: Buffer;
  /** where the record batch sits in the frame, for Produce */
  batch?: { start: number; end: number };
  /** the same Produce with a compressed batch that lies (codec, body or count), CRC correct */
  lying?: Buffer;
}

const CODECS: readonly BodyCodec[] = ['gzip', 'snappy', 'snappy-xerial', 'lz4', 'zstd'];
const LIES = ['codec', 'garbage', 'cut', 'count', 'offsets', 'trailing'] as const;
type Lie = (typeof LIES)[number];

/** A compressed batch of `records` whose header or body lies in the way `lie` says; the CRC is right. */
function lyingBatch(codec: BodyCodec, records: RecordInput[], lie: Lie): Buffer {
  switch (lie) {
    case 'codec':
      return compressedBatch(codec, { records, codecId: int(5, 7) });
    case 'garbage': // after 0x01 0x01 no codec can decode it (for raw snappy: a copy from before the start)
      return compressedBatch(codec, { records, body: Buffer.concat([Buffer.from([1, 1]), randomBuf(int(0, 200))]) });
    case 'cut': {
      const body = compress(codec, Buffer.from('a records section '.repeat(int(1, 30))));
      return compressedBatch(codec, { records, body: body.subarray(0, int(0, body.length - 1)) });
    }
    case 'count':
      return compressedBatch(codec, { records, recordCount: records.length + pick([-1, 1, 2]) });
    case 'offsets':
      return compressedBatch(codec, { records: records.map((r, i) => ({ ...r, offsetDelta: i === records.length - 1 ? i + 1 : i })) });
    case 'trailing':
      return compressedBatch(codec, { records, trailing: randomBuf(int(1, 8)) });
  }
}

/** What each lie is, and the code the broker answers it with. */
const LIE_ANSWER: Record<Lie, [string, number]> = {
  codec: ['an unknown codec id', ErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
  garbage: ['a body of garbage', ErrorCode.CORRUPT_MESSAGE],
  cut: ['a body cut short', ErrorCode.CORRUPT_MESSAGE],
  count: ['a wrong record count', ErrorCode.INVALID_RECORD],
  offsets: ['a skipped offset delta', ErrorCode.INVALID_RECORD],
  trailing: ['bytes after the last record', ErrorCode.INVALID_RECORD],
};

/** One valid request frame of a random supported API and version. */
function validFrame(topicId: string): Generated {
  switch (int(0, 5)) {
    case 0: {
      const version = int(0, 3);
      return { bytes: frame(ApiKey.ApiVersions, version, version >= 3 ? { clientSoftwareName: 'fuzz', clientSoftwareVersion: String(int(0, 99)) } : {}) };
    }
    case 1: {
      const version = int(0, 12);
      const topic = version >= 10 ? { name: FUZZ_TOPIC, topicId } : { name: FUZZ_TOPIC };
      return { bytes: frame(ApiKey.Metadata, version, { topics: random() < 0.5 && version >= 1 ? null : [topic], ...(version >= 4 ? { allowAutoTopicCreation: false } : {}) }) };
    }
    case 2: {
      const records = Array.from({ length: int(1, 5) }, () => ({ key: random() < 0.5 ? null : randomBuf(int(0, 8)), value: randomBuf(int(0, 64)) }));
      const codec = pick(CODECS);
      const batch = random() < 0.5 ? buildRecordBatch({ records }) : compressedBatch(codec, { records });
      const produce = (b: Buffer): Buffer =>
        frame(ApiKey.Produce, int(3, 11), {
          acks: pick([0, 1, -1]),
          timeoutMs: 1000,
          topicData: [{ name: FUZZ_TOPIC, partitionData: [{ index: int(0, 1), records: b }] }],
        });
      const bytes = produce(batch);
      const start = bytes.indexOf(batch);
      return { bytes, batch: { start, end: start + batch.length }, lying: produce(lyingBatch(codec, records, pick(LIES))) };
    }
    case 3: {
      const version = int(4, 15);
      return {
        bytes: frame(ApiKey.Fetch, version, {
          replicaId: -1,
          maxWaitMs: int(0, 20),
          minBytes: int(0, 1),
          maxBytes: int(0, 1 << 20),
          isolationLevel: int(0, 1),
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ ...(version >= 13 ? { topicId } : { topic: FUZZ_TOPIC }), partitions: [{ partition: int(0, 2), currentLeaderEpoch: -1, fetchOffset: int(-1, 200), lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: int(0, 1 << 20) }] }],
          forgottenTopicsData: [],
          rackId: '',
        }),
      };
    }
    case 4: {
      const version = int(1, 8);
      return {
        bytes: frame(ApiKey.ListOffsets, version, {
          replicaId: -1,
          isolationLevel: version >= 2 ? int(0, 1) : 0,
          topics: [{ name: FUZZ_TOPIC, partitions: [{ partitionIndex: int(0, 2), currentLeaderEpoch: -1, timestamp: pick([-1, -2, -3, 0, Date.now()]) }] }],
        }),
      };
    }
    default:
      return {
        bytes: frame(ApiKey.CreateTopics, int(2, 7), {
          topics: [{ name: `fuzz-created-${int(0, 3)}`, numPartitions: int(-1, 2), replicationFactor: pick([-1, 1]), assignments: [], configs: [] }],
          timeoutMs: 1000,
          validateOnly: random() < 0.3,
        }),
      };
  }
}

const MUTATIONS = ['none', 'bitflip', 'truncate', 'tear', 'huge-size', 'negative-size', 'unknown-api', 'bad-version', 'corrupt-batch', 'lying-batch', 'random', 'garbage'] as const;
type Mutation = (typeof MUTATIONS)[number];

function withSize(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function mutate(g: Generated, m: Mutation): Buffer {
  const b = Buffer.from(g.bytes);
  switch (m) {
    case 'none':
      return b;
    case 'bitflip':
      for (let i = int(1, 4); i > 0; i--) {
        const at = int(4, b.length - 1);
        b[at] = b[at]! ^ (1 << int(0, 7));
      }
      return b;
    case 'truncate': // a complete frame whose body ends early
      return withSize(b.subarray(4, int(4, b.length - 1)));
    case 'tear': // the size prefix promises more than ever arrives before the next frame
      return b.subarray(0, int(1, b.length - 1));
    case 'huge-size':
      b.writeInt32BE(int(MAX_REQUEST_BYTES + 1, 2 ** 31 - 1), 0);
      return b;
    case 'negative-size':
      b.writeInt32BE(int(-(2 ** 31), -1), 0);
      return b;
    case 'unknown-api':
      b.writeInt16BE(pick([int(100, 32767), int(-32768, -1)]), 4);
      return b;
    case 'bad-version':
      b.writeInt16BE(pick([int(-32768, -1), int(16, 32767), int(0, 20)]), 6);
      return b;
    case 'corrupt-batch': {
      if (!g.batch) return mutate(g, 'bitflip');
      const { start, end } = g.batch;
      const field = int(0, 4);
      if (field === 0) b.writeInt32BE(int(-5, 1 << 30), start + 8); // batchLength
      else if (field === 1) b.writeInt8(int(-128, 127), start + 16); // magic
      else if (field === 2) b.writeInt32BE(int(-5, 1 << 30), start + 57); // recordCount
      else if (field === 3) b.writeUInt32BE(int(0, 2 ** 32 - 1), start + 17); // crc
      else {
        const at = int(start + 21, end - 1);
        b[at] = b[at]! ^ (1 << int(0, 7)); // covered bytes
      }
      return b;
    }
    case 'lying-batch':
      return g.lying ?? mutate(g, 'bitflip');
    case 'random':
      return withSize(randomBuf(int(0, 300)));
    case 'garbage':
      return randomBuf(int(1, 64));
  }
}

async function produceCorruptCrc(t: Test, broker: BrokerProcess): Promise<void> {
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const good = buildRecordBatch({ records: [{ value: Buffer.from('good') }] });
  const bad = buildRecordBatch({ records: [{ value: Buffer.from('bad!') }] });
  bad[bad.length - 2] = bad[bad.length - 2]! ^ 0xff;
  for (const version of [3, 7, 9, 11]) {
    const before = (await readPartition(client, FUZZ_TOPIC, 1)).highWatermark;
    const res = await client.request(ApiKey.Produce, version, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: FUZZ_TOPIC, partitionData: [{ index: 0, records: good }, { index: 1, records: bad }] }],
    });
    const parts = res.responses[0].partitionResponses;
    t.equal(parts.find((p: { index: number }) => p.index === 0)?.errorCode, ErrorCode.NONE, `Produce v${version}: the intact batch is accepted`);
    t.equal(parts.find((p: { index: number }) => p.index === 1)?.errorCode, ErrorCode.CORRUPT_MESSAGE, `Produce v${version}: the batch with a bad CRC gets CORRUPT_MESSAGE`);
    t.equal((await readPartition(client, FUZZ_TOPIC, 1)).highWatermark, before, `Produce v${version}: nothing of the corrupt batch is appended`);
  }
}

async function produceLyingCompressed(t: Test, broker: BrokerProcess): Promise<void> {
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  for (const lie of LIES) {
    const codec = pick(CODECS);
    const records = Array.from({ length: int(1, 5) }, (_, i) => ({ value: Buffer.from(`${lie}-${i}`) }));
    const version = int(3, 11);
    const before = (await readPartition(client, FUZZ_TOPIC, 1)).highWatermark;
    const res = await client.request(ApiKey.Produce, version, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: FUZZ_TOPIC, partitionData: [{ index: 0, records: compressedBatch('gzip', { records }) }, { index: 1, records: lyingBatch(codec, records, lie) }] }],
    });
    const parts = res.responses[0].partitionResponses;
    const [lieText, code] = LIE_ANSWER[lie];
    const what = `Produce v${version}, ${codec} batch with ${lieText}`;
    t.equal(parts.find((p: { index: number }) => p.index === 0)?.errorCode, ErrorCode.NONE, `${what}: the honest gzip batch beside it is accepted`);
    t.equal(parts.find((p: { index: number }) => p.index === 1)?.errorCode, code, `${what}: error ${code}`);
    t.equal((await readPartition(client, FUZZ_TOPIC, 1)).highWatermark, before, `${what}: nothing appended`);
  }
}

t.test('broker under hostile input', async (t) => {
  // Bit flips turn the fuzz's CreateTopics into requests for thousands of partitions; a low
  // max.broker.partitions keeps the run about the protocol, not about hosting them all.
  const broker = await startBroker({ overrides: { 'num.partitions': 2, 'max.broker.partitions': 5000 } });
  brokerTeardown(t, broker);
  t.comment(`FUZZ_SEED=${seed}`);
  const admin = await WireClient.connect(broker.port);
  t.teardown(() => admin.close());
  const created = await admin.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: FUZZ_TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'fuzz topic created');
  const md = await admin.request(ApiKey.Metadata, 12, { topics: [{ name: FUZZ_TOPIC }], allowAutoTopicCreation: false });
  const topicId: string = md.topics[0].topicId;

  await t.test('an unknown API key closes the connection', async (t) => {
    for (const apiKey of [9999, -1, 32767]) {
      const s = await connect(broker.port);
      const f = frame(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' });
      f.writeInt16BE(apiKey, 4);
      const closed = closedWithin(s, 5000);
      s.write(f);
      const got = await closed;
      t.not(got, null, `API key ${apiKey}: the broker closes the connection`);
      t.equal(got?.length, 0, `API key ${apiKey}: without answering`);
    }
  });

  await t.test('a 200 MB size prefix closes the connection without buffering', async (t) => {
    const rssBefore = rssBytes(broker.proc.pid!);
    const s = await connect(broker.port);
    const head = Buffer.alloc(4 + 64, 7);
    head.writeInt32BE(200 * 1024 * 1024, 0);
    const closed = closedWithin(s, 5000);
    s.write(head);
    const got = await closed;
    t.not(got, null, 'the broker closes the connection after the prefix alone');
    const grown = rssBytes(broker.proc.pid!) - rssBefore;
    t.ok(grown < 50 * 1024 * 1024, `and does not reserve memory for it (RSS grew ${(grown / 1048576).toFixed(1)} MiB)`);
  });

  await t.test('a Produce with a corrupt CRC gets CORRUPT_MESSAGE for that partition', (t) => produceCorruptCrc(t, broker));

  await t.test('a compressed batch whose codec, body or count lies gets its error code for that partition', (t) => produceLyingCompressed(t, broker));

  await t.test('a request written one byte at a time is answered', async (t) => {
    const s = await connect(broker.port);
    const f = Buffer.concat(encodeRequestFrame(ApiKey.Metadata, 9, 77, 'slow', { topics: [{ name: FUZZ_TOPIC }] }));
    const answer = new Promise<Buffer>((resolve) => {
      const reader = new FrameReader();
      s.on('data', (d: Buffer) => {
        reader.push(d);
        const frame = reader.next();
        if (frame !== null) resolve(frame);
      });
    });
    for (const byte of f) {
      s.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const res = await answer;
    t.equal(res.readInt32BE(0), 77, 'the answer carries the correlation id');
    s.destroy();
  });

  await t.test(`${FRAMES} random and mutated frames over many connections`, async (t) => {
    const counts = new Map<Mutation, number>();
    let sent = 0;
    let connections = 0;
    let closedByBroker = 0;
    let retired = 0;
    // Every frame is drawn from the seed before any is sent, and connection c sends frames c,
    // c + CONNECTIONS, ...: the same seed sends the same frames on the same connections.
    const planned = Array.from({ length: FRAMES }, () => {
      const g = validFrame(topicId);
      const m: Mutation = random() < 0.2 ? 'none' : pick(MUTATIONS);
      return { m, bytes: mutate(g, m) };
    });
    const started = Date.now();
    const deadline = started + 70_000;
    const loop = async (c: number): Promise<void> => {
      let s: net.Socket | undefined;
      let alive = false;
      let signal: (() => void) | undefined;
      for (let i = c; i < FRAMES && Date.now() < deadline; i += CONNECTIONS) {
        if (!s || !alive) {
          s?.destroy();
          s = await connect(broker.port);
          connections++;
          alive = true;
          const mine = s;
          mine.on('data', () => {
            if (mine === s) signal?.();
          });
          mine.on('error', () => {});
          mine.on('close', () => {
            if (mine !== s) return;
            if (alive) closedByBroker++;
            alive = false;
            signal?.();
          });
        }
        const { m, bytes } = planned[i]!;
        counts.set(m, (counts.get(m) ?? 0) + 1);
        sent++;
        const answered = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 15);
          signal = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        s.write(bytes);
        // Neither an answer nor a close: the broker most likely waits for the rest of a frame
        // that will never come; the frames after it would only fill that frame, so start over.
        if (!(await answered) && alive) {
          alive = false;
          retired++;
        }
        signal = undefined;
      }
      if (s) {
        alive = false;
        s.destroy();
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => loop(c)));
    const took = Date.now() - started;
    t.comment(`sent ${sent} frames over ${connections} connections in ${took} ms; ${closedByBroker} closed by the broker, ${retired} left waiting and dropped`);
    t.comment(`mutations: ${[...counts].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    t.comment(`broker file descriptors after the fuzz: ${openFiles(broker.proc.pid!)}`);
    t.equal(sent, FRAMES, `all ${FRAMES} frames sent`);
    t.equal(broker.proc.exitCode, null, 'the broker process is still running');
    t.equal(broker.proc.signalCode, null, 'and was not killed by a signal');
    const failures = broker.output().split('\n').filter((l) => l.includes('request handler failed'));
    t.same(failures.slice(0, 3), [], `no request handler failed (${failures.length} did)`);
  });

  await t.test('a real client still produces and reads back', async (t) => {
    const versions = await admin.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' });
    t.equal(versions.errorCode, ErrorCode.NONE, 'ApiVersions still answered on a connection opened before the fuzz');
    const kafka = new Kafka({ clientId: 'after-fuzz', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const values = Array.from({ length: 200 }, (_, i) => `after-fuzz-${i}`);
    const res = await producer.send({ topic: 'after-fuzz', acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
    t.equal(res[0]?.errorCode, 0, 'kafkajs produce acknowledged');
    // kafkajs has no group-less consumer: read back over the project's own codecs.
    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    const { records } = await readPartition(client, 'after-fuzz', 0);
    t.same(records.map((r) => r.value?.toString()), values, 'every value read back, in order');
  });
});
