/**
 * A local cluster of broker processes (`node dist/main.js` each, combined broker and
 * controller nodes on free loopback ports), for failover tests and for trying replication on
 * one machine. Each broker is a real process: `kill` is SIGKILL, `restart` starts it again on
 * its data dir. Without `dir` the data lives in a temp dir removed by `stop`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ChildBroker } from './child-broker.js';
import type { ConfigValues } from './config-values.js';
import { freePort } from './ports.js';

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
  /** What a kept-output broker has written (stdout and stderr, its last MiB). */
  output(nodeId: number): string;
}

class Member implements ClusterBroker {
  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly dataDir: string,
    readonly child: ChildBroker,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  get process(): ChildProcess | null {
    return this.child.process;
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<RunningCluster> {
  const size = opts.brokers ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`brokers must be a positive integer, not ${size}`);
  const tempDir = opts.dir === undefined;
  const root = opts.dir ? path.resolve(opts.dir) : mkdtempSync(path.join(os.tmpdir(), 'kafka-ts-cluster-'));
  const ports: { client: number; controller: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), controller: await freePort() });
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
  const stdio = opts.stdio ?? 'keep';
  const env = { ...process.env, ...(stdio === 'keep' && process.env.LOG_LEVEL === undefined ? { LOG_LEVEL: 'warn' } : {}), ...opts.env };
  const members = ports.map((p, i) => {
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
    return new Member(nodeId, p.client, dataDir, new ChildBroker({ nodeId, host: '127.0.0.1', port: p.client, settings, stdio, env }));
  });
  const member = (nodeId: number): Member => {
    const m = members[nodeId - 1];
    if (!m) throw new Error(`no broker ${nodeId} in a cluster of ${size}`);
    return m;
  };
  // Brokers open their client port only once a quorum exists: all start before any is awaited.
  for (const m of members) m.child.launch();
  try {
    await Promise.all(members.map((m) => m.child.served()));
  } catch (e) {
    await Promise.all(members.map((m) => m.child.end('SIGKILL')));
    if (tempDir) rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    bootstrap: members.map((m) => m.bootstrap).join(','),
    brokers: members,
    async kill(nodeId) {
      await member(nodeId).child.end('SIGKILL');
    },
    async restart(nodeId) {
      const m = member(nodeId);
      m.child.launch();
      await m.child.served();
    },
    async stop() {
      const codes = await Promise.all(members.map(async (m) => [m.nodeId, await m.child.end('SIGTERM')] as const));
      if (tempDir) rmSync(root, { recursive: true, force: true });
      return new Map(codes);
    },
    output: (nodeId) => member(nodeId).child.output(),
  };
}
