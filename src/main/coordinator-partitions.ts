/**
 * The partitions of a coordinator's internal topic (`__consumer_offsets` for groups,
 * `__transaction_state` for transactions) that this broker leads, each with the state its
 * coordinator keeps for it (a slot). Leadership is followed by watching metadata updates: a
 * partition led here is loaded (its records replayed into a fresh slot, retried after a
 * failure) and a partition led elsewhere, or here at a new epoch, is dropped. A key (group or
 * transactional id) lives in partition abs(hashCode) % partitions, as on a Kafka broker; it
 * routes to its slot only once that slot is loaded. Each slot has one timer, at its machine's
 * next deadline.
 *
 * The topic is created by the first lookup that needs it, compacted, with the replication
 * factor capped by the live brokers.
 */
import { ErrorCode } from '../shared/errors.js';
import { partitionForGroup } from '../shared/groups/coordinator-partition.js';
import type { BrokerConfig } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { LogRecord } from '../shared/groups/log-records.js';
import { readGroupRecords, type LoadOutcome } from './groups/offsets-log.js';
import type { MetadataCache } from './metadata-cache.js';
import type { PartitionWorkers } from './partition-workers.js';
import type { RaftClient } from './raft-client.js';

/** How long to wait before loading a partition again after a failed load. */
const LOAD_RETRY_MS = 1_000;
/** Segment size of the internal topics (Kafka's offsets.topic.segment.bytes and transaction.state.log.segment.bytes): the active segment is never cleaned, so it stays small. */
const SEGMENT_BYTES = 100 * 1024 * 1024;
/** setTimeout's longest delay; a later deadline is reached by re-arming. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Coordinates {
  errorCode: number;
  nodeId: number;
  host: string;
  port: number;
}

export interface Slot {
  readonly partition: number;
  readonly leaderEpoch: number;
  loaded: boolean;
}

/** What a coordinator's shell is given by the broker. */
export interface CoordinatorDeps {
  config: BrokerConfig;
  metadata: MetadataCache;
  raft: RaftClient;
  workers: PartitionWorkers;
  hostedApplied(): Promise<void>;
}

export interface CoordinatorPartitionsOptions<S extends Slot> {
  topic: string;
  /** Names the coordinator in log lines ("group coordinator"). */
  name: string;
  /** Partitions and wanted replication factor of the topic when it is created. */
  topicSize(): { partitions: number; replicationFactor: number };
  /** Answered for a key while the topic does not exist (yet). */
  noTopicError: number;
  newSlot(partition: number, leaderEpoch: number): S;
  /** Replays one record of the partition into the slot; throws for a record it cannot read. */
  replay(slot: S, record: LogRecord, startedMs: number): void;
  /** The slot holds every record of its partition and now serves requests. */
  loaded(slot: S, nowMs: number): void;
  /** The slot is dropped: what waits on it must be answered. */
  unloaded(slot: S): void;
}

export class CoordinatorPartitions<S extends Slot> {
  private readonly slots = new Map<number, S>();
  private readonly timers = new Map<S, NodeJS.Timeout>();
  private running = false;
  private creating: Promise<void> | null = null;

  constructor(
    private readonly deps: CoordinatorDeps,
    private readonly log: Logger,
    private readonly o: CoordinatorPartitionsOptions<S>,
  ) {}

  start(): void {
    this.running = true;
    void this.watch();
  }

  stop(): void {
    this.running = false;
    for (const p of [...this.slots.keys()]) this.unload(p);
  }

  /** Every slot, loading or loaded. */
  all(): IterableIterator<S> {
    return this.slots.values();
  }

  /** The slot of the partition with the given number, loading or loaded, if it is led here. */
  get(partition: number): S | undefined {
    return this.slots.get(partition);
  }

  /** Whether `slot` still serves its partition (it was not dropped while an await ran). */
  isCurrent(slot: S): boolean {
    return this.slots.get(slot.partition) === slot;
  }

