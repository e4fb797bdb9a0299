/**
 * The replication shell of one partition worker (Kafka's ReplicaManager, for the partitions
 * of this worker): a PartitionReplica per hosted partition, fed with the log's events (written,
 * durable), the metadata's (hosting, ISR refusals) and a timer's (ISR proposals); the
 * long-poll watches its high watermark moves wake; and one replica fetcher per leader broker
 * for the partitions this broker follows. What a replica releases goes to `answer`; WAKE goes
 * to the main thread through `send`. Requests (produce, fetch) stay the worker's: it asks for
 * a partition's replica here.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { LogConfig } from '../../shared/log-config.js';
import type { Logger } from '../../shared/logger.js';
import type { PartitionStats } from '../../shared/metrics/partition-stats.js';
import { partitionOwner } from '../../shared/partition-owner.js';
import { MsgType, type WakeMsg } from '../../shared/thread-messages.js';
import { ReplicationQuota } from '../../shared/replication-quota.js';
import { METADATA_TOPIC } from '../../shared/topic-name.js';
import type { BrokerEndpoint, HostedPartition, HostingFailure, PartitionWorkerData, WorkerEvent } from '../../shared/worker-types.js';
import type { LogManager } from './log/log-manager.js';
import type { PartitionLog } from './log/partition-log.js';
import { FetchWatches } from './replication/fetch-watches.js';
import { PartitionReplica, type Outcome, type Released } from './replication/partition-replica.js';
import { ReplicaFetcher, type FollowedPartition } from './replica-fetcher.js';

export interface ReplicaManagerDeps<P> {
  data: PartitionWorkerData;
  log: Logger;
  stats: PartitionStats;
  /** The worker's logs (opened after this manager exists). */
  logs(): LogManager;
  answer(r: Released<P>): void;
  send(m: WakeMsg): void;
  post(e: WorkerEvent): void;
}

