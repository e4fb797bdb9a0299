/**
 * One broker process: locks the data dir, starts the raft worker (metadata) and the partition
 * workers (logs), then opens the client listeners. Shutdown runs the same steps backwards so
 * every acknowledged byte is fsynced and the clean-shutdown marker lets the next start skip
 * the recovery scan.
 *
 * A worker thread that dies cannot be replaced in place (its partitions' state went with it),
 * so `failed` resolves with why, and the process is expected to stop (controlled shutdown:
 * the controller moves this broker's leaderships at once) and exit non-zero, leaving no
 * clean-shutdown marker, so that the next start recovers the logs.
 */
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { BrokerConfig } from '../shared/config.js';
import { createDirSync } from '../shared/create-dir.js';
import { childLogger } from '../shared/logger.js';
import type { MetadataSnapshot } from '../shared/metadata-types.js';
import { DataDirLock } from '../workers/partition/log/data-dir-lock.js';
import type { LogConfig } from '../workers/partition/log/config.js';
import { CLEAN_SHUTDOWN_FILE } from '../workers/partition/log/log-manager.js';
import { Connection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { MetadataCache } from './metadata-cache.js';
import { PartitionWorkers } from './partition-workers.js';
import { RaftClient } from './raft-client.js';

const log = childLogger({ thread: 'main' });

export class Broker {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  private hostedChain: Promise<void> = Promise.resolve();
  private groups: GroupCoordinator | null = null;
  private crashed = false;

  private constructor(
    readonly config: BrokerConfig,
    private readonly lock: DataDirLock,
    readonly metadata: MetadataCache,
    private readonly raft: RaftClient,
    private readonly workers: PartitionWorkers,
    /** Resolves with the reason once a worker thread died. */
    readonly failed: Promise<string>,
  ) {
    void failed.then(() => (this.crashed = true));
  }

  static async start(config: BrokerConfig): Promise<Broker> {
    const logDir = path.resolve(config.logDir);
    createDirSync(logDir);
    const lock = await DataDirLock.acquire(logDir, log);
    const cleanMarker = path.join(logDir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = existsSync(cleanMarker);
    // The marker speaks only for the shutdown that wrote it: gone before anything is written.
    rmSync(cleanMarker, { force: true });

    const metadata = new MetadataCache(config.nodeId);
    let broker: Broker | undefined;
    let fail!: (reason: string) => void;
    const failed = new Promise<string>((resolve) => (fail = resolve));
    const raft = new RaftClient(
      {
        nodeId: config.nodeId,
        clusterId: config.clusterId || undefined,
        voters: config.voters,
        controllerListen: { host: config.controllerListener.host, port: config.controllerListener.port },
        metadataDir: path.join(logDir, '__cluster_metadata-0'),
        advertised: { host: config.advertised.host, port: config.advertised.port },
        rack: null,
        settings: {
          numPartitions: config.numPartitions,
          defaultReplicationFactor: config.defaultReplicationFactor,
          brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
          brokerHeartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
          brokerFastFenceMs: config.brokerFastFenceMs,
          electionTimeoutMs: config.electionTimeoutMs,
          autoLeaderRebalance: config.autoLeaderRebalance,
        },
      },
      log,
      // The raft worker publishes nothing before this broker has registered and caught up with
      // the metadata log. Until the partition workers run, the cache alone takes the snapshots;
      // the broker then starts from the newest one.
      (s) => (broker ? broker.onMetadata(s) : metadata.update(s)),
      (code) => fail(`raft worker exited with code ${code}`),
    );
    const workers = new PartitionWorkers(config.partitionWorkers, {
      nodeId: config.nodeId,
      logDir,
      logConfig: logConfigOf(config),
      cleanShutdown,
      replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
      logger: log,
      onAlterIsr: async (e) => {
        const r = await raft.alterPartition({ topicId: e.topicId, partition: e.partition, leaderEpoch: e.leaderEpoch, partitionEpoch: e.partitionEpoch, isr: e.isr });
        if (r.errorCode !== 0) log.info({ topicId: e.topicId, partition: e.partition, errorCode: r.errorCode, err: r.errorMessage }, 'ISR change refused');
        return r.errorCode;
      },
      onExit: (index, code) => fail(`partition worker ${index} exited with code ${code}`),
    });
    const first = raft.firstMetadata();
    await workers.start();
    broker = new Broker(config, lock, metadata, raft, workers, failed);
    broker.applyHosted([]);
    // `first` fails the start when the metadata quorum cannot run at all.
    await Promise.all([first, broker.registered()]);
    await broker.hostedChain;
    await broker.listen();
    log.info({ nodeId: config.nodeId, listeners: config.listeners, workers: config.partitionWorkers, logDir }, 'broker started');
    return broker;
  }

  /**
   * Clients are served only once this broker is registered and unfenced in the committed
   * metadata, so no Metadata answer ever lists a cluster without it (a cluster waits here for
   * its quorum), and only from metadata caught up with this broker's registration: never from
   * what an earlier run of this broker knew.
   */
  private async registered(): Promise<void> {
    let waited = 0;
    for (;;) {
      const me = this.metadata.broker(this.config.nodeId);
      if (me && !me.fenced) return;
      await this.metadata.nextUpdate(1000);
      waited += 1;
      if (waited % 5 === 0) log.info({ checks: waited }, 'waiting for the metadata quorum to register this broker');
    }
  }

  private onMetadata(s: MetadataSnapshot): void {
    this.applyHosted(this.metadata.update(s));
  }

  /** Sends the partition workers what the cached metadata says this broker hosts. */
  private applyHosted(removed: string[]): void {
    const hosted = this.metadata.hostedPartitions(this.config.minInsyncReplicas);
    const brokers = this.metadata.brokerEndpoints();
    this.hostedChain = this.hostedChain
      .then(() => this.workers.setHosted(hosted, removed, brokers))
      .catch((e: Error) => log.error({ err: e.message }, 'applying hosted partitions failed'));
  }

  private async listen(): Promise<void> {
    const deps = { config: this.config, metadata: this.metadata, raft: this.raft, workers: this.workers, hostedApplied: () => this.hostedChain };
    this.groups = new GroupCoordinator(deps);
    this.groups.start();
    const dispatcher = new Dispatcher({ ...deps, groups: this.groups });
    for (const l of this.config.listeners) {
      const server = net.createServer((socket) => {
        const conn = new Connection(socket, this.config.socketRequestMaxBytes, this.config.connectionsMaxIdleMs, log, (frame, slot, c) => dispatcher.handle(frame, slot, c));
        this.connections.add(conn);
        socket.on('close', () => this.connections.delete(conn));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => log.error({ err: e.message, listener: l.name }, 'listener error'));
      this.servers.push(server);
    }
  }

  /**
   * Controlled shutdown: stop accepting, hand this broker's leaderships to other in-sync
   * replicas (the raft worker asks the controller to fence it before it leaves the quorum), let
   * the requests in flight finish, then close the logs.
   */
  async stop(): Promise<void> {
    for (const s of this.servers) s.close();
    this.groups?.stop();
    await this.raft.stop();
    await this.hostedChain;
    const drain = Promise.all([...this.connections].map((c) => c.drained()));
    await Promise.race([drain, new Promise((r) => setTimeout(r, 3000))]);
    for (const c of this.connections) c.socket.destroy();
    await this.workers.stop();
    if (!this.crashed) writeFileSync(path.join(path.resolve(this.config.logDir), CLEAN_SHUTDOWN_FILE), '');
    await this.lock.release();
    log.info('broker stopped');
  }
}

export function logConfigOf(c: BrokerConfig): LogConfig {
  return {
    segmentBytes: c.segmentBytes,
    segmentMs: c.segmentMs,
    indexIntervalBytes: c.indexIntervalBytes,
    retentionMs: c.retentionMs,
    retentionBytes: c.retentionBytes,
    retentionCheckIntervalMs: c.retentionCheckIntervalMs,
    maxMessageBytes: c.messageMaxBytes,
  };
}
