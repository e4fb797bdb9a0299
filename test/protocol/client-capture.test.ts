// Decoding bytes captured from real clients.
//
// A small TCP server on 127.0.0.1 plays just enough broker (answers built with the
// codecs under test) for kafkajs to produce one message, create a topic and start a
// consumer, and records every request frame the client sends. The stored captures in
// fixtures/*.hex are decoded and checked field by field; re-encoding each must give the
// identical bytes. A fresh live capture is checked the same way on every run.
//
// Refresh the fixtures: UPDATE_FIXTURES=1 npx tap test/protocol/client-capture.test.ts
// (kcat captures are added when `kcat` is installed, and skipped when it is not).
import t, { type Test } from 'tap';
import net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { FrameReader, sizePrefixed } from '../../src/shared/frame-reader.js';
import {
  ApiKey,
  apiInfoByKey,
  decodeRequestHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  Reader,
  requestCodecs,
} from '../../src/shared/protocol/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const CLIENT_ID = 'fixture-client';
const TOPIC = 'fixture-topic';
const CREATED_TOPIC = 'fixture-created';
const GROUP = 'fixture-group';
const MESSAGE = 'hello-fixture';

type Body = Record<string, any>;

interface Captured {
  client: string;
  frame: Buffer; // including the 4-byte size prefix
}

const SUPPORTED: [number, number, number][] = [
  [ApiKey.Produce, 3, 9],
  [ApiKey.Fetch, 4, 12],
  [ApiKey.ListOffsets, 1, 7],
  [ApiKey.Metadata, 1, 12],
  [ApiKey.OffsetCommit, 2, 8],
  [ApiKey.OffsetFetch, 1, 7],
  [ApiKey.FindCoordinator, 0, 3],
  [ApiKey.JoinGroup, 0, 7],
  [ApiKey.Heartbeat, 0, 4],
  [ApiKey.LeaveGroup, 0, 4],
  [ApiKey.SyncGroup, 0, 5],
  [ApiKey.ApiVersions, 0, 3],
  [ApiKey.CreateTopics, 0, 7],
];

/** A minimal broker: one node (0), every topic with one partition led by it. */
function answer(apiKey: number, version: number, req: Body, port: number): Body {
  const self = { nodeId: 0, host: '127.0.0.1', port, rack: null };
  switch (apiKey) {
    case ApiKey.ApiVersions:
      return { errorCode: 0, apiKeys: SUPPORTED.map(([k, min, max]) => ({ apiKey: k, minVersion: min, maxVersion: max })) };
    case ApiKey.Metadata: {
      const names: string[] = req.topics?.length ? req.topics.map((x: Body) => x.name) : [TOPIC];
      const partition = { errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0] };
      return {
        brokers: [self],
        clusterId: 'fixture-cluster',
        controllerId: 0,
        topics: names.map((name) => ({ errorCode: 0, name, partitions: [partition] })),
      };
    }
    case ApiKey.Produce:
      return {
        responses: req.topicData.map((td: Body) => ({
          name: td.name,
          partitionResponses: td.partitionData.map((p: Body) => ({ index: p.index, errorCode: 0, baseOffset: 0 })),
        })),
      };
    case ApiKey.CreateTopics:
      return { topics: req.topics.map((x: Body) => ({ name: x.name, errorCode: 0 })) };
    case ApiKey.FindCoordinator:
      return { errorCode: 0, ...self, coordinators: (req.coordinatorKeys ?? []).map((key: string) => ({ key, ...self })) };
    case ApiKey.JoinGroup: {
      const protocol = req.protocols[0];
      return {
        generationId: 1,
        protocolType: 'consumer',
        protocolName: protocol.name,
        leader: 'member-1',
        memberId: 'member-1',
        members: [{ memberId: 'member-1', groupInstanceId: null, metadata: protocol.metadata }],
      };
    }
    case ApiKey.SyncGroup:
      return { protocolType: 'consumer', protocolName: req.protocolName, assignment: req.assignments[0]?.assignment ?? Buffer.alloc(0) };
    case ApiKey.OffsetFetch:
      return {
        topics: (req.topics ?? []).map((x: Body) => ({
          name: x.name,
          partitions: x.partitionIndexes.map((partitionIndex: number) => ({ partitionIndex, committedOffset: -1, metadata: '' })),
        })),
      };
    case ApiKey.ListOffsets:
      return {
        topics: req.topics.map((x: Body) => ({
          name: x.name,
          partitions: x.partitions.map((p: Body) => ({ partitionIndex: p.partitionIndex, errorCode: 0, offset: 0, timestamp: -1 })),
        })),
      };
    case ApiKey.Fetch:
      return {
        responses: req.topics.map((x: Body) => ({
          topic: x.topic,
          topicId: x.topicId,
          partitions: x.partitions.map((p: Body) => ({ partitionIndex: p.partition, errorCode: 0, highWatermark: 0, records: null })),
        })),
      };
    default:
      return {};
  }
}

