/**
 * Three RaftDrivers in one process over real TCP on 127.0.0.1, real files in temp dirs:
 * replication, failover within two election timeouts, catch-up of a restarted node
 * (through a snapshot once the leader compacted its log), and calls to the leader.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/broker.js';
import { pino } from 'pino';
import { NotLeaderError, RaftDriver, type StateMachine } from '../../src/workers/raft/driver.js';

const ELECTION_MS = 300;
const HEARTBEAT_MS = 30;
const logger = pino({ level: 'silent' });
const enc = new TextEncoder();
const dec = new TextDecoder();

class ListMachine implements StateMachine {
  items: string[] = [];
  restores = 0;
  apply(entries: { index: number; term: number; data: Uint8Array }[]): void {
    for (const e of entries) this.items.push(dec.decode(e.data));
  }
  takeSnapshot(): Uint8Array {
    return enc.encode(JSON.stringify(this.items));
  }
  restoreSnapshot(data: Uint8Array): void {
    this.items = JSON.parse(dec.decode(data)) as string[];
    this.restores++;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

t.test('three drivers replicate, fail over and catch up', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-driver-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const voters = await Promise.all([1, 2, 3].map(async (id) => ({ id, host: '127.0.0.1', port: await freePort() })));
  const machines = new Map<number, ListMachine>();
  const drivers = new Map<number, RaftDriver>();
  const start = async (id: number): Promise<RaftDriver> => {
    const sm = new ListMachine();
    machines.set(id, sm);
    const v = voters[id - 1];
    const d = await RaftDriver.start({
      nodeId: id,
      voters,
      listen: { host: v.host, port: v.port },
      dataDir: path.join(root, `node-${id}`, '__cluster_metadata-0'),
      stateMachine: sm,
      logger,
      electionTimeoutMs: ELECTION_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      snapshotEveryEntries: 20,
      onLeaderRpc: async (from, data) => enc.encode(`node ${id} served ${from}: ${dec.decode(data)}`),
    });
    drivers.set(id, d);
    return d;
  };
  t.teardown(async () => {
    for (const d of drivers.values()) await d.stop();
  });
  for (const id of [1, 2, 3]) await start(id);
  const leaderOf = (): RaftDriver | undefined => [...drivers.values()].find((d) => d.isLeader());
  await until('a leader', () => leaderOf() !== undefined);
  let leader = leaderOf()!;
  await until('everyone to know the leader', () => [...drivers.values()].every((d) => d.leaderId === leader.leaderId));

  const follower = [...drivers.values()].find((d) => !d.isLeader())!;
  await t.rejects(follower.propose(enc.encode('x')), { name: 'NotLeaderError' }, 'a follower refuses proposals');
  await follower.propose(enc.encode('x')).catch((err: NotLeaderError) => t.equal(err.leaderId, leader.leaderId, 'and names the leader'));

  for (let i = 0; i < 10; i++) await leader.propose(enc.encode(`a${i}`));
  const expected = Array.from({ length: 10 }, (_, i) => `a${i}`);
  await until('all three to apply', () => [...machines.values()].every((m) => m.items.length === 10));
  for (const [id, m] of machines) t.same(m.items, expected, `node ${id} applied the same entries in order`);

  const reply = await follower.callLeader(enc.encode('hello'));
  t.equal(dec.decode(reply), `node ${leader.leaderId} served ${[...drivers].find(([, d]) => d === follower)![0]}: hello`, 'a follower calls the leader');
  t.match(dec.decode(await leader.callLeader(enc.encode('self'))), /served/, 'the leader calls itself');

  const oldId = leader.leaderId!;
  const stoppedAt = Date.now();
  await leader.stop();
  drivers.delete(oldId);
  await until('a new leader', () => leaderOf() !== undefined, 4 * ELECTION_MS);
  const failover = Date.now() - stoppedAt;
  t.ok(failover <= 2 * ELECTION_MS + 2 * HEARTBEAT_MS, `new leader within two election timeouts (${failover} ms)`);
  leader = leaderOf()!;
  t.not(leader.leaderId, oldId, 'another node leads');

  // Enough entries that the leader snapshots and compacts past what the old leader has.
  for (let i = 0; i < 45; i++) await leader.propose(enc.encode(`b${i}`));
  for (let i = 0; i < 45; i++) expected.push(`b${i}`);
  await start(oldId);
  await until('the old leader to catch up', () => machines.get(oldId)!.items.length === expected.length, 5000);
  t.same(machines.get(oldId)!.items, expected, 'the restarted node has every entry');
  t.ok(machines.get(oldId)!.restores >= 1, 'it caught up through a snapshot');
  for (const [id, m] of machines) t.same(m.items, expected, `node ${id} agrees`);
});

t.test('a quorum of one elects itself at start and keeps what it committed', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-single-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const port = await freePort();
  const opts = (sm: ListMachine) => ({
    nodeId: 1,
    voters: [{ id: 1, host: '127.0.0.1', port }],
    listen: { host: '127.0.0.1', port },
    dataDir: root,
    stateMachine: sm,
    logger,
    snapshotEveryEntries: 7,
  });
  const sm1 = new ListMachine();
  const d1 = await RaftDriver.start(opts(sm1));
  t.ok(d1.isLeader(), 'leader as soon as start() resolves');
  for (let i = 0; i < 20; i++) await d1.propose(enc.encode(`e${i}`));
  await d1.stop();
  const sm2 = new ListMachine();
  const d2 = await RaftDriver.start(opts(sm2));
  t.ok(d2.isLeader());
  await d2.propose(enc.encode('after'));
  t.same(sm2.items, [...Array.from({ length: 20 }, (_, i) => `e${i}`), 'after'], 'snapshot plus log replay restore every entry');
  await d2.stop();
});

t.test('a leader that goes away is replaced long before the election timeout: its closed connections end its lease', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-driver-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const voters = await Promise.all([1, 2, 3].map(async (id) => ({ id, host: '127.0.0.1', port: await freePort() })));
  const electionMs = 5000;
  const drivers = new Map<number, RaftDriver>();
  for (const v of voters) {
    drivers.set(v.id, await RaftDriver.start({
      nodeId: v.id,
      voters,
      listen: { host: v.host, port: v.port },
      dataDir: path.join(root, `node-${v.id}`, '__cluster_metadata-0'),
      stateMachine: new ListMachine(),
      logger,
      electionTimeoutMs: electionMs,
      heartbeatIntervalMs: 50,
    }));
  }
  t.teardown(async () => {
    for (const d of drivers.values()) await d.stop();
  });
  const leaderOf = (): RaftDriver | undefined => [...drivers.values()].find((d) => d.isLeader());
  await until('a leader', () => leaderOf() !== undefined, 4 * electionMs);
  const old = leaderOf()!;
  const oldId = old.leaderId!;
  await until('everyone to know the leader', () => [...drivers.values()].every((d) => d.leaderId === oldId));
  await old.propose(enc.encode('before'));
  const stoppedAt = Date.now();
  await old.stop();
  drivers.delete(oldId);
  await until('a new leader', () => leaderOf() !== undefined, electionMs);
  const ms = Date.now() - stoppedAt;
  t.ok(ms < 1000, `a new leader ${ms} ms after the old one stopped, the election timeout being ${electionMs} ms`);
  const next = leaderOf()!;
  await next.propose(enc.encode('after'));
  t.pass('and it commits');
});
