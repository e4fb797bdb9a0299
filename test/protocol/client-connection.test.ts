// The client connection against a scripted broker on a real socket: pipelined requests get
// their own answers in order, an answer out of order or too large breaks the connection, a
// timed-out request closes it, and a close from either end fails whatever is in flight.
import net from 'node:net';
import t from 'tap';
import { ClientConnection } from '../../src/shared/client-connection.js';
import { FrameReader } from '../../src/shared/frame-reader.js';
import { ApiKey, decodeMetadataRequest, decodeRequestHeader, encodeRequestFrame, encodeResponseFrame, Reader } from '../../src/shared/protocol/index.js';

interface Seen {
  correlationId: number;
  topic: string;
}

/**
 * A broker that reads Metadata v12 requests and hands each to `script`, which decides when
 * and how to answer (`reply` writes an answer naming the request's topic as the cluster id).
 */
async function scriptedBroker(script: (seen: Seen, reply: (correlationId?: number, pad?: number) => void, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    socket.on('data', (d: Buffer) => {
      reader.push(d);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        const h = decodeRequestHeader(f);
        const req = decodeMetadataRequest(new Reader(f, h.headerLength), h.apiVersion);
        const seen = { correlationId: h.correlationId, topic: req.topics?.[0]?.name ?? '' };
        script(seen, (correlationId = h.correlationId, pad = 0) => {
          const body = { clusterId: seen.topic + 'x'.repeat(pad), controllerId: 1, brokers: [], topics: [] };
          for (const c of encodeResponseFrame(ApiKey.Metadata, 12, correlationId, body)) socket.write(c);
        }, socket);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

const metadata = (topic: string) => ({ topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
const outcome = (p: Promise<unknown>) => p.then(() => 'answered', (e: Error) => e.message);

t.test('pipelined requests are all written before the first answer and each gets its own answer', async (t) => {
  const held: Array<() => void> = [];
  const seen: Seen[] = [];
  const broker = await scriptedBroker((s, reply) => {
    seen.push(s);
    held.push(() => reply());
    // Answers only once all five are in: they were pipelined, not sent one by one.
    if (held.length === 5) for (const r of held) r();
  });
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  t.teardown(() => conn.close());
  const topics = ['a', 'b', 'c', 'd', 'e'];
  const answers = await Promise.all(topics.map((name) => conn.request(ApiKey.Metadata, 12, metadata(name))));
  t.same(answers.map((a) => a.clusterId), topics, 'every request resolves with the answer to itself');
  t.same(seen.map((s) => s.topic), topics, 'the broker read them in the order sent');
  t.equal(new Set(seen.map((s) => s.correlationId)).size, 5, 'each under a correlation id of its own');
  t.equal(conn.pending, 0, 'nothing left in flight');
});

t.test('a frame built beforehand is sent under the connection\'s correlation id', async (t) => {
  const seen: Seen[] = [];
  const broker = await scriptedBroker((s, reply) => {
    seen.push(s);
    reply();
  });
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  t.teardown(() => conn.close());
  const frame = Buffer.concat(encodeRequestFrame(ApiKey.Metadata, 12, 0, 'prebuilt', metadata('built')));
  const first = await conn.exchange(ApiKey.Metadata, 12, frame);
  const second = await conn.exchange(ApiKey.Metadata, 12, frame);
  t.same([first.clusterId, second.clusterId], ['built', 'built']);
  t.not(seen[0]!.correlationId, seen[1]!.correlationId, 'the same frame went out twice under two ids');
});

t.test('an answer under another correlation id fails the request and closes the connection', async (t) => {
  const broker = await scriptedBroker((s, reply) => reply(s.correlationId + 100));
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  const first = outcome(conn.request(ApiKey.Metadata, 12, metadata('a')));
  const second = outcome(conn.request(ApiKey.Metadata, 12, metadata('b')));
  t.match(await first, /correlation id \d+ .*expected \d+/, 'the request the answer was matched to fails');
  t.match(await second, /correlation id/, 'so does the one behind it');
  t.ok(conn.closed, 'and the connection is closed');
});

t.test('a request that times out closes the connection and fails the others in flight', async (t) => {
  const broker = await scriptedBroker(() => undefined);
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port, { requestTimeoutMs: 10_000 });
  const serverSideClosed = new Promise<void>((r) => conn.socket.once('close', () => r()));
  const waiting = outcome(conn.request(ApiKey.Metadata, 12, metadata('patient')));
  const timed = outcome(conn.request(ApiKey.Metadata, 12, metadata('hurried'), 50));
  t.match(await timed, /timed out after 50 ms/, 'the request with the short timeout fails with it');
  t.match(await waiting, /timed out after 50 ms/, 'the one ahead of it fails too');
  await serverSideClosed;
  t.ok(conn.closed, 'the socket is closed');
  t.match(await outcome(conn.request(ApiKey.Metadata, 12, metadata('late'))), /timed out/, 'a later request fails at once');
});

t.test('closing the connection fails every request in flight', async (t) => {
  const arrived: Seen[] = [];
  let allIn: () => void = () => undefined;
  const three = new Promise<void>((r) => (allIn = r));
  const broker = await scriptedBroker((s) => {
    arrived.push(s);
    if (arrived.length === 3) allIn();
  });
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  const outcomes = ['a', 'b', 'c'].map((n) => outcome(conn.request(ApiKey.Metadata, 12, metadata(n))));
  await three;
  conn.close('shutting down');
  t.same(await Promise.all(outcomes), ['shutting down', 'shutting down', 'shutting down']);
  t.equal(conn.pending, 0);
});

t.test('the broker closing the connection fails every request in flight', async (t) => {
  let arrivedCount = 0;
  const broker = await scriptedBroker((_s, reply, socket) => {
    if (++arrivedCount === 1) reply();
    if (arrivedCount === 3) socket.destroy();
  });
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  const outcomes = ['a', 'b', 'c'].map((n) => outcome(conn.request(ApiKey.Metadata, 12, metadata(n))));
  const [first, ...rest] = await Promise.all(outcomes);
  t.equal(first, 'answered', 'the answered request resolves');
  t.match(rest, [/closed/, /closed/], 'the two unanswered fail with the close');
});

t.test('an answer larger than the limit closes the connection before it is read', async (t) => {
  const broker = await scriptedBroker((_s, reply) => reply(undefined, 4096));
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port, { maxResponseBytes: 1024 });
  t.match(await outcome(conn.request(ApiKey.Metadata, 12, metadata('big'))), /frame size \d+ outside 0\.\.1024/);
  t.ok(conn.closed);
});

t.test('a request sent without expecting an answer completes once written', async (t) => {
  const arrived: Seen[] = [];
  const broker = await scriptedBroker((s, reply) => {
    arrived.push(s);
    if (s.topic === 'answered') reply();
  });
  t.teardown(broker.close);
  const conn = await ClientConnection.connect('127.0.0.1', broker.port);
  t.teardown(() => conn.close());
  const frame = Buffer.concat(encodeRequestFrame(ApiKey.Metadata, 12, 0, 'no-answer', metadata('silent')));
  const done = await new Promise<[Buffer | null, Error | undefined]>((r) => conn.send(frame, false, (f, e) => r([f, e])));
  t.same(done, [null, undefined], 'completed with no frame and no error');
  t.equal(conn.pending, 0, 'nothing awaits an answer');
  const after = await conn.request(ApiKey.Metadata, 12, metadata('answered'));
  t.equal(after.clusterId, 'answered', 'the next request gets its own answer');
  t.same(arrived.map((s) => s.topic), ['silent', 'answered']);
});