/** Serves until stopped; frames are recorded before anything is decoded. */
async function fakeBroker(client: string, captured: Captured[]): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    socket.on('data', (data: Buffer) => {
      reader.push(data);
      for (let body = reader.next(); body !== null; body = reader.next()) {
        captured.push({ client, frame: sizePrefixed(body) });
        const h = decodeRequestHeader(body);
        const req = requestCodecs[h.apiKey]!.decode(new Reader(body, h.headerLength), h.apiVersion) as Body;
        const res = answer(h.apiKey, h.apiVersion, req, port);
        const produceAcks = h.apiKey === ApiKey.Produce ? (req.acks as number) : -1;
        if (produceAcks !== 0) socket.write(Buffer.concat(encodeResponseFrame(h.apiKey, h.apiVersion, h.correlationId, res)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function captureKafkajs(): Promise<Captured[]> {
  const captured: Captured[] = [];
  const broker = await fakeBroker('kafkajs', captured);
  const kafka = new Kafka({ clientId: CLIENT_ID, brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  try {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: [{ key: 'k', value: MESSAGE }] });
    await producer.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: CREATED_TOPIC, numPartitions: 3, replicationFactor: 1 }] });
    await admin.disconnect();

    const consumer = kafka.consumer({ groupId: GROUP });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
    const deadline = Date.now() + 10_000;
    while (!captured.some((c) => c.frame.readInt16BE(4) === ApiKey.Fetch) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await consumer.disconnect();
  } finally {
    await broker.close();
  }
  return captured;
}

function hasKcat(): boolean {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function captureKcat(): Promise<Captured[]> {
  const captured: Captured[] = [];
  const broker = await fakeBroker('kcat', captured);
  try {
    await new Promise<void>((resolve) => {
      const child = execFile('kcat', ['-b', `127.0.0.1:${broker.port}`, '-L', '-t', TOPIC, '-X', `client.id=${CLIENT_ID}`, '-m', '5'], () => resolve());
      child.stdin?.end();
    });
  } finally {
    await broker.close();
  }
  return captured;
}

function apiName(apiKey: number): string {
  return apiInfoByKey[apiKey]?.name ?? `key${apiKey}`;
}

/** The assertions the frame checks make: tap's own, or a recorder of failures. */
interface Checks {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
  match(found: unknown, pattern: Record<string, unknown>, message: string): unknown;
}

/**
 * Records what failed instead of asserting, so a live capture, whose number of frames depends
 * on the client's timing, is checked with the same number of assertions every run.
 */
class FailureRecorder implements Checks {
  readonly failures: string[] = [];
  equal(found: unknown, wanted: unknown, message: string): void {
    if (found !== wanted) this.failures.push(`${message}: ${String(found)} !== ${String(wanted)}`);
  }
  ok(value: unknown, message: string): void {
    if (!value) this.failures.push(message);
  }
  match(found: unknown, pattern: Record<string, unknown>, message: string): void {
    const f = found as Record<string, unknown> | null;
    if (f === null || typeof f !== 'object' || Object.entries(pattern).some(([k, v]) => f[k] !== v)) this.failures.push(message);
  }
}

/** Checks every frame of a live capture; one assertion per API in `apis`, one for the rest. */
function checkLive(tt: Test, client: string, captured: Captured[], apis: number[]): void {
  const byApi = new Map<number | 'other', FailureRecorder>();
  captured.forEach((c, i) => {
    const key = c.frame.readInt16BE(4);
    const group = apis.includes(key) ? key : 'other';
    if (!byApi.has(group)) byApi.set(group, new FailureRecorder());
    const rec = byApi.get(group)!;
    const label = `live ${fixtureName(i, c)}`;
    const { apiKey, apiVersion, body } = decodeCaptured(rec, label, c.frame);
    checkFields(rec, label, apiKey, apiVersion, body);
  });
  for (const key of apis) tt.same(byApi.get(key)?.failures ?? ['not sent'], [], `${client}'s ${apiName(key)} frames decode, re-encode identically and carry what was asked`);
  tt.same(byApi.get('other')?.failures ?? [], [], `${client}'s other frames decode and re-encode identically`);
}

/** Decodes one captured frame, checks the generic properties, returns header and body. */
function decodeCaptured(tt: Checks, label: string, frame: Buffer): { apiKey: number; apiVersion: number; body: Body } {
  tt.equal(frame.readInt32BE(0), frame.length - 4, `${label}: size prefix matches`);
  const payload = frame.subarray(4);
  const h = decodeRequestHeader(payload);
  tt.equal(h.clientId, CLIENT_ID, `${label}: client id`);
  const r = new Reader(payload, h.headerLength);
  const body = requestCodecs[h.apiKey]!.decode(r, h.apiVersion) as Body;
  tt.equal(r.pos, payload.length, `${label}: body consumed exactly`);
  const again = Buffer.concat(encodeRequestFrame(h.apiKey, h.apiVersion, h.correlationId, h.clientId, body));
  tt.ok(again.equals(frame), `${label}: re-encoding gives identical bytes`);
  return { apiKey: h.apiKey, apiVersion: h.apiVersion, body };
}

/** What the client asked for, API by API. */
function checkFields(tt: Checks, label: string, apiKey: number, v: number, body: Body): void {
  switch (apiKey) {
    case ApiKey.ApiVersions:
      if (v >= 3) tt.ok(body.clientSoftwareName.length > 0, `${label}: client software name`);
      break;
    case ApiKey.Metadata:
      if (body.topics !== null) for (const x of body.topics) tt.equal(typeof x.name, 'string', `${label}: topic name`);
      break;
    case ApiKey.Produce: {
      tt.equal(body.topicData[0].name, TOPIC, `${label}: topic`);
      const p = body.topicData[0].partitionData[0];
      tt.equal(p.index, 0, `${label}: partition`);
      tt.equal(p.records[16], 2, `${label}: records are a v2 record batch (magic 2)`);
      tt.ok(p.records.includes(Buffer.from(MESSAGE)), `${label}: batch carries the message`);
      break;
    }
    case ApiKey.CreateTopics:
      tt.match(body.topics[0], { name: CREATED_TOPIC, numPartitions: 3, replicationFactor: 1 }, `${label}: topic spec`);
      break;
    case ApiKey.FindCoordinator:
      tt.equal(v >= 4 ? body.coordinatorKeys[0] : body.key, GROUP, `${label}: group key`);
      break;
    case ApiKey.JoinGroup:
      tt.match(body, { groupId: GROUP, protocolType: 'consumer' }, `${label}: group and protocol type`);
      tt.ok(body.protocols.length > 0, `${label}: assignment protocols`);
      break;
    case ApiKey.SyncGroup:
      tt.match(body, { groupId: GROUP, generationId: 1, memberId: 'member-1' }, `${label}: group member`);
      break;
    case ApiKey.OffsetFetch:
      tt.equal(body.groupId, GROUP, `${label}: group`);
      tt.equal(body.topics[0].name, TOPIC, `${label}: topic`);
      break;
    case ApiKey.ListOffsets:
      tt.equal(body.topics[0].name, TOPIC, `${label}: topic`);
      tt.equal(body.topics[0].partitions[0].timestamp, -2, `${label}: earliest offset asked (fromBeginning)`);
      break;
    case ApiKey.Fetch:
      tt.equal(body.topics[0].topic, TOPIC, `${label}: topic`);
      tt.equal(body.topics[0].partitions[0].fetchOffset, 0, `${label}: fetch offset`);
      break;
  }
}

function fixtureName(index: number, c: Captured): string {
  const apiKey = c.frame.readInt16BE(4);
  const version = c.frame.readInt16BE(6);
  return `${c.client}-${String(index).padStart(2, '0')}-${apiName(apiKey)}-v${version}.hex`;
}

function toHex(frame: Buffer): string {
  return (frame.toString('hex').match(/.{1,64}/g) ?? []).join('\n') + '\n';
}

t.test('live capture from kafkajs decodes and re-encodes', async (tt) => {
  const captured = await captureKafkajs();
  checkLive(tt, 'kafkajs', captured, [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.CreateTopics, ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Fetch]);
  if (process.env.UPDATE_FIXTURES === '1') {
    mkdirSync(FIXTURES, { recursive: true });
    for (const f of readdirSync(FIXTURES)) if (f.startsWith('kafkajs-')) unlinkSync(new URL(f, FIXTURES));
    captured.forEach((c, i) => writeFileSync(new URL(fixtureName(i, c), FIXTURES), toHex(c.frame)));
  }
});

t.test('live capture from kcat (librdkafka)', { skip: hasKcat() ? false : 'kcat is not installed' }, async (tt) => {
  const captured = await captureKcat();
  checkLive(tt, 'kcat', captured, [ApiKey.ApiVersions, ApiKey.Metadata]);
  if (process.env.UPDATE_FIXTURES === '1') {
    for (const f of readdirSync(FIXTURES)) if (f.startsWith('kcat-')) unlinkSync(new URL(f, FIXTURES));
    captured.forEach((c, i) => writeFileSync(new URL(fixtureName(i, c), FIXTURES), toHex(c.frame)));
  }
});

t.test('stored captures decode field by field and re-encode identically', async (tt) => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.hex')).sort();
  tt.ok(files.some((f) => f.startsWith('kafkajs-')), 'kafkajs captures are stored');
  const apis = new Set<string>();
  for (const f of files) {
    const frame = Buffer.from(readFileSync(new URL(f, FIXTURES), 'utf8').replace(/\s+/g, ''), 'hex');
    const { apiKey, apiVersion, body } = decodeCaptured(tt, f, frame);
    tt.equal(`v${apiVersion}`, /-v(\d+)\.hex$/.exec(f)![0].slice(1, -4), `${f}: version from the header`);
    checkFields(tt, f, apiKey, apiVersion, body);
    apis.add(apiName(apiKey));
    if (apiKey === ApiKey.Metadata && body.topics?.some((x: Body) => x.name === TOPIC)) apis.add('Metadata(topic)');
  }
  for (const name of ['ApiVersions', 'Metadata', 'Metadata(topic)', 'Produce', 'CreateTopics', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Fetch']) {
    tt.ok(apis.has(name), `a stored ${name} capture`);
  }
});
