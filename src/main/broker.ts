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
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import type { BrokerConfig } from '../shared/config.js';
import { childLogger } from '../shared/logger.js';
import { recordThreadStats, threadStatsLayout } from '../shared/metrics/thread-stats.js';
import type { MetadataSnapshot } from '../shared/metadata-types.js';
import type { HostingFailure } from '../shared/worker-types.js';
import { DataDir } from '../workers/partition/log/data-dir.js';
import { Connection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { MarkerWriter } from './transactions/markers.js';
import { TxnCoordinator } from './transactions/coordinator.js';
import { InterBrokerRequests } from './transactions/inter-broker.js';
import { TxnVerifier } from './transactions/verification.js';
import { OFFSETS_TOPIC } from '../shared/groups/coordinator-partition.js';
import { MetadataCache } from './metadata-cache.js';
import { logFileBudget, raiseOpenFileLimit } from './open-file-limit.js';
import { PartitionWorkers } from './partition-workers.js';
import { CleanerPool } from './cleaner-pool.js';
import { RaftClient } from './raft-client.js';
import { RequestMetrics } from './request-metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { saslDeps } from './handlers/sasl.js';
import { AccessControl } from './security/access-control.js';
import { SaslSession } from './security/sasl-session.js';
import { ANONYMOUS, interBrokerClient, principalRules, quorumTls, tlsPrincipal, tlsServerOptions } from './security/tls.js';
import { TopicMetrics } from './topic-metrics.js';
import { ReplicationThrottles } from './replication-throttles.js';
import { brokerLayers, topicSettings } from './effective-config.js';
import { partitionStatsBuffer } from '../shared/metrics/partition-stats.js';
import { raftStatsBuffer } from '../shared/metrics/raft-stats.js';

const log = childLogger({ thread: 'main' });
/** Assumed when /proc/self/limits cannot be read: the usual default soft limit. */
const DEFAULT_OPEN_FILE_LIMIT = 1024;

export class Broker {
  private readonly servers: net.Server[] = [];
  /** TLS listeners by name, whose key material `reloadCertificates` reads again. */
  private readonly tlsServers = new Map<string, tls.Server>();
  private readonly connections = new Set<Connection>();
  private hostedChain: Promise<void> = Promise.resolve();
  /** Hosted partitions whose logs could not be opened, as of the last metadata applied. */
  private unhosted: HostingFailure[] = [];
  private groups: GroupCoordinator | null = null;
  private txns: TxnCoordinator | null = null;
  private brokers: InterBrokerRequests | null = null;
  readonly requestMetrics = new RequestMetrics();
  readonly topicMetrics = new TopicMetrics();
  private metricsServer: http.Server | null = null;
  /** Serving clients: from the end of the start until the stop begins. */
  private serving = false;
  private crashed = false;

  private constructor(
    readonly config: BrokerConfig,
    private readonly dataDir: DataDir,
    readonly metadata: MetadataCache,
    private readonly raft: RaftClient,
    private readonly workers: PartitionWorkers,
    /** Resolves with the reason once a worker thread died. */
    readonly failed: Promise<string>,
    private readonly cleanerPool: CleanerPool | null,
    private readonly throttles: ReplicationThrottles,
  ) {
    void failed.then(() => (this.crashed = true));
  }

  /** Registered and unfenced in the committed metadata, logs loaded, serving clients. */
  get ready(): boolean {
    const me = this.metadata.broker(this.config.nodeId);
    return this.serving && me !== undefined && !me.fenced;
  }

  static async start(config: BrokerConfig): Promise<Broker> {
    const dataDir = await DataDir.open(config.logDir, log);
    const logDir = dataDir.path;
    const limits = raiseOpenFileLimit(log);
    const maxOpenFiles = logFileBudget(limits?.soft ?? DEFAULT_OPEN_FILE_LIMIT, config.partitionWorkers);
    log.info({ soft: limits?.soft ?? null, hard: limits?.hard ?? null, perPartitionWorker: maxOpenFiles }, 'open-file limit and log file descriptor budget');

    const metadata = new MetadataCache(config.nodeId);
    const threadStats = threadStatsLayout(['main', 'raft', ...Array.from({ length: config.partitionWorkers }, (_, i) => `partition-worker-${i}`)]);
    recordThreadStats(threadStats, 0);
    const partitionStats = partitionStatsBuffer(config.partitionWorkers);
    const throttles = new ReplicationThrottles(config.nodeId);
    const raftStats = raftStatsBuffer();
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
        advertisedListeners: config.advertisedListeners,
        bootstrapScram: config.bootstrapScram,
        ...(config.controllerTls !== null ? { controllerTls: quorumTls(config.controllerTls) } : {}),
        rack: null,
        threadStats,
        raftStats,
        settings: {
          numPartitions: config.numPartitions,
          defaultReplicationFactor: config.defaultReplicationFactor,
          brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
          brokerHeartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
          brokerFastFenceMs: config.brokerFastFenceMs,
          maxBrokerPartitions: config.maxBrokerPartitions,
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
    const cleanerPool = config.cleaner.enabled ? new CleanerPool(config.cleaner.threads, config.cleaner.ioMaxBytesPerSecond) : null;
    const workers = new PartitionWorkers(config.partitionWorkers, {
      nodeId: config.nodeId,
      logDir,
      logConfig: config.log,
      maxOpenFiles,
      cleanShutdown: dataDir.cleanShutdown,
      cleaner: cleanerPool === null ? null : {
        pool: cleanerPool,
        backoffMs: config.cleaner.backoffMs,
        // Kafka splits the dedupe buffer between the cleaner threads.
        offsetMapBytes: Math.floor(config.cleaner.dedupeBufferSize / config.cleaner.threads),
      },
      replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
      highWatermarkCheckpointIntervalMs: config.highWatermarkCheckpointIntervalMs,
      interBroker: interBrokerClient(config.interBroker),
      logger: log,
      threadStats,
      partitionStats,
      followerQuota: throttles.followerBuffer,
      onAlterIsr: async (e) => {
        const r = await raft.alterPartition({ topicId: e.topicId, partition: e.partition, leaderEpoch: e.leaderEpoch, partitionEpoch: e.partitionEpoch, isr: e.isr });
        if (r.errorCode !== 0) log.info({ topicId: e.topicId, partition: e.partition, errorCode: r.errorCode, err: r.errorMessage }, 'ISR change refused');
        return r.errorCode;
      },
      onExit: (index, code) => fail(`partition worker ${index} exited with code ${code}`),
    });
    const first = raft.firstMetadata();
    await workers.start();
    broker = new Broker(config, dataDir, metadata, raft, workers, failed, cleanerPool, throttles);
    broker.applyHosted([]);
    // `first` fails the start when the metadata quorum cannot run at all.
    await Promise.all([first, broker.registered()]);
    await broker.hostedChain;
    await broker.listen();
    if (config.metricsListener) {
      const b = broker;
      b.metricsServer = await startMetricsServer(
        config.metricsListener,
        {
          nodeId: config.nodeId,
          requests: b.requestMetrics,
          threads: threadStats,
          topics: b.topicMetrics,
          partitions: partitionStats,
          rings: workers.rings,
          replicationQuotas: throttles,
          raft: raftStats,
          metadata,
          groupStates: () => b.groups?.list().groups.map((g) => g.groupState) ?? [],
          ready: () => b.ready,
        },
        log,
      );
    }
    broker.serving = true;
    const listeners = config.listeners.map((l) => `${l.name}://${l.host}:${l.port}`);
    const metricsUrl = broker.metricsServer ? `http://${config.metricsListener!.host}:${config.metricsListener!.port}/metrics` : 'off';
    log.info(
      { nodeId: config.nodeId, listeners, logDir, clusterId: metadata.clusterId, metrics: metricsUrl, workers: config.partitionWorkers },
      `broker ${config.nodeId} started: listening on ${listeners.join(', ')}, data in ${logDir}, cluster ${metadata.clusterId}, metrics ${metricsUrl}`,
    );
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
    const removed = this.metadata.update(s);
    for (const t of removed) this.topicMetrics.remove(t);
    this.applyHosted(removed);
  }

  /** Sends the partition workers what the cached metadata says this broker hosts. */
  private applyHosted(removed: string[]): void {
    const layers = brokerLayers(this.config, this.metadata.brokerConfigs());
    this.throttles.update(this.metadata.topics(), layers);
    const hosted = this.metadata.hostedPartitions((t) => ({ ...topicSettings(t.configs, layers), followerThrottled: this.throttles.followerThrottled(t.configs, layers) }));
    const brokers = this.metadata.brokerEndpoints();
    this.hostedChain = this.hostedChain
      .then(() => this.workers.setHosted(hosted, removed, brokers))
      .then((failed) => void (this.unhosted = failed))
      .catch((e: Error) => log.error({ err: e.message }, 'applying hosted partitions failed'));
  }

  private async listen(): Promise<void> {
    const deps = {
      config: this.config,
      metadata: this.metadata,
      raft: this.raft,
      workers: this.workers,
      hostedApplied: () => this.hostedChain,
      hostingFailures: () => this.unhosted,
      topicMetrics: this.topicMetrics,
      requestMetrics: this.requestMetrics,
      throttles: this.throttles,
    };
    this.groups = new GroupCoordinator(deps);
    this.groups.start();
    this.brokers = new InterBrokerRequests(this.config.nodeId, this.metadata, interBrokerClient(this.config.interBroker));
    const groups = this.groups;
    const onMarker = (topic: string, partition: number, producerId: number, commit: boolean): void => {
      if (topic === OFFSETS_TOPIC) groups.completeTxn(partition, producerId, commit);
      txnVerifier.ended(topic, partition, producerId);
    };
    const markers = new MarkerWriter({ nodeId: this.config.nodeId, metadata: this.metadata, workers: this.workers, onMarker }, this.brokers);
    this.txns = new TxnCoordinator({ ...deps, markers });
    const txnVerifier = new TxnVerifier({ nodeId: this.config.nodeId, metadata: this.metadata, txns: this.txns, brokers: this.brokers });
    this.txns.start();
    const authz = this.config.authorizer;
    const access = authz === null ? null : new AccessControl(this.metadata, { superUsers: new Set(authz.superUsers), allowEveryoneIfNoAclFound: authz.allowEveryoneIfNoAclFound });
    const dispatcher = new Dispatcher({ ...deps, groups: this.groups, txns: this.txns, txnVerifier, onMarker, access });
    for (const l of this.config.listeners) {
      const accept = (socket: net.Socket, principal: string): void => {
        const sasl = this.config.security[l.name]!.sasl;
        const session = sasl === null ? null : new SaslSession(sasl, saslDeps(deps));
        const conn = new Connection(socket, l.name, principal, session, this.config.socketRequestMaxBytes, this.config.connectionsMaxIdleMs, log, this.requestMetrics, (frame, slot, c) =>
          dispatcher.handle(frame, slot, c),
        );
        this.connections.add(conn);
        socket.on('close', () => this.connections.delete(conn));
      };
      const settings = this.config.security[l.name]!.tls;
      let server: net.Server;
      if (settings === null) {
        server = net.createServer((socket) => accept(socket, ANONYMOUS));
      } else {
        const rules = principalRules(settings);
        const secure = tls.createServer(this.tlsOptions(l.name), (socket) => {
          let principal: string;
          try {
            principal = tlsPrincipal(socket, rules);
          } catch (e) {
            log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, listener: l.name, err: (e as Error).message }, 'TLS client refused');
            socket.destroy();
            return;
          }
          accept(socket, principal);
        });
        // A failed or stalled handshake (untrusted certificate, wrong protocol, plaintext
        // bytes, handshake timeout): that client's problem, one line, no stack. With a
        // listener here Node leaves the socket open: it is closed here.
        secure.on('tlsClientError', (e, socket) => {
          log.info({ remote: `${socket.remoteAddress}:${socket.remotePort}`, listener: l.name, err: e.message }, 'TLS handshake failed');
          socket.destroy();
        });
        this.tlsServers.set(l.name, secure);
        server = secure;
      }
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

  private tlsOptions(listener: string): tls.TlsOptions {
    // A client that stalls in the handshake is an idle connection (connections.max.idle.ms).
    const idle = this.config.connectionsMaxIdleMs;
    return tlsServerOptions(this.config.security[listener]!.tls!, idle > 0 ? idle : 120_000);
  }

  /**
   * Reads every TLS listener's key store and trust store again; new connections use them,
   * open ones keep theirs. A listener whose files do not load keeps its current ones.
   */
  reloadCertificates(): void {
    for (const [name, server] of this.tlsServers) {
      try {
        server.setSecureContext(this.tlsOptions(name));
        log.info({ listener: name }, 'TLS key material reloaded');
      } catch (e) {
        log.error({ listener: name, err: (e as Error).message }, 'TLS key material not reloaded; the listener keeps the previous one');
      }
    }
  }

  /**
   * Controlled shutdown: stop accepting, hand this broker's leaderships to other in-sync
   * replicas (the raft worker asks the controller to fence it before it leaves the quorum), let
   * the requests in flight finish, then close the logs.
   */
  async stop(): Promise<void> {
    this.serving = false;
    for (const s of this.servers) s.close();
    this.metricsServer?.close();
    this.groups?.stop();
    this.txns?.stop();
    this.brokers?.close();
    await this.raft.stop();
    await this.hostedChain;
    const drain = Promise.all([...this.connections].map((c) => c.drained()));
    await Promise.race([drain, new Promise((r) => setTimeout(r, 3000))]);
    for (const c of this.connections) c.socket.destroy();
    await this.workers.stop();
    await this.cleanerPool?.close();
    await this.dataDir.close(!this.crashed);
    log.info('broker stopped');
  }
}
