/**
 * The raft transport: messages round-trip through the wire schema, a bad frame closes only its connection, and a
 * peer that goes away is reported down at once and up again when it is back.
 */
import net from 'node:net';
import t from 'tap';
import { pino } from 'pino';
import { message, MessageType } from '../../src/workers/raft/core/types.js';
import { sizePrefixed } from '../../src/shared/frame-reader.js';
import { TcpTransport } from '../../src/workers/raft/transport/tcp-transport.js';
import { freePort } from '../helpers/broker.js';
import { type Envelope, decodeEnvelope, encodeEnvelope } from '../../src/workers/raft/transport/wire.js';

const logger = pino({ level: 'silent' });

t.test('raft messages round-trip through the wire schema', async (t) => {
  const m = message({
    type: MessageType.Append,
    from: 3,
    to: 1,
    term: 2 ** 40,
    index: 7,
    logTerm: 2,
    commit: 6,
    entries: [{ index: 8, term: 2 ** 40, data: new Uint8Array([1, 2, 3]) }],
  });
  const back = decodeEnvelope(encodeEnvelope({ from: 3, kind: 'raft', raft: m }));
  t.equal(back.kind, 'raft');
  if (back.kind !== 'raft') return;
  t.same({ ...back.raft, entries: back.raft.entries.map((e) => ({ ...e, data: [...e.data] })) }, { ...m, entries: [{ index: 8, term: 2 ** 40, data: [1, 2, 3] }] });
});

t.test('a bad frame closes that connection only', async (t) => {
  const ports = await Promise.all(
    [0, 1].map(async () => {
      const s = net.createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const port = (s.address() as net.AddressInfo).port;
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }),
  );
  const peers = [
    { id: 1, host: '127.0.0.1', port: ports[0] },
    { id: 2, host: '127.0.0.1', port: ports[1] },
  ];
  const received: Envelope[] = [];
  const a = new TcpTransport({ nodeId: 1, peers, listen: { host: '127.0.0.1', port: ports[0] }, logger, onEnvelope: (e) => received.push(e) });
  const b = new TcpTransport({ nodeId: 2, peers, listen: { host: '127.0.0.1', port: ports[1] }, logger, onEnvelope: () => {} });
  await a.start();
  await b.start();
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  const hb = { from: 2, kind: 'raft', raft: message({ type: MessageType.Heartbeat, from: 2, to: 1, term: 1 }) } as const;
  const deadline = Date.now() + 3000;
  while (!b.send(1, hb) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(received.length, 1, 'a good frame arrives');

  const rogue = net.connect(ports[0], '127.0.0.1');
  const closed = new Promise<void>((r) => rogue.on('close', () => r()));
  rogue.on('error', () => {});
  rogue.write(sizePrefixed(Buffer.from([0xff, 0xff, 0xff])));
  await closed;
  t.pass('the bad connection is closed');
  b.send(1, hb);
  while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(received.length, 2, 'the good connection keeps delivering');
});

t.test('a peer that stops is reported down when its connections close, and up when it listens again', async (t) => {
  const ports = await Promise.all([0, 1].map(() => freePort()));
  const peers = [
    { id: 1, host: '127.0.0.1', port: ports[0]! },
    { id: 2, host: '127.0.0.1', port: ports[1]! },
  ];
  const events: string[] = [];
  const wakers = new Set<() => void>();
  const a = new TcpTransport({
    nodeId: 1, peers, listen: { host: '127.0.0.1', port: ports[0]! }, logger, onEnvelope: () => {},
    onPeerDown: (id) => { events.push(`down ${id}`); for (const w of wakers) w(); },
    onPeerUp: (id) => { events.push(`up ${id}`); for (const w of wakers) w(); },
  });
  const until = async (n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (events.length < n && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, deadline - Date.now());
        wakers.add(() => { clearTimeout(timer); r(); });
      });
      wakers.clear();
    }
  };
  const started = Date.now();
  await a.start();
  t.teardown(() => a.stop());
  t.ok(a.downSince(2)! >= started, 'a peer never reached counts as down since the start');
  const peer = () => new TcpTransport({ nodeId: 2, peers, listen: { host: '127.0.0.1', port: ports[1]! }, logger, onEnvelope: () => {} });
  let b = peer();
  await b.start();
  await until(1);
  t.same(events, ['up 2']);
  t.equal(a.downSince(2), undefined, 'up while connected');
  const stoppedAt = Date.now();
  await b.stop();
  await until(2);
  t.same(events, ['up 2', 'down 2'], 'one report although both connections closed');
  t.ok(a.downSince(2)! >= stoppedAt, 'down since it stopped');
  b = peer();
  await b.start();
  t.teardown(() => b.stop());
  await until(3);
  t.same(events, ['up 2', 'down 2', 'up 2'], 'up again once it listens');
});
