/**
 * A broker for code that needs one: by default inside the calling process (its partition and
 * raft workers are threads of that process and the caller's event loop serves the clients, as
 * `node dist/main.js` would), or with `mode: 'child-process'` as a child process of the caller
 * (`node dist/main.js`; its own heap, event loop and crash, nothing shared with the caller).
 * Ports left out (or 0) are free loopback ports; a data dir left out is a temp dir removed on
 * stop. The metrics endpoint is off unless `config` sets `metrics.listener`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../main/broker.js';
import { loadConfig } from '../shared/config.js';
import { rootLogger } from '../shared/logger.js';
import { ChildBroker } from './child-broker.js';
import type { ConfigValues } from './config-values.js';
import { freePort } from './ports.js';

export type { ConfigValues };

export interface BrokerOptions {
  /** Client port; 0 or absent: a free one. */
  port?: number;
  /** Metadata quorum (controller) port; 0 or absent: a free one. */
  controllerPort?: number;
  host?: string;
  nodeId?: number;
  /** Where the logs live; absent: a temp dir, removed by `stop`. */
  dataDir?: string;
  /** Kafka settings by name, as in server.properties (`num.partitions`, ...). */
  config?: ConfigValues;
  /**
   * 'in-process' (default): the broker's threads run in this process. 'child-process': the
   * broker is a child process, whose output (LOG_LEVEL warn unless set) is kept for `output()`.
   */
  mode?: 'in-process' | 'child-process';
}

export interface RunningBroker {
  nodeId: number;
  port: number;
  /** `host:port`, for a client's bootstrap servers. */
  bootstrap: string;
  dataDir: string;
  /** The process the broker runs in: this one, or its own child process. */
  pid: number;
  /**
   * Controlled shutdown, as on SIGTERM: requests in flight finish, logs are fsynced and closed.
   * A child process that does not exit cleanly rejects it, with the process's output.
   */
  stop(): Promise<void>;
  /** What a child-process broker wrote (stdout and stderr, its last MiB); '' in process. */
  output(): string;
}

/**
 * Starts a broker in this process. Its threads log warnings and errors only, unless the
 * LOG_LEVEL environment variable names a level.
 */
export async function startBroker(opts: BrokerOptions = {}): Promise<RunningBroker> {
  if (opts.mode === 'child-process') return startChild(opts);
  if (opts.mode !== undefined && opts.mode !== 'in-process') throw new Error(`mode must be 'in-process' or 'child-process', not '${String(opts.mode)}'`);
  if (process.env.LOG_LEVEL === undefined) {
    // The worker threads read their level from the environment they start with.
    process.env.LOG_LEVEL = 'warn';
    rootLogger.level = 'warn';
  }
  const { host, nodeId, port, dataDir, tempDir, settings } = await placed(opts);
  let broker: Broker;
  try {
    broker = await Broker.start(loadConfig({ overrides: Object.entries(settings).map(([k, v]) => `${k}=${v}`) }));
  } catch (e) {
    if (tempDir) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    nodeId,
    port,
    bootstrap: `${host}:${port}`,
    dataDir,
    pid: process.pid,
    stop() {
      stopping ??= broker.stop().then(() => {
        if (tempDir) rmSync(dataDir, { recursive: true, force: true });
      });
      return stopping;
    },
    output: () => '',
  };
}

/** Where a broker started from code listens and keeps its data, and its settings. */
async function placed(opts: BrokerOptions) {
  const host = opts.host ?? '127.0.0.1';
  const nodeId = opts.nodeId ?? 1;
  const port = opts.port || (await freePort(host));
  const controllerPort = opts.controllerPort || (await freePort(host));
  const tempDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'kafka-ts-broker-'));
  const settings: ConfigValues = {
    'node.id': nodeId,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'controller.quorum.voters': `${nodeId}@${host}:${controllerPort}`,
    'log.dirs': dataDir,
    'metrics.listener': 'none',
    ...opts.config,
  };
  return { host, nodeId, port, dataDir, tempDir, settings };
}

async function startChild(opts: BrokerOptions): Promise<RunningBroker> {
  const { host, nodeId, port, dataDir, tempDir, settings } = await placed(opts);
  const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const child = new ChildBroker({ nodeId, host, port, settings, stdio: 'keep', env });
  const removeTemp = (): void => {
    if (tempDir) rmSync(dataDir, { recursive: true, force: true });
  };
  child.launch();
  try {
    await child.served();
  } catch (e) {
    await child.end('SIGKILL');
    removeTemp();
    throw e;
  }
  const pid = child.process!.pid!;
  let stopping: Promise<void> | undefined;
  return {
    nodeId,
    port,
    bootstrap: `${host}:${port}`,
    dataDir,
    pid,
    stop() {
      stopping ??= child.end('SIGTERM').then((code) => {
        removeTemp();
        if (code !== 0) throw new Error(`broker ${nodeId} did not stop cleanly (${code === null ? 'ended by a signal' : `exit code ${code}`}):\n${child.output()}`);
      });
      return stopping;
    },
    output: () => child.output(),
  };
}
