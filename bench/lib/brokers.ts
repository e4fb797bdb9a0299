/**
 * Starts and stops the brokers a comparison runs against, each in a fresh data directory
 * on loopback ports: this broker (`node dist/main.js`, one process; its partition workers
 * are threads) and Apache Kafka through bench/peers/kafka/start.sh (one JVM per node).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export interface RunningBroker {
  bootstrap: string;
  pids: number[];
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
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
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode} before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface OursOptions {
  port: number;
  dataDir: string;
  overrides?: string[];
  /** Extra NODE_OPTIONS for the broker process, e.g. --cpu-prof. */
  nodeOptions?: string;
  logFile: string;
  /** The broker's entry point; dist/main.js of this tree unless given. */
  main?: string;
}

export async function startOurs(o: OursOptions): Promise<RunningBroker> {
  for (const p of [o.port, o.port + 1]) if (await portOpen(p)) throw new Error(`port ${p} is already in use`);
  rmSync(o.dataDir, { recursive: true, force: true });
  const args = [
    o.main ?? `${ROOT}dist/main.js`,
    '--override', `log.dirs=${o.dataDir}`,
    '--override', `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.port + 1}`,
    '--override', `controller.quorum.voters=1@127.0.0.1:${o.port + 1}`,
    ...(o.overrides ?? []).flatMap((kv) => ['--override', kv]),
  ];
  const log = openSync(o.logFile, 'w');
  const env = { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn', NODE_OPTIONS: o.nodeOptions ?? '' };
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env });
  await waitForPort(o.port, child, 30_000);
  return {
    bootstrap: `127.0.0.1:${o.port}`,
    pids: [child.pid!],
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
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
