/**
 * Starts real broker processes (`node dist/main.js`) on free loopback ports with their own temp
 * data dirs, for tests that talk to a broker the way users do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/api/ports.js';

/** The package root: the nearest folder above this file with a package.json (also from a compiled copy). */
export const repoRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return path.resolve(dir, '../..');
  }
}
export const mainJs = path.join(repoRoot, 'dist/main.js');

/** Every broker process still running, killed when this test process ends however it ends. */
const live = new Set<ChildProcess>();
function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
}
process.once('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

/**
 * Ports for test brokers come from below the kernel's ephemeral range, checked by binding, as
 * the package's API picks them (src/api/ports.ts says why).
 */
export { freePort };

export interface BrokerProcess {
  nodeId: number;
  port: number;
  controllerPort: number;
  dataDir: string;
  bootstrap: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  cleanup(): void;
}

export interface BrokerOptions {
  nodeId?: number;
  port?: number;
  controllerPort?: number;
  dataDir?: string;
  voters?: string;
  overrides?: Record<string, string | number | boolean>;
  /** Command-line arguments after the settings (e.g. --add-scram). */
  args?: string[];
  /** Wait for the client port to accept connections (default true). */
  wait?: boolean;
  /** Environment of the broker process on top of this one's (LOG_LEVEL defaults to warn). */
  env?: Record<string, string>;
  /** A command the broker runs under, e.g. ['prlimit', '--nofile=1024:1024'] (it must exec the broker, keeping the pid). */
  launcher?: string[];
  /** Options for node itself, before the script (e.g. `--import` of a test fixture). */
  nodeArgs?: string[];
}

export async function startBroker(opts: BrokerOptions = {}): Promise<BrokerProcess> {
  const nodeId = opts.nodeId ?? 1;
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'broker-test-'));
  const settings: Record<string, string | number | boolean> = {
    'node.id': nodeId,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.quorum.voters': opts.voters ?? `${nodeId}@127.0.0.1:${controllerPort}`,
    'log.dirs': dataDir,
    // Brokers of a test run side by side: none of them takes the shared default metrics port.
    'metrics.listener': 'none',
    ...opts.overrides,
  };
  const args = [...(opts.nodeArgs ?? []), mainJs, ...Object.entries(settings).flatMap(([k, v]) => ['--override', `${k}=${v}`]), ...(opts.args ?? [])];
  let out = '';
  const b: BrokerProcess = {
    nodeId,
    port,
    controllerPort,
    dataDir,
    bootstrap: `127.0.0.1:${port}`,
    proc: undefined as unknown as ChildProcess,
    output: () => out,
    async stop(timeoutMs = 10_000) {
      if (b.proc.exitCode !== null || b.proc.signalCode !== null) return b.proc.exitCode;
      const exited = new Promise<number | null>((r) => b.proc.once('exit', (code) => r(code)));
      b.proc.kill('SIGTERM');
      const timer = setTimeout(() => b.proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (b.proc.exitCode !== null || b.proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => b.proc.once('exit', () => r()));
      b.proc.kill(signal);
      await exited;
    },
    async restart() {
      launch();
      await waitForPort(port, 60_000, b);
    },
    cleanup() {
      if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill('SIGKILL');
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const launch = (): void => {
    const [cmd, ...pre] = opts.launcher ?? [];
    const proc = spawn(cmd ?? process.execPath, cmd ? [...pre, process.execPath, ...args] : args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...opts.env } });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    b.proc = proc;
    b.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    b.proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  };
  launch();
  if (opts.wait !== false) await waitForPort(port, 60_000, b);
  return b;
}

export async function waitForPort(port: number, timeoutMs: number, b?: BrokerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (b && (b.proc.exitCode !== null || b.proc.signalCode !== null)) {
      throw new Error(`broker exited (${b.proc.exitCode ?? b.proc.signalCode}) before listening:\n${b.output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms${b ? `:\n${b.output()}` : ''}`);
}

export function hasCommand(cmd: string): boolean {
  const paths = (process.env.PATH ?? '').split(':');
  return paths.some((p) => existsSync(path.join(p, cmd)));
}
