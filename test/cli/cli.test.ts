// The command line as a user runs it: --help documents every flag and setting, --version
// prints the package's version, and `cluster --brokers 3` starts three broker processes that
// kcat sees, then stops all three cleanly on Ctrl-C (SIGINT to the process group).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SETTINGS } from '../../src/shared/config-settings.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/workers/partition/log/data-dir.js';
import { hasCommand, mainJs, repoRoot } from '../helpers/broker.js';
import { eventually, run } from '../clients/harness.js';

t.test('--help and --version', async (t) => {
  const help = execFileSync(process.execPath, [mainJs, '--help'], { encoding: 'utf8' });
  for (const flag of ['--config', '--override', '--brokers', '--dir', '--help', '--version', 'LOG_FORMAT', 'README.md']) t.match(help, flag, `--help mentions ${flag}`);
  t.ok(Object.keys(SETTINGS).every((k) => help.includes(`  ${k}`)), 'and lists every setting');
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  t.equal(execFileSync(process.execPath, [mainJs, '--version'], { encoding: 'utf8' }).trim(), version, '--version prints the package version');
});

t.test('cluster --brokers 3: kcat sees three brokers, Ctrl-C stops all three cleanly', { skip: hasCommand('kcat') ? false : 'kcat not installed' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Its own process group, as a shell gives a command: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [mainJs, 'cluster', '--brokers', '3', '--dir', dir], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  await eventually('the bootstrap list', () => /bootstrap servers: \S+/.test(out), 60_000);
  const bootstrap = /bootstrap servers: (\S+)/.exec(out)![1]!;
  t.equal(bootstrap.split(',').length, 3, `it prints three bootstrap servers (${bootstrap})`);
  const md = await run('kcat', ['-b', bootstrap, '-L', '-J'], { timeoutMs: 30_000 });
  t.equal(md.code, 0, 'kcat -L exits 0');
  const brokers = (JSON.parse(md.stdout.toString()) as { brokers: { id: number }[] }).brokers.map((b) => b.id).sort();
  t.same(brokers, [1, 2, 3], 'kcat sees brokers 1, 2 and 3');

  process.kill(-child.pid!, 'SIGINT');
  t.equal(await exited, 0, 'Ctrl-C: the command exits 0');
  t.match(out, /cluster stopped/, 'and says the cluster stopped');
  for (const id of [1, 2, 3]) t.ok(existsSync(path.join(dir, `broker-${id}`, CLEAN_SHUTDOWN_FILE)), `broker ${id} shut down cleanly`);
});
