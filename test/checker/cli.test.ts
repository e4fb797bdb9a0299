// The checker as a command against a cluster it did not start: three brokers of ours started by
// bench/peers/ours/start.sh (real processes known only by their pid files), one SIGKILL of a
// partition leader supplied as a shell command and the restart as another. The command's table
// must show the run and 0 lost, and the command exit 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/broker.js';
import { freePort } from '../../src/api/ports.js';

const START = path.join(repoRoot, 'bench/peers/ours/start.sh');
const CHECKER = path.join(repoRoot, 'dist/checker.js');

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port with the five after it free too (start.sh lays three nodes out on six ports). */
async function sixFreePorts(): Promise<number> {
  for (;;) {
    const base = await freePort();
    const rest = await Promise.all([1, 2, 3, 4, 5].map((i) => bindable(base + i)));
    if (rest.every(Boolean)) return base;
  }
}

function killNodes(dir: string): void {
  for (const id of [1, 2, 3]) {
    const f = path.join(dir, `node${id}.pid`);
    if (!existsSync(f)) continue;
    try {
      process.kill(Number(readFileSync(f, 'utf8')), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

t.test('the checker command against three brokers, one SIGKILL given as a command: 0 lost', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'checker-cli-'));
  const cleanup = (): void => killNodes(dir);
  process.once('exit', cleanup);
  t.teardown(() => {
    cleanup();
    process.off('exit', cleanup);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await sixFreePorts();
  const cluster = ['--brokers', '3', '--port', String(port), '--dir', dir];
  const started = spawnSync(START, [...cluster, '--set', 'min.insync.replicas=2', '--set', 'num.partition.workers=1'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(started.status, 0, `start.sh started three brokers ${started.stderr}`);
  const bootstrap = /^bootstrap (\S+)$/m.exec(started.stdout)?.[1] ?? '';

  const args = [
    CHECKER, '--bootstrap', bootstrap, '--topic', 'cli-check', '--partitions', '3', '--faults', 'sigkill', '--kills', '1', '--duration', '2', '--settle', '2',
    '--fault-cmd', `kill -9 $(cat ${dir}/node{node}.pid)`,
    '--restart-cmd', `${START} ${cluster.join(' ')} --node {node}`,
  ];
  const run = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  run.stdout.on('data', (d: Buffer) => (out += d.toString()));
  run.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => run.once('exit', (c) => r(c)));
  t.comment(out);
  if (code !== 0) t.comment(err.slice(-5000));

  const lines = out.split('\n');
  const header = lines.find((l) => /^\s*fault\s+idem\b/.test(l))?.trim().split(/\s{2,}/) ?? [];
  const row = lines.find((l) => /^\s*sigkill\s/.test(l))?.trim().split(/\s{2,}/) ?? [];
  const cell = (name: string): string | undefined => row[header.indexOf(name)];
  t.equal(cell('faults'), '1', 'the table has the sigkill run with its one kill');
  t.ok(Number(cell('acked')) > 0, `acks=all writes were acknowledged (${cell('acked')})`);
  t.equal(cell('lost'), '0', 'no acknowledged write is lost');
  t.equal(cell('verdict'), 'ok', 'the run kept every rule');
  t.equal(code, 0, 'the checker exits 0');
});
