/**
 * Raft persistence on real files: round trips, rolling and compaction, replacing a
 * diverged tail, cutting a torn tail, and a real child process running a single-node
 * driver that is SIGKILLed at random moments and must keep everything it acknowledged.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { pino } from 'pino';
import type { Entry } from '../../src/workers/raft/core/types.js';
import { RaftStorage } from '../../src/workers/raft/storage/raft-storage.js';

const logger = pino({ level: 'silent' });
const enc = new TextEncoder();
const dec = new TextDecoder();

function entries(from: number, to: number, term: number, tag = 'e'): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, data: enc.encode(`${tag}${i}`) });
  return out;
}

function summary(es: Entry[]): string[] {
  return es.map((e) => `${e.index}/${e.term}/${dec.decode(e.data)}`);
}

function tmpDir(t: { teardown(fn: () => void): void }, name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('entries, hard state and snapshots survive reopening', async (t) => {
  const dir = tmpDir(t, 'raft-store-');
  let { storage, state } = RaftStorage.open(dir, logger, 200);
  t.same(state, { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] }, 'empty at first');
  for (let i = 1; i <= 30; i += 5) storage.append(entries(i, i + 4, 1));
  storage.sync();
  storage.saveHardState({ term: 2, vote: 3, commit: 30 });
  t.ok(fs.readdirSync(dir).filter((n) => n.endsWith('.log')).length > 1, 'a full segment rolls before the next write');
  // A follower whose tail diverged: entries from 25 on are replaced.
  storage.append(entries(25, 32, 2, 'x'));
  storage.sync();
  storage.close();
  ({ storage, state } = RaftStorage.open(dir, logger, 200));
  t.same(state.hardState, { term: 2, vote: 3, commit: 30 });
  t.same(summary(state.entries), [...summary(entries(1, 24, 1)), ...summary(entries(25, 32, 2, 'x'))], 'replaced tail reads back');

  storage.saveSnapshot({ index: 20, term: 1, data: enc.encode('state@20') });
  const segs = fs.readdirSync(dir).filter((n) => n.endsWith('.log'));
  t.ok(segs.every((n) => Number(n.slice(0, 20)) > 1), `segments covered by the snapshot are deleted (${segs.join(',')})`);
  storage.append(entries(33, 40, 2, 'x'));
  storage.sync();
  storage.close();
  ({ storage, state } = RaftStorage.open(dir, logger, 200));
  t.equal(state.snapshot?.index, 20);
  t.equal(dec.decode(state.snapshot!.data), 'state@20');
  t.same(summary(state.entries), [...summary(entries(21, 24, 1)), ...summary(entries(25, 40, 2, 'x'))], 'log after the snapshot');

  storage.installSnapshot({ index: 100, term: 5, data: enc.encode('state@100') });
  storage.append(entries(101, 103, 5));
  storage.sync();
  storage.close();
  ({ storage, state } = RaftStorage.open(dir, logger, 200));
  t.equal(state.snapshot?.index, 100);
  t.same(summary(state.entries), summary(entries(101, 103, 5)), 'an installed snapshot replaces the log');
  t.same(
    fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot')),
    ['00000000000000000100.snapshot'],
    'older snapshots are deleted',
  );
  storage.close();
});

t.test('a torn or corrupt tail is cut at the first bad record', async (t) => {
  const dir = tmpDir(t, 'raft-torn-');
  let { storage } = RaftStorage.open(dir, logger);
  storage.append(entries(1, 10, 1));
  storage.close();
  const seg = path.join(dir, '00000000000000000001.log');
  const size = fs.statSync(seg).size;
  fs.truncateSync(seg, size - 3);
  let state;
  ({ storage, state } = RaftStorage.open(dir, logger));
  t.same(summary(state.entries), summary(entries(1, 9, 1)), 'a half-written last record is dropped');
  storage.append(entries(10, 12, 1));
  storage.close();
  const buf = fs.readFileSync(seg);
  buf[buf.length - 30] ^= 0xff;
  fs.writeFileSync(seg, buf);
  fs.appendFileSync(seg, Buffer.from([0, 0, 0, 0]));
  ({ storage, state } = RaftStorage.open(dir, logger));
  t.ok(state.entries.length >= 9 && state.entries.length < 12, `a flipped byte cuts the log there (${state.entries.length} left)`);
  t.same(summary(state.entries), summary(entries(1, state.entries.length, 1)), 'what remains is an intact prefix');
  storage.append(entries(state.entries.length + 1, 15, 1));
  storage.close();
  ({ storage, state } = RaftStorage.open(dir, logger));
  t.same(summary(state.entries), summary(entries(1, 15, 1)), 'and the log continues after the cut');
  storage.close();
});

/**
 * The child runs plain JavaScript: the raft sources transpiled (no type check) into a
 * cache dir inside the project, so each restart takes a fraction of a second and bare
 * imports (pino, protobufjs) resolve from the project's node_modules.
 */