export function replicaKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export class ReplicaManager<P> {
  /** The replication state of every partition of this worker, by "topic\0partition". */
  private readonly replicas = new Map<string, PartitionReplica<P>>();
  private readonly watches = new FetchWatches<string>();
  /** Replica fetchers of the partitions this worker follows, by leader broker. */
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly durableWaiters = new Map<PartitionLog, { offset: number; resolve: () => void }[]>();
  /** The broker's follower replication throttle, shared with the other workers' fetchers. */
  private readonly followerQuota: ReplicationQuota;
  /** Registered, unfenced brokers: the followers that may join an ISR. */
  private eligible = new Set<number>();
  private readonly isEligible = (replica: number): boolean => this.eligible.has(replica);

  constructor(private readonly d: ReplicaManagerDeps<P>) {
    this.followerQuota = new ReplicationQuota(d.data.followerQuota);
  }

  get(topic: string, partition: number): PartitionReplica<P> | undefined {
    return this.replicas.get(replicaKey(topic, partition));
  }

  /** A fetch waits for data on the partition: a follower's for the next write, a consumer's for the high watermark. */
  watch(req: number, topic: string, partition: number, follower: boolean): void {
    this.watches.watch(req, replicaKey(topic, partition), follower);
  }

  unwatch(req: number): void {
    this.watches.unwatch(req);
  }

  /** Sends what a replica released, and wakes the consumers' long polls when its mark moved. */
  settle(topic: string, partition: number, out: Outcome<P>): void {
    this.settleKey(replicaKey(topic, partition), out);
  }

  private settleKey(k: string, out: Outcome<P>): void {
    for (const a of out.released) this.d.answer(a);
    if (out.hwMoved) this.wake(k, false);
  }

  private wake(k: string, followers: boolean): void {
    for (const req of this.watches.wake(k, followers)) this.d.send({ type: MsgType.WAKE, req });
  }

  /** The log's durable end moved: follower fetches waiting on it go on; the high watermark may move. */
  onDurable(l: PartitionLog): void {
    const waiters = this.durableWaiters.get(l);
    if (waiters) {
      const still = waiters.filter((w) => {
        if (l.durableEndOffset < w.offset) return true;
        w.resolve();
        return false;
      });
      if (still.length) this.durableWaiters.set(l, still);
      else this.durableWaiters.delete(l);
    }
    const k = replicaKey(l.topic, l.partition);
    const rep = this.replicas.get(k);
    if (rep) this.settleKey(k, rep.durable(l));
  }

  /** A write made data readable: followers' long polls wake; in write-caching mode the high watermark may move. */
  onWritten(l: PartitionLog): void {
    const k = replicaKey(l.topic, l.partition);
    this.wake(k, true);
    const rep = this.replicas.get(k);
    if (rep) this.settleKey(k, rep.written(l));
  }

  private whenDurable(l: PartitionLog, offset: number): Promise<void> {
    if (l.durableEndOffset >= offset || l.offline) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.durableWaiters.get(l);
      const w = { offset, resolve };
      if (list) list.push(w);
      else this.durableWaiters.set(l, [w]);
    });
  }

  /** The ISR changes the leaders here should propose now go to the controller. */
  checkIsr(): void {
    const now = Date.now();
    for (const rep of this.replicas.values()) this.proposeIsr(rep, now);
  }

  /**
   * A follower outside the ISR fetched: it may have just caught up, and it joins as soon as it
   * has (Kafka's maybeExpandIsr on the fetch) rather than at the next periodic check, which
   * under steady writes may find the high watermark moved past its last fetch again.
   */
  outsiderFetched(topic: string, partition: number): void {
    const rep = this.replicas.get(replicaKey(topic, partition));
    if (rep) this.proposeIsr(rep, Date.now());
  }

  private proposeIsr(rep: PartitionReplica<P>, now: number): void {
    const p = rep.proposeIsr(now, this.d.data.replicaLagTimeMaxMs, this.isEligible);
    if (!p) return;
    const { topic, topicId, partition } = rep.metadata!;
    this.d.log.info({ topic, partition, from: rep.isr, to: p.isr }, 'proposing ISR change');
    this.d.post({ type: 'alter-isr', topicId, partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr });
  }

  isrChangeRefused(topicId: string, partition: number, leaderEpoch: number, partitionEpoch: number, errorCode: number): void {
    for (const [k, rep] of this.replicas) {
      const p = rep.metadata;
      if (p?.topicId !== topicId || p.partition !== partition) continue;
      const l = this.d.logs().get(p.topic, partition);
      if (l) this.settleKey(k, rep.isrChangeRefused(leaderEpoch, partitionEpoch, errorCode, l));
      return;
    }
  }

  /** Shutdown: fetchers stop, and what waits on a replica fails. */
  stop(): void {
    for (const f of this.fetchers.values()) f.stop();
    for (const rep of this.replicas.values()) for (const a of rep.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER)) this.d.answer(a);
  }

  /** Drops a partition's replication state; what waited on it fails with `error`. */
  private forget(k: string, error: number): void {
    const rep = this.replicas.get(k);
    if (!rep) return;
    for (const a of rep.removed(error)) this.d.answer(a);
    this.replicas.delete(k);
  }

  /** Kafka's ReplicaManager gauges: partitions hosted, led, and led with an ISR short of the replica set. */
  private countReplicas(): void {
    let leaders = 0;
    let under = 0;
    for (const rep of this.replicas.values()) {
      if (!rep.isLeader) continue;
      leaders++;
      const committed = rep.metadata!;
      if (committed.isr.length < committed.replicas.length) under++;
    }
    this.d.stats.setReplicas(this.replicas.size, leaders, under);
  }

  /** Topic configs and dynamic broker settings take effect on the live log: the next append, roll or retention pass reads them. */
  private applyLogConfig(l: PartitionLog, overrides: Partial<LogConfig>): void {
    const manager = this.d.logs();
    const next: LogConfig = { ...manager.config };
    for (const [k, v] of Object.entries(overrides) as [keyof LogConfig, LogConfig[keyof LogConfig]][]) {
      if (typeof v === 'boolean' || Number.isFinite(v)) Object.assign(next, { [k]: v });
    }
    const changed = (Object.keys(next) as (keyof LogConfig)[]).filter((k) => next[k] !== l.config[k]);
    if (changed.length === 0) return;
    const stoppedCaching = l.config.writeCaching && !next.writeCaching;
    l.config = next;
    // Its appends answered before their fsync are fsynced now, not at the old limits.
    if (stoppedCaching) manager.flush(l);
    this.d.log.debug({ log: l.name, changed: Object.fromEntries(changed.map((k) => [k, next[k]])) }, 'log settings changed');
  }

  /**
   * The partitions metadata gives this broker now: logs opened (or deleted with their topic or
   * when moved away), each replica's role and ISR applied, fetchers started and stopped.
   * Returns the partitions whose logs could not be opened (the others are applied regardless).
   */
  async applyHosted(partitions: HostedPartition[], deletedTopics: string[], brokers: BrokerEndpoint[]): Promise<HostingFailure[]> {
    const { data, log, stats } = this.d;
    const manager = this.d.logs();
    this.eligible = new Set(brokers.filter((b) => !b.fenced).map((b) => b.id));
    for (const t of deletedTopics) {
      for (const k of [...this.replicas.keys()]) if (k.startsWith(`${t}\0`)) this.forget(k, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      for (const l of [...manager.all()]) if (l.topic === t) await manager.delete(t, l.partition);
    }
    const now = Date.now();
    // The metadata log shares the data dir but belongs to the raft worker, whatever metadata says.
    const mine = partitions.filter((p) => p.topic !== METADATA_TOPIC && partitionOwner(p.topic, p.partition, data.workers) === data.index);
    const seen = new Set<string>();
    const follow = new Map<number, Map<string, FollowedPartition>>();
    const failed: HostingFailure[] = [];
    // All opened at once: new logs' creations overlap and share the fsyncs of the log dir.
    const opened = await Promise.allSettled(mine.map((p) => manager.create(p.topic, p.partition)));
    for (const [i, p] of mine.entries()) {
      const k = replicaKey(p.topic, p.partition);
      seen.add(k);
      const o = opened[i]!;
      if (o.status === 'rejected') {
        failed.push({ topic: p.topic, partition: p.partition, error: (o.reason as Error).message });
        continue;
      }
      const l = o.value;
      this.applyLogConfig(l, p.logConfig);
      let rep = this.replicas.get(k);
      if (!rep) this.replicas.set(k, (rep = new PartitionReplica<P>(data.nodeId, manager.checkpointedHighWatermark(p.topic, p.partition))));
      const ledIsr = rep.isLeader && rep.leaderEpoch === p.leaderEpoch ? rep.metadata!.isr.length : -1;
      const out = rep.applyMetadata(p, l, now);
      if (ledIsr >= 0) stats.isrChanged(ledIsr, p.isr.length);
      this.settleKey(k, out);
      if (out.startEpoch) {
        l.startLeaderEpoch(out.startEpoch.epoch);
        log.info({ topic: p.topic, partition: p.partition, leaderEpoch: p.leaderEpoch, hw: rep.highWatermark }, 'leading partition');
      }
      const leader = rep.followedLeader;
      if (leader !== undefined) {
        let m = follow.get(leader);
        if (!m) follow.set(leader, (m = new Map()));
        m.set(k, { log: l, leaderEpoch: p.leaderEpoch, throttled: p.followerThrottled });
      }
    }
    const movedAway = [...this.replicas.keys()].filter((k) => !seen.has(k));
    for (const k of movedAway) this.forget(k, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.countReplicas();
    this.setFetchers(follow, brokers);
    // A partition gone from this broker while its topic lives on was moved by a reassignment:
    // its log goes too, once no fetcher writes to it (Kafka's StopReplica with deletion).
    for (const k of movedAway) {
      const [topic, partition] = k.split('\0') as [string, string];
      if (manager.get(topic, Number(partition))) {
        await manager.delete(topic, Number(partition));
        log.info({ topic, partition: Number(partition) }, 'replica moved away: log deleted');
      }
    }
    if (failed.length) log.error({ partitions: failed.length, first: failed[0] }, 'cannot open the logs of hosted partitions');
    return failed;
  }

  /** One fetcher per leader this broker follows partitions of; the others stop. */
  private setFetchers(follow: Map<number, Map<string, FollowedPartition>>, brokers: BrokerEndpoint[]): void {
    const endpoints = new Map(brokers.map((b) => [b.id, b]));
    for (const [leaderId, f] of this.fetchers) {
      if (!follow.has(leaderId)) {
        f.stop();
        this.fetchers.delete(leaderId);
      }
    }
    for (const [leaderId, parts] of follow) {
      const ep = endpoints.get(leaderId);
      if (!ep) continue;
      let f = this.fetchers.get(leaderId);
      if (!f) {
        f = new ReplicaFetcher(leaderId, ep, this.d.data.nodeId, this.d.data.interBroker, this.d.logs(), {
          durable: (l, offset) => this.whenDurable(l, offset),
          highWatermark: (l, hw) => {
            const rep = this.get(l.topic, l.partition);
            rep?.learnedHighWatermark(hw, l);
            if (rep?.knownHighWatermark !== undefined) l.producers.highWatermarkReached(rep.knownHighWatermark);
          },
        }, this.followerQuota, this.d.log);
        this.fetchers.set(leaderId, f);
      } else {
        f.setEndpoint(ep.host, ep.port);
      }
      f.setPartitions(parts);
    }
  }
}