  /** The slot that coordinates `key`, or the error a request for it gets now. */
  route(key: string): { slot: S } | { errorCode: number } {
    const topic = this.deps.metadata.topic(this.o.topic);
    if (!topic || topic.partitions.length === 0) return { errorCode: this.o.noTopicError };
    const p = partitionForGroup(key, topic.partitions.length);
    const meta = topic.partitions[p]!;
    if (meta.leader !== this.deps.config.nodeId) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const slot = this.slots.get(p);
    if (!slot || slot.leaderEpoch !== meta.leaderEpoch) {
      this.reconcile();
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return slot.loaded ? { slot } : { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
  }

  /** FindCoordinator: the live broker leading `key`'s partition, creating the topic first if needed. */
  async locate(key: string): Promise<Coordinates> {
    const none = (errorCode: number): Coordinates => ({ errorCode, nodeId: -1, host: '', port: -1 });
    if (!this.deps.metadata.topic(this.o.topic)) {
      this.creating ??= this.create().finally(() => {
        this.creating = null;
      });
      await this.creating;
    }
    const topic = this.deps.metadata.topic(this.o.topic);
    if (!topic || topic.partitions.length === 0) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const leader = topic.partitions[partitionForGroup(key, topic.partitions.length)]!.leader;
    const broker = leader < 0 ? undefined : this.deps.metadata.broker(leader);
    if (!broker || broker.fenced) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return { errorCode: ErrorCode.NONE, nodeId: broker.id, host: broker.host, port: broker.port };
  }

  /** Runs `fire` at `deadline` (ms since the epoch) while the slot is current; null clears the timer. */
  arm(slot: S, deadline: number | null, fire: () => void): void {
    const old = this.timers.get(slot);
    if (old) clearTimeout(old);
    this.timers.delete(slot);
    if (deadline === null || !slot.loaded || !this.isCurrent(slot)) return;
    // +1: a timer may fire in the millisecond before its deadline, which would only re-arm.
    const timer = setTimeout(() => {
      this.timers.delete(slot);
      if (this.isCurrent(slot)) fire();
    }, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()) + 1));
    timer.unref();
    this.timers.set(slot, timer);
  }

  private async watch(): Promise<void> {
    while (this.running) {
      this.reconcile();
      await this.deps.metadata.nextUpdate(1000);
    }
  }

  /** Loads the partitions this broker leads now; drops the ones it no longer leads. */
  private reconcile(): void {
    if (!this.running) return;
    const led = this.deps.metadata.ledPartitions(this.o.topic);
    for (const [p, slot] of [...this.slots]) if (led.get(p) !== slot.leaderEpoch) this.unload(p);
    for (const [p, epoch] of led) if (!this.slots.has(p)) void this.load(p, epoch);
  }

  private async load(partition: number, leaderEpoch: number): Promise<void> {
    const { log } = this;
    const { name } = this.o;
    const slot = this.o.newSlot(partition, leaderEpoch);
    this.slots.set(partition, slot);
    const started = Date.now();
    let bad = 0;
    let outcome: LoadOutcome;
    try {
      await this.deps.hostedApplied();
      outcome = await readGroupRecords(this.deps.workers, this.o.topic, partition, (r) => {
        try {
          this.o.replay(slot, r, started);
        } catch {
          bad++;
        }
      });
    } catch (e) {
      log.error({ partition, err: (e as Error).message }, `reading ${name} partition failed`);
      outcome = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, records: 0, skipped: 0 };
    }
    if (!this.isCurrent(slot)) return;
    if (outcome.errorCode !== ErrorCode.NONE) {
      log.warn({ partition, leaderEpoch, errorCode: outcome.errorCode }, `loading ${name} partition failed; retrying`);
      this.slots.delete(partition);
      setTimeout(() => this.reconcile(), LOAD_RETRY_MS).unref();
      return;
    }
    if (bad > 0 || outcome.skipped > 0) log.warn({ partition, unreadable: bad, skippedBatches: outcome.skipped }, `passed over records a ${name} cannot read`);
    const now = Date.now();
    slot.loaded = true;
    log.info({ partition, leaderEpoch, records: outcome.records, ms: now - started }, `${name} partition loaded`);
    this.o.loaded(slot, now);
  }

  private unload(partition: number): void {
    const slot = this.slots.get(partition);
    if (!slot) return;
    this.slots.delete(partition);
    // A slot that is no longer current is never armed again, not even by what unloaded() answers.
    this.arm(slot, null, () => undefined);
    this.o.unloaded(slot);
    if (slot.loaded) this.log.info({ partition, leaderEpoch: slot.leaderEpoch }, `${this.o.name} partition unloaded`);
  }

  private async create(): Promise<void> {
    const { metadata } = this.deps;
    const { topic } = this.o;
    const size = this.o.topicSize();
    const live = metadata.liveBrokers().length;
    const results = await this.deps.raft.request({
      op: 'createTopics',
      topics: [
        {
          name: topic,
          numPartitions: size.partitions,
          replicationFactor: Math.max(1, Math.min(size.replicationFactor, live)),
          configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(SEGMENT_BYTES) },
        },
      ],
      validateOnly: false,
      timeoutMs: 30_000,
    });
    const r = results[0];
    if (r && r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      this.log.warn({ topic, errorCode: r.errorCode }, `creating the ${this.o.name}'s topic failed`);
      return;
    }
    for (let i = 0; i < 20 && !metadata.topic(topic); i++) await metadata.nextUpdate(500);
    await this.deps.hostedApplied();
    this.reconcile();
  }
}
