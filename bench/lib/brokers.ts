/**
 * Starts and stops the brokers a comparison runs against, each in a fresh data directory
 * on loopback ports: this broker (`node dist/main.js`, one process per node; its partition
 * workers are threads) and Apache Kafka through bench/peers/kafka/start.sh (one JVM per node).
 * Both lay a cluster out the same way: node i (1-based) listens for clients on
 * port + 2(i-1) and for the quorum on the port after it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export interface RunningBroker {
  bootstrap: string;
  pids: number[];
  stop(): Promise<void>;
}

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KAFKA_PEER_DIR = `${ROOT}bench/peers/kafka`;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`broker exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface OursOptions {
  /** Nodes in the cluster; 1 unless given. */
  brokers?: number;
  port: number;
  /** Wiped at start; node i keeps its log in node<i>/ and its output in node<i>.log here. */
  dataDir: string;
  overrides?: string[];
  /** Extra NODE_OPTIONS for the broker process, e.g. --cpu-prof. */
  nodeOptions?: string;
  /** The broker's entry point; dist/main.js of this tree unless given. */
  main?: string;
  /** Further command-line arguments, e.g. --add-scram. */
  args?: string[];
}

export async function startOurs(o: OursOptions): Promise<RunningBroker> {
  const nodes = Array.from({ length: o.brokers ?? 1 }, (_, i) => ({ id: i + 1, port: o.port + 2 * i, quorumPort: o.port + 2 * i + 1 }));
  for (const n of nodes) {
    for (const p of [n.port, n.quorumPort]) if (await portOpen(p)) throw new Error(`port ${p} is already in use`);
  }
  rmSync(o.dataDir, { recursive: true, force: true });
  mkdirSync(o.dataDir, { recursive: true });
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.quorumPort}`).join(',');
  const env = { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn', NODE_OPTIONS: o.nodeOptions ?? '' };
  const children = nodes.map((n) => {
    const args = [
      o.main ?? `${ROOT}dist/main.js`,
      '--override', `node.id=${n.id}`,
      '--override', `log.dirs=${o.dataDir}/node${n.id}`,
      '--override', `listeners=PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.quorumPort}`,
      '--override', `controller.quorum.voters=${voters}`,
      ...(o.overrides ?? []).flatMap((kv) => ['--override', kv]),
      ...(o.args ?? []),
    ];
    const log = openSync(`${o.dataDir}/node${n.id}.log`, 'w');
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    return child;
  });
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }));
  };
  // A node opens its client port only once the quorum has registered it, so a cluster's nodes
  // are all started before any is waited for.
  try {
    await Promise.all(nodes.map((n, i) => waitForPort(n.port, children[i]!, 60_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { bootstrap: nodes.map((n) => `127.0.0.1:${n.port}`).join(','), pids: children.map((c) => c.pid!), stop };
}

export interface KafkaOptions {
  brokers: number;
  port: number;
  dataDir: string;
  heap: string;
  settings?: string[];
}

export async function startKafka(o: KafkaOptions): Promise<RunningBroker> {
  const args = ['--brokers', String(o.brokers), '--port', String(o.port), '--dir', o.dataDir, '--heap', o.heap,
    ...(o.settings ?? []).flatMap((kv) => ['--set', kv])];
  const out = execFileSync(`${KAFKA_PEER_DIR}/start.sh`, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bootstrap = /^bootstrap (\S+)$/m.exec(out)?.[1];
  const pids = [...out.matchAll(/^pid (\d+)$/gm)].map((m) => Number(m[1]));
  if (!bootstrap || pids.length !== o.brokers) throw new Error(`start.sh printed no bootstrap/pids:\n${out}`);
  return {
    bootstrap,
    pids,
    async stop() {
      execFileSync(`${KAFKA_PEER_DIR}/stop.sh`, ['--dir', o.dataDir], { stdio: 'inherit' });
    },
  };
}
