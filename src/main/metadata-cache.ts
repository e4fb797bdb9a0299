/**
 * The main thread's view of committed cluster metadata: the latest snapshot the raft worker
 * published, indexed for the request path. Never written by anything but `update`.
 */
import type { StoredAcl } from '../shared/acl.js';
import type { BrokerMetadata, HostPort, MetadataSnapshot, PartitionMetadata, ScramCredentialInfo, TopicMetadata } from '../shared/metadata-types.js';
import type { BrokerEndpoint, HostedPartition } from '../shared/worker-types.js';
import type { TopicSettings } from './effective-config.js';

export class MetadataCache {
  private snapshot: MetadataSnapshot = { clusterId: '', controllerId: -1, offset: -1, brokers: [], topics: [], scram: [], acls: [], brokerConfigs: {} };
  private scramByKey = new Map<string, ScramCredentialInfo>();
  private byName = new Map<string, TopicMetadata>();
  private byId = new Map<string, TopicMetadata>();
  private brokersById = new Map<number, BrokerMetadata>();
  private readonly waiters: (() => void)[] = [];

  constructor(readonly nodeId: number) {}

  /** Installs a new snapshot; returns the topics it removed. */
  update(s: MetadataSnapshot): string[] {
    const removed = this.snapshot.topics.filter((t) => !s.topics.some((n) => n.name === t.name && n.id === t.id)).map((t) => t.name);
    this.snapshot = s;
    this.byName = new Map(s.topics.map((t) => [t.name, t]));
    this.byId = new Map(s.topics.map((t) => [t.id, t]));
    this.brokersById = new Map(s.brokers.map((b) => [b.id, b]));
    this.scramByKey = new Map(s.scram.map((c) => [`${c.mechanism}:${c.user}`, c]));
    for (const w of this.waiters.splice(0)) w();
    return removed;
  }

  get clusterId(): string {
    return this.snapshot.clusterId;
  }

  /** The node leading the metadata quorum, the active controller (-1: none known). */
  get controllerId(): number {
    return this.snapshot.controllerId;
  }

  /**
   * The controller named to clients in Metadata and DescribeCluster: this broker while it is
   * live, else the first live broker (-1: none). As under KRaft, the quorum's leader is no
   * client endpoint: every broker forwards what needs the controller, so naming one that
   * answers keeps an admin client from waiting on a controller that just died.
   */
  controllerForClients(): number {
    const live = this.liveBrokers();
    return live.some((b) => b.id === this.nodeId) ? this.nodeId : (live[0]?.id ?? -1);
  }

  get offset(): number {
    return this.snapshot.offset;
  }

  /** A user's stored SCRAM credential for a mechanism (1 SCRAM-SHA-256, 2 SCRAM-SHA-512). */
  scramCredential(user: string, mechanism: number): ScramCredentialInfo | undefined {
    return this.scramByKey.get(`${mechanism}:${user}`);
  }

  scramCredentials(): ScramCredentialInfo[] {
    return this.snapshot.scram;
  }

  acls(): StoredAcl[] {
    return this.snapshot.acls;
  }

  topics(): TopicMetadata[] {
    return this.snapshot.topics;
  }

  topic(name: string): TopicMetadata | undefined {
    return this.byName.get(name);
  }

  /** The partitions of `topic` this broker leads, with their leader epochs (a coordinator loads these). */
  ledPartitions(topic: string): Map<number, number> {
    const led = new Map<number, number>();
    for (const p of this.byName.get(topic)?.partitions ?? []) if (p.leader === this.nodeId) led.set(p.partition, p.leaderEpoch);
    return led;
  }

  topicById(id: string): TopicMetadata | undefined {
    return this.byId.get(id);
  }

  partition(topic: string, partition: number): PartitionMetadata | undefined {
    return this.byName.get(topic)?.partitions[partition];
  }

  /** Brokers clients may use: registered and not fenced. */
  liveBrokers(): BrokerMetadata[] {
    return this.snapshot.brokers.filter((b) => !b.fenced);
  }

  broker(id: number): BrokerMetadata | undefined {
    return this.brokersById.get(id);
  }

  /**
   * Where broker `id` listens for a client that came in on `listener` (Kafka answers each
   * client with the listener it used): that listener's advertised address, else the
   * broker's inter-broker one (a broker registered without that listener).
   */
  endpoint(id: number, listener: string): (HostPort & { rack: string | null }) | undefined {
    const b = this.brokersById.get(id);
    if (b === undefined) return undefined;
    const l = b.listeners.find((e) => e.name === listener);
    return { host: l?.host ?? b.host, port: l?.port ?? b.port, rack: b.rack };
  }

  /** The partitions with a replica on this broker, with what their replicas need to know. */
  hostedPartitions(settingsOf: (t: TopicMetadata) => TopicSettings & { followerThrottled?: '*' | ReadonlySet<number> }): HostedPartition[] {
    const out: HostedPartition[] = [];
    for (const t of this.snapshot.topics) {
      const { minIsr, logConfig, followerThrottled } = settingsOf(t);
      for (const p of t.partitions) {
        if (!p.replicas.includes(this.nodeId)) continue;
        out.push({
          topic: t.name,
          topicId: t.id,
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          replicas: p.replicas,
          isr: p.isr,
          minIsr,
          logConfig,
          followerThrottled: followerThrottled === '*' || (followerThrottled?.has(p.partition) ?? false),
        });
      }
    }
    return out;
  }

  /** Dynamic broker settings by broker id ('' for the cluster default). */
  brokerConfigs(): Readonly<Record<string, Record<string, string>>> {
    return this.snapshot.brokerConfigs;
  }

  /** Where the partition workers reach each broker (the advertised client listener). */
  brokerEndpoints(): BrokerEndpoint[] {
    return this.snapshot.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port, fenced: b.fenced }));
  }

  /** Resolves at the next snapshot, or after `timeoutMs`. */
  nextUpdate(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }
}
