/**
 * A follower's fetcher: one per (partition worker, leader broker). It sends Fetch requests
 * (v12, with this broker's replica id) for every partition it follows on that leader over one
 * connection, appends what comes back byte for byte with the leader's offsets, and fetches on
 * from an offset only once it is fsynced — so the leader counts a follower's position only for
 * data that is durable on it. A log in write-caching mode fetches on once the write is done:
 * its position then counts data in its page cache, fsynced by the log's flush limits.
 *
 * Replication throttle (the follower side of Kafka's replication quota): a partition in the
 * topic's follower.replication.throttled.replicas for this broker is left out of the fetch
 * while the broker's follower rate (shared by every worker's fetchers) is above its bound,
 * unless the replica has caught up with the leader's high watermark (Kafka throttles only
 * replicas still catching up, so an in-sync one is never pushed out of the ISR); the bytes
 * fetched for throttled partitions count against the rate whether caught up or not.
 *
 * Divergence after a leader change: each fetch names the epoch of the follower's last batch
 * (lastFetchedEpoch); a leader whose log disagrees answers with a diverging epoch and end
 * offset, and the follower truncates to that point before it fetches again.
 */
import { dialBroker, type InterBrokerClient } from '../../shared/broker-connection.js';
import type { ClientConnection } from '../../shared/client-connection.js';
import { ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { FetchRequest } from '../../shared/protocol/generated/fetch-request.js';
import type { FetchResponse } from '../../shared/protocol/generated/fetch-response.js';
import { BATCH_HEADER_SIZE, readBaseOffset, readLastOffset } from '../../shared/record-batch.js';
import type { ReplicationQuota } from '../../shared/replication-quota.js';
import type { LogManager } from './log/log-manager.js';
import type { PartitionLog } from './log/partition-log.js';
import { truncationPoint } from './replication/partition-replica.js';

const FETCH_VERSION = 12;
const MAX_WAIT_MS = 500;
const PARTITION_MAX_BYTES = 1024 * 1024;
const RESPONSE_MAX_BYTES = 16 * 1024 * 1024;
const BACKOFF_MS = 200;
/** Kafka's replica.socket.timeout.ms default: a leader silent this long is dialled again. */
const SOCKET_TIMEOUT_MS = 30_000;

export interface FollowedPartition {
  log: PartitionLog;
  /** The leader epoch metadata gives this partition now. */
  leaderEpoch: number;
  /** Named for this broker in the topic's follower.replication.throttled.replicas. */
  throttled: boolean;
}

export interface FetcherHooks {
  /** Resolves once the log is fsynced up to `offset`. */
  durable(log: PartitionLog, offset: number): Promise<void>;
  /** The leader's high watermark (the follower learns it as far as it holds the data). */
  highWatermark(log: PartitionLog, hw: number): void;
}

export class ReplicaFetcher {
  private partitions = new Map<string, FollowedPartition>();
  private conn: ClientConnection | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** How far each log was below the leader's high watermark after its last fetch (Kafka's fetcher lag). */
  private readonly lag = new WeakMap<PartitionLog, number>();

  constructor(
    readonly leaderId: number,
    private endpoint: { host: string; port: number },
    private readonly nodeId: number,
    private readonly security: InterBrokerClient,
    private readonly manager: LogManager,
    private readonly hooks: FetcherHooks,
    private readonly quota: ReplicationQuota,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  setEndpoint(host: string, port: number): void {
    if (host === this.endpoint.host && port === this.endpoint.port) return;
    this.endpoint = { host, port };
    this.conn?.close();
  }

  setPartitions(parts: Map<string, FollowedPartition>): void {
    this.partitions = parts;
    this.wake?.();
  }

  get size(): number {
    return this.partitions.size;
  }

  /**
   * No more fetches, and nothing more of a response already in hand is applied: a partition
   * this broker now leads must not take the old leader's batches after its own epoch began
   * (they would sit in its log under an epoch its epoch cache says ended before them, and
   * every follower would be told to truncate there, forever).
   */
  stop(): void {
    this.stopped = true;
    this.partitions = new Map();
    this.conn?.close();
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.partitions.size === 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      try {
        await this.fetchOnce();
      } catch (e) {
        if (this.stopped) return;
        this.log.debug({ leader: this.leaderId, err: (e as Error).message }, 'replica fetch failed');
        this.conn?.close();
        this.conn = undefined;
        await sleep(BACKOFF_MS);
      }
    }
  }

  private async fetchOnce(): Promise<void> {
    const now = Date.now();
    const parts = [...this.partitions.values()].filter((p) => !this.held(p, now));
    if (parts.length === 0) {
      // Every partition waits for the throttle: as Kafka's fetcher, back off instead of asking for nothing.
      await sleep(BACKOFF_MS);
      return;
    }
    const byTopic = new Map<string, FollowedPartition[]>();
    for (const p of parts) {
      const list = byTopic.get(p.log.topic);
      if (list) list.push(p);
      else byTopic.set(p.log.topic, [p]);
    }
    const body: Encodable<FetchRequest> = {
      replicaId: this.nodeId,
      maxWaitMs: MAX_WAIT_MS,
      minBytes: 1,
      maxBytes: RESPONSE_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({
          partition: p.log.partition,
          currentLeaderEpoch: p.leaderEpoch,
          fetchOffset: p.log.logEndOffset,
          lastFetchedEpoch: p.log.leaderEpochCache.latestEpoch(),
          logStartOffset: p.log.logStartOffset,
          partitionMaxBytes: PARTITION_MAX_BYTES,
        })),
      })),
    };
    const res = await this.call(body);
    let backoff = false;
    for (const t of res.responses) {
      for (const r of t.partitions) {
        // Looked up again for each partition: metadata may have moved it while an earlier one was applied.
        const p = this.partitions.get(`${t.topic}\0${r.partitionIndex}`);
        if (!p || p.log.offline) continue;
        if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && r.logStartOffset > p.log.logEndOffset) {
          this.log.info({ log: p.log.name, leader: this.leaderId, logStartOffset: r.logStartOffset }, 'follower log below the leader\'s log start: starting over there');
          await p.log.startOverAt(r.logStartOffset);
          continue;
        }
        if (r.errorCode !== ErrorCode.NONE) {
          backoff = true;
          if (r.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && r.errorCode !== ErrorCode.FENCED_LEADER_EPOCH && r.errorCode !== ErrorCode.UNKNOWN_LEADER_EPOCH) {
            this.log.warn({ leader: this.leaderId, log: p.log.name, errorCode: r.errorCode }, 'replica fetch error');
          }
          continue;
        }
        await this.applyPartition(p, r.divergingEpoch, r.records, r.highWatermark, r.logStartOffset);
        if (p.throttled && r.records && r.records.length > 0) this.quota.record(r.records.length, Date.now());
      }
    }
    if (backoff) await sleep(BACKOFF_MS);
  }

  /** Kafka's shouldFollowerThrottle. */
  private held(p: FollowedPartition, nowMs: number): boolean {
    return p.throttled && this.lag.get(p.log) !== 0 && this.quota.exceeded(nowMs);
  }

  private async applyPartition(
    p: FollowedPartition,
    diverging: { epoch: number; endOffset: number },
    records: Buffer | null,
    leaderHw: number,
    leaderLogStart: number,
  ): Promise<void> {
    const log = p.log;
    if (diverging.epoch >= 0) {
      const to = truncationPoint(diverging, log.endOffsetForEpoch(diverging.epoch), log);
      const from = log.logEndOffset;
      const fromEpoch = log.leaderEpochCache.latestEpoch();
      await log.truncateTo(to);
      this.log.info({ log: log.name, leader: this.leaderId, epoch: diverging.epoch, endOffset: diverging.endOffset, from, fromEpoch, truncateTo: to, logEnd: log.logEndOffset, latestEpoch: log.leaderEpochCache.latestEpoch() }, 'follower log diverged: truncated');
      return;
    }
    if (records && records.length > 0) {
      await this.startAtFirstBatch(log, records);
      const r = await this.manager.appendAsFollower(log, records);
      if (r.errorCode !== ErrorCode.NONE) {
        this.log.warn({ log: log.name, errorCode: r.errorCode, err: r.errorMessage }, 'follower append failed');
        return;
      }
      if (!log.config.writeCaching) await this.hooks.durable(log, r.lastOffset + 1);
    }
    this.hooks.highWatermark(log, leaderHw);
    this.lag.set(log, Math.max(0, leaderHw - log.logEndOffset));
    // Records the leader deleted (DeleteRecords, retention) go here too, up to what this replica holds.
    const start = Math.min(leaderLogStart, log.logEndOffset);
    if (start > log.logStartOffset) await log.deleteRecordsBefore(start);
  }

  /**
   * DeleteRecords takes any offset, so the leader's log may start inside a batch, and a fetch
   * from there brings the whole batch. A log that holds nothing yet (it just started over at
   * the leader's log start) starts at the batch's first offset instead, as Kafka's follower
   * does; once the batch is in, its log start moves up to the leader's again.
   */
  private async startAtFirstBatch(log: PartitionLog, records: Buffer): Promise<void> {
    if (log.logEndOffset !== log.logStartOffset || records.length < BATCH_HEADER_SIZE) return;
    const base = readBaseOffset(records, 0);
    if (base < log.logEndOffset && readLastOffset(records, 0) >= log.logEndOffset) {
      this.log.info({ log: log.name, leader: this.leaderId, from: log.logEndOffset, to: base }, 'follower log starts at the first offset of the leader\'s batch holding its start');
      await log.startOverAt(base);
    }
  }

  private async call(body: Encodable<FetchRequest>): Promise<FetchResponse> {
    // TCP or TLS, logged in with SASL when the inter-broker listener asks for it.
    if (!this.conn || this.conn.closed) {
      const conn = await dialBroker(this.endpoint.host, this.endpoint.port, this.security, { clientId: `replica-${this.nodeId}`, requestTimeoutMs: SOCKET_TIMEOUT_MS });
      if (this.stopped) {
        conn.close();
        throw new Error('fetcher stopped');
      }
      this.conn = conn;
    }
    const res = await this.conn.request(ApiKey.Fetch, FETCH_VERSION, body);
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`fetch from leader ${this.leaderId} failed with error ${res.errorCode}`);
    return res;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
