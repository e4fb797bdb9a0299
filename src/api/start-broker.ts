/**
 * A broker inside the calling process: its partition and raft workers are threads of that
 * process and the caller's event loop serves the clients, as `node dist/main.js` would. Ports
 * left out (or 0) are free loopback ports; a data dir left out is a temp dir removed on stop.
 * The metrics endpoint is off unless `config` sets `metrics.listener`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../main/broker.js';
import { loadConfig } from '../shared/config.js';
import { rootLogger } from '../shared/logger.js';
import { freePort } from './ports.js';

export type ConfigValues = Record<string, string | number | boolean>;

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
}

export interface RunningBroker {
  nodeId: number;
  port: number;
  /** `host:port`, for a client's bootstrap servers. */
  bootstrap: string;
  dataDir: string;
  /** Controlled shutdown, as on SIGTERM: requests in flight finish, logs are fsynced and closed. */
  stop(): Promise<void>;
}

/**
 * Starts a broker in this process. Its threads log warnings and errors only, unless the
 * LOG_LEVEL environment variable names a level.
 */
export async function startBroker(opts: BrokerOptions = {}): Promise<RunningBroker> {
  if (process.env.LOG_LEVEL === undefined) {
    // The worker threads read their level from the environment they start with.
    process.env.LOG_LEVEL = 'warn';
    rootLogger.level = 'warn';
  }
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
    stop() {
      stopping ??= broker.stop().then(() => {
        if (tempDir) rmSync(dataDir, { recursive: true, force: true });
      });
      return stopping;
    },
  };
}
