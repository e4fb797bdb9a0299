/**
 * A local cluster of broker processes (`node dist/main.js` each, combined broker and
 * controller nodes on free loopback ports), for failover tests and for trying replication on
 * one machine. Each broker is a real process: `kill` is SIGKILL, `restart` starts it again on
 * its data dir. Without `dir` the data lives in a temp dir removed by `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.js';
import type { ConfigValues } from './start-broker.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface ClusterOptions {
  /** How many brokers (default 3); all of them vote in the metadata quorum. */
  brokers?: number;
  /** Parent of the brokers' data dirs (broker-1, broker-2, ...); kept after stop. */
  dir?: string;
  /** Kafka settings for every broker. Defaults: replication factor min(3, brokers). */
  config?: ConfigValues;
  /** Where the brokers' output goes: 'inherit' (this process's), or kept for `output()` (default). */
  stdio?: 'inherit' | 'keep';
  /** Environment of the broker processes on top of this one's (LOG_LEVEL defaults to warn when kept). */
  env?: Record<string, string>;
}

export interface ClusterBroker {
  nodeId: number;
  port: number;
  bootstrap: string;
  dataDir: string;
  /** The running process, or null when killed or stopped. */
  readonly process: ChildProcess | null;
}

export interface RunningCluster {
  /** Every broker as `host:port`, comma-separated, for a client's bootstrap servers. */
  bootstrap: string;
  brokers: ClusterBroker[];
  /** SIGKILL broker `nodeId` and wait for it to exit. */
  kill(nodeId: number): Promise<void>;
  /** Start a killed or stopped broker again on its data dir; resolves when it serves clients. */
  restart(nodeId: number): Promise<void>;
  /** SIGTERM every broker (controlled shutdown) and wait; resolves with each one's exit code. */
  stop(): Promise<Map<number, number | null>>;
  /** What a kept-output broker has written (stdout and stderr). */
  output(nodeId: number): string;
}

interface Member extends ClusterBroker {
  args: string[];
  process: ChildProcess | null;
  out: string;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<RunningCluster> {
  const size = opts.brokers ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`brokers must be a positive integer, not ${size}`);
  const tempDir = opts.dir === undefined;
  const root = opts.dir ? path.resolve(opts.dir) : mkdtempSync(path.join(os.tmpdir(), 'kafka-ts-cluster-'));
  const ports: { client: number; controller: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), controller: await freePort() });
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
  const keep = opts.stdio !== 'inherit';
  const env = { ...process.env, ...(keep && process.env.LOG_LEVEL === undefined ? { LOG_LEVEL: 'warn' } : {}), ...opts.env };
  const members: Member[] = ports.map((p, i) => {
    const nodeId = i + 1;
    const dataDir = path.join(root, `broker-${nodeId}`);
    mkdirSync(dataDir, { recursive: true });
    const settings: ConfigValues = {
      'node.id': nodeId,
      listeners: `PLAINTEXT://127.0.0.1:${p.client},CONTROLLER://127.0.0.1:${p.controller}`,
      'controller.quorum.voters': voters,
      'log.dirs': dataDir,
      'default.replication.factor': Math.min(3, size),
      'metrics.listener': 'none',
      ...opts.config,
    };
    const args = [MAIN, ...Object.entries(settings).flatMap(([k, v]) => ['--override', `${k}=${v}`])];
    return { nodeId, port: p.client, bootstrap: `127.0.0.1:${p.client}`, dataDir, args, process: null, out: '' };
  });
  const member = (nodeId: number): Member => {
    const m = members[nodeId - 1];
    if (!m) throw new Error(`no broker ${nodeId} in a cluster of ${size}`);
    return m;
  };
  const exited = (m: Member): string | null => {
    const p = m.process;
    if (!p || (p.exitCode === null && p.signalCode === null)) return null;
    return `broker ${m.nodeId} exited (${p.exitCode ?? p.signalCode}) before serving clients${keep ? `:\n${m.out}` : ''}`;
  };
  const launch = (m: Member): void => {
    const p = spawn(process.execPath, m.args, { env, stdio: keep ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    m.process = p;
    if (keep) {
      p.stdout!.on('data', (d: Buffer) => (m.out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (m.out += d.toString()));
    }
  };
  const end = async (m: Member, signal: NodeJS.Signals): Promise<number | null> => {
    const p = m.process;
    m.process = null;
    if (!p) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    p.kill(signal);
    return code;
  };
  // Broker processes never outlive this one, however it ends.
  const orphans = (): void => {
    for (const m of members) m.process?.kill('SIGKILL');
  };
  process.once('exit', orphans);
  // Brokers open their client port only once a quorum exists: all start before any is awaited.
  for (const m of members) launch(m);
  try {
    await Promise.all(members.map((m) => waitForPort('127.0.0.1', m.port, START_TIMEOUT_MS, () => exited(m))));
  } catch (e) {
    await Promise.all(members.map((m) => end(m, 'SIGKILL')));
    process.off('exit', orphans);
    if (tempDir) rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    bootstrap: members.map((m) => m.bootstrap).join(','),
    brokers: members,
    async kill(nodeId) {
      await end(member(nodeId), 'SIGKILL');
    },
    async restart(nodeId) {
      const m = member(nodeId);
      if (m.process) throw new Error(`broker ${nodeId} is running`);
      launch(m);
      await waitForPort('127.0.0.1', m.port, START_TIMEOUT_MS, () => exited(m));
    },
    async stop() {
      const codes = await Promise.all(members.map(async (m) => [m.nodeId, await end(m, 'SIGTERM')] as const));
      process.off('exit', orphans);
      if (tempDir) rmSync(root, { recursive: true, force: true });
      return new Map(codes);
    },
    output: (nodeId) => member(nodeId).out,
  };
}