function buildChild(outDir: string): string {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  const raftDir = path.join(src, 'workers', 'raft');
  // The raft driver and what it imports from src/shared.
  const files = ['core', 'storage', 'transport']
    .flatMap((d) => walk(path.join(raftDir, d)))
    .concat(path.join(raftDir, 'driver.ts'), ...walk(path.join(src, 'shared')));
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    const dest = path.join(outDir, path.relative(src, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, out.outputText);
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}');
  const entry = path.join(outDir, 'crash-child.js');
  // A single-node quorum that reports what it recovered, then proposes until killed,
  // three proposals in flight at a time so kills land between write, fsync and ack.
  fs.writeFileSync(
    entry,
    `import { pino } from 'pino';
import { RaftDriver } from './workers/raft/driver.js';
const [dir, port, round] = process.argv.slice(2);
const enc = new TextEncoder();
const dec = new TextDecoder();
const items = [];
const driver = await RaftDriver.start({
  nodeId: 1,
  voters: [{ id: 1, host: '127.0.0.1', port: Number(port) }],
  listen: { host: '127.0.0.1', port: Number(port) },
  dataDir: dir,
  logger: pino({ level: 'silent' }),
  snapshotEveryEntries: 50,
  stateMachine: {
    apply: (es) => { for (const e of es) items.push(dec.decode(e.data)); },
    takeSnapshot: () => enc.encode(JSON.stringify(items)),
    restoreSnapshot: (data) => { items.length = 0; items.push(...JSON.parse(dec.decode(data))); },
  },
});
process.send({ recovered: [...items] });
for (let n = 0; ; n++) {
  const batch = [0, 1, 2].map((k) => 'r' + round + '-' + n + '-' + k);
  await Promise.all(batch.map((v) => driver.propose(enc.encode(v))));
  process.send({ acked: batch });
}
`,
  );
  return entry;
}

t.test('a node SIGKILLed at random moments keeps everything it acknowledged', async (t) => {
  const dir = tmpDir(t, 'raft-kill-');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const cache = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/.cache');
  fs.mkdirSync(cache, { recursive: true });
  const build = fs.mkdtempSync(path.join(cache, 'raft-crash-'));
  t.teardown(() => fs.rmSync(build, { recursive: true, force: true }));
  const entry = buildChild(build);
  const acked: string[] = [];
  const rounds = 12;
  for (let round = 0; round <= rounds; round++) {
    const proc = spawn(process.execPath, [entry, dir, String(port), String(round)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    // What was acknowledged before this incarnation reported: later acks are its own.
    const { recovered, before } = await new Promise<{ recovered: string[]; before: string[] }>((resolve, reject) => {
      proc.on('message', (m: { recovered?: string[]; acked?: string[] }) => {
        if (m.recovered) resolve({ recovered: m.recovered, before: [...acked] });
        if (m.acked) acked.push(...m.acked);
      });
      proc.on('exit', (code) => reject(new Error(`child exited with ${code} before reporting`)));
    });
    const missing = before.filter((v) => !recovered.includes(v));
    t.same(missing, [], `round ${round}: all ${before.length} acknowledged entries recovered (${recovered.length} present)`);
    t.same(
      recovered.filter((v) => before.includes(v)),
      before,
      `round ${round}: in the order they were acknowledged`,
    );
    if (round === rounds) {
      proc.kill('SIGKILL');
      await exited;
      break;
    }
    await new Promise((r) => setTimeout(r, 30 + Math.floor(Math.random() * 300)));
    proc.kill('SIGKILL');
    await exited;
  }
  t.ok(acked.length > rounds, `entries were acknowledged along the way (${acked.length})`);
});
