/**
 * This broker's replication throttles, as Kafka's leader and follower ReplicationQuotaManagers:
 * - the bounds: leader.replication.throttled.rate and follower.replication.throttled.rate, set
 *   for this broker, else as the cluster default, else none (Kafka's BrokerConfigHandler);
 * - the throttled replicas: the partitions whose replica on this broker a topic's
 *   leader.replication.throttled.replicas (resp. follower.) names.
 *
 * The leader side is applied here, to follower fetches: a throttled partition's records are
 * withheld from a follower outside the ISR while the leader rate is above its bound, and what
 * is sent of throttled partitions is counted (in sync or not, as Kafka counts it). The follower
 * side is the partition workers' (their fetchers share `followerBuffer`); the hosted partitions
 * carry which of them are throttled.
 */
import { LONG_MAX, resolveBrokerConfig, resolveTopicConfig, throttledPartitions, type BrokerConfigLayers } from '../shared/dynamic-config.js';
import { ReplicationQuota, replicationQuotaBuffer } from '../shared/replication-quota.js';

export class ReplicationThrottles {
  readonly leader = new ReplicationQuota(replicationQuotaBuffer());
  readonly followerBuffer = replicationQuotaBuffer();
  readonly follower = new ReplicationQuota(this.followerBuffer);
  /** The leader-throttled partitions of each topic that has any. */
  private leaderThrottled = new Map<string, '*' | Set<number>>();

  constructor(private readonly nodeId: number) {}

  /** Takes the settings of the latest metadata: they apply from the next fetch on. */
  update(topics: readonly { name: string; configs: Readonly<Record<string, string>> }[], layers: BrokerConfigLayers): void {
    this.leader.bound = throttleRate(resolveBrokerConfig('leader.replication.throttled.rate', layers).value);
    this.follower.bound = throttleRate(resolveBrokerConfig('follower.replication.throttled.rate', layers).value);
    const throttled = new Map<string, '*' | Set<number>>();
    for (const t of topics) {
      const parts = this.throttledHere('leader.replication.throttled.replicas', t.configs, layers);
      if (parts === '*' || parts.size > 0) throttled.set(t.name, parts);
    }
    this.leaderThrottled = throttled;
  }

  /** The partitions of a topic whose follower replica here is throttled. */
  followerThrottled(configs: Readonly<Record<string, string>>, layers: BrokerConfigLayers): '*' | Set<number> {
    return this.throttledHere('follower.replication.throttled.replicas', configs, layers);
  }

  private throttledHere(list: string, configs: Readonly<Record<string, string>>, layers: BrokerConfigLayers): '*' | Set<number> {
    return throttledPartitions(resolveTopicConfig(list, configs, layers).value ?? '', this.nodeId);
  }

  /** Kafka's isThrottled, for the leader side. */
  isLeaderThrottled(topic: string, partition: number): boolean {
    const parts = this.leaderThrottled.get(topic);
    return parts !== undefined && (parts === '*' || parts.has(partition));
  }

  /**
   * Kafka's shouldLeaderThrottle: a follower outside the ISR gets no records of a throttled
   * partition while the rate is above the bound. Followers in the ISR are never held back, so
   * throttling cannot push a replica out of it.
   */
  withholds(topic: string, partition: number, replicaId: number, isr: readonly number[], nowMs: number): boolean {
    return !isr.includes(replicaId) && this.isLeaderThrottled(topic, partition) && this.leader.exceeded(nowMs);
  }
}

/** A rate setting as a bound: Kafka's Long.MAX_VALUE default (or nothing set) is none. */
function throttleRate(value: string | null): number {
  const n = Number(value);
  return value === null || value.trim() === '' || !Number.isFinite(n) || n >= Number(LONG_MAX) ? Infinity : n;
}
