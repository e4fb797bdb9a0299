/**
 * The group coordinator's shell: the I/O around the pure GroupStateMachine. This broker
 * coordinates the groups of every `__consumer_offsets` partition it leads; for each it loads
 * the partition's records (answering COORDINATOR_LOAD_IN_PROGRESS meanwhile), then feeds the
 * partition's machine the requests, appends the records it asks for (replying only once they
 * are durable), and keeps one timer per partition at the machine's next deadline. A partition
 * whose leadership moves away (or to a new epoch) is dropped: its waiting requests get
 * NOT_COORDINATOR, and the new leader loads the same records.
 *
 * Leadership is followed by watching metadata updates; the offsets topic is created on the
 * first FindCoordinator, with `offsets.topic.num.partitions` partitions and a replication
 * factor of min(`offsets.topic.replication.factor`, live brokers), compacted.
 *
 * Every offsets.retention.check.interval.ms, expired committed offsets (offsets.retention.minutes,
 * see offset-expiry.ts) get tombstones, which the log cleaner then removes with what they delete.
 */
import { writeError } from '../../shared/coordinator-write-error.js';
import { randomUUID } from 'node:crypto';
import type { BrokerConfig } from '../../shared/config.js';
import { ErrorCode } from '../../shared/errors.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../shared/groups/coordinator-partition.js';
import { ConsumerGroupStateMachine, type ConsumerEffects, type DescribedConsumerGroup, type HeartbeatRequest, type HeartbeatResult } from '../../shared/groups/consumer-group-state-machine.js';
import { CONSUMER_RECORD_TYPES, recordType } from '../../shared/groups/consumer-records.js';
import { hexToWireUuid } from '../../shared/topic-id.js';
import { ControlType } from '../../shared/control-records.js';
import { GroupStateMachine } from '../../shared/groups/group-state-machine.js';
import { decodeKey, encodeOffsetKey, encodeOffsetValue, type GroupRecord } from '../../shared/groups/records.js';
import {
  joinError,
  syncError,
  type CommitInput,
  type CommitResult,
  type DescribedGroup,
  type Effects,
  type FetchedOffset,
  type HeartbeatInput,
  type JoinInput,
  type JoinResult,
  type LeaveResult,
  type ListedGroup,
  type MemberIdentity,
  type OffsetDeleteResult,
  type OffsetInput,
  type SyncInput,
  type SyncResult,
} from '../../shared/groups/group-io.js';
import { childLogger, type Logger } from '../../shared/logger.js';
import type { MetadataCache } from '../metadata-cache.js';
import type { PartitionWorkers } from '../partition-workers.js';
import type { RaftClient } from '../raft-client.js';
import { appendGroupRecords, appendTxnGroupRecords, readGroupRecords, type LoadOutcome } from './offsets-log.js';

/** Kafka's defaults for group.min.session.timeout.ms, group.max.session.timeout.ms, offset.metadata.max.bytes. */
const MIN_SESSION_TIMEOUT_MS = 6_000;
const MAX_SESSION_TIMEOUT_MS = 1_800_000;
const MAX_METADATA_BYTES = 4096;
/** Segment size of __consumer_offsets (Kafka's offsets.topic.segment.bytes default). */
const COORDINATOR_SEGMENT_BYTES = 100 * 1024 * 1024;
/** How long to wait before loading a partition again after a failed load. */
const LOAD_RETRY_MS = 1_000;

export interface CoordinatorDeps {
  config: BrokerConfig;
  metadata: MetadataCache;
  raft: RaftClient;
  workers: PartitionWorkers;
  hostedApplied(): Promise<void>;
}

export interface Coordinates {
  errorCode: number;
  nodeId: number;
  host: string;
  port: number;
}

interface Slot {
  partition: number;
  leaderEpoch: number;
  machine: GroupStateMachine;
  consumers: ConsumerGroupStateMachine;
  loaded: boolean;
  timer: NodeJS.Timeout | null;
  /** Offset records of open transactions, by producer id: they count once the COMMIT marker is in. */
  pendingTxn: Map<number, GroupRecord[]>;
}

/** A group as ListGroups v5 shows it: with its type, classic or consumer. */
type TypedGroup = Omit<ListedGroup, 'groupState'> & { groupState: string; groupType: 'classic' | 'consumer' };

type Routed = { slot: Slot } | { errorCode: number };

export class GroupCoordinator {
  private readonly slots = new Map<number, Slot>();
  private readonly waiting = new Map<number, (result: unknown) => void>();
  private nextReply = 1;
  private running = false;
  private creating: Promise<void> | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;

  private readonly log: Logger = childLogger({ thread: 'main', component: 'groups' });

  constructor(private readonly deps: CoordinatorDeps) {}

  start(): void {
    this.running = true;
    void this.watch();
    this.expiryTimer = setInterval(() => this.expireOffsets(Date.now()), this.deps.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
  }

  stop(): void {
    this.running = false;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    for (const p of [...this.slots.keys()]) this.unload(p);
  }

  // ---- requests ----------------------------------------------------------------------------

  async findCoordinator(groupId: string): Promise<Coordinates> {
    const none = (errorCode: number): Coordinates => ({ errorCode, nodeId: -1, host: '', port: -1 });
    if (!this.deps.metadata.topic(OFFSETS_TOPIC)) {
      const error = await this.createOffsetsTopic();
      if (error !== ErrorCode.NONE) return none(error);
    }
    const topic = this.deps.metadata.topic(OFFSETS_TOPIC);
    if (!topic || topic.partitions.length === 0) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const leader = topic.partitions[partitionForGroup(groupId, topic.partitions.length)]!.leader;
    const broker = leader < 0 ? undefined : this.deps.metadata.broker(leader);
    if (!broker || broker.fenced) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return { errorCode: ErrorCode.NONE, nodeId: broker.id, host: broker.host, port: broker.port };
  }

  join(j: JoinInput): Promise<JoinResult> {
    return this.call(j.groupId, (code) => joinError(code, j.memberId), (m, now, to, slot) =>
      // A consumer group takes no classic members (Kafka's migration of live groups is not served).
      slot.consumers.has(j.groupId) ? this.refuse(to, joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, j.memberId)) : m.join(now, to, j),
    );
  }

  consumerHeartbeat(req: HeartbeatRequest): Promise<HeartbeatResult> {
    const failed = (errorCode: number): HeartbeatResult => ({ errorCode, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null });
    return this.callConsumers(req.groupId, failed, (c, now, to, slot) => c.heartbeat(now, to, req, slot.machine.presence(req.groupId)));
  }

  consumerDescribe(groupId: string): DescribedConsumerGroup {
    const r = this.route(groupId);
    if ('errorCode' in r) return { ...this.noConsumerGroup(groupId), errorCode: r.errorCode, errorMessage: null };
    return r.slot.consumers.describe(groupId);
  }

  private noConsumerGroup(groupId: string): DescribedConsumerGroup {
    return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: null, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] };
  }

  deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]): Promise<OffsetDeleteResult> {
    return this.call(groupId, (errorCode) => ({ errorCode, partitionErrors: [] }), (m, now, to, slot) =>
      m.deleteOffsets(now, to, groupId, partitions, slot.consumers.has(groupId) ? (topic) => slot.consumers.isSubscribed(groupId, topic) : null),
    );
  }

  sync(s: SyncInput): Promise<SyncResult> {
    return this.call(s.groupId, syncError, (m, now, to) => m.sync(now, to, s));
  }

  heartbeat(h: HeartbeatInput): Promise<{ errorCode: number }> {
    return this.call(h.groupId, (errorCode) => ({ errorCode }), (m, now, to) => m.heartbeat(now, to, h));
  }

  leave(groupId: string, members: MemberIdentity[]): Promise<LeaveResult> {
    return this.call(
      groupId,
      (errorCode) => ({ errorCode, members: members.map((m) => ({ ...m, errorCode })) }),
      (m, now, to) => m.leave(now, to, groupId, members),
    );
  }

  /** A consumer group's member commits with its member epoch, checked by the group's machine. */
  commitOffsets(c: CommitInput): Promise<CommitResult> {
    return this.call(c.groupId, (code) => ({ errorCodes: c.offsets.map(() => code) }), (m, now, to, slot) => {
      if (!slot.consumers.has(c.groupId)) return m.commitOffsets(now, to, c);
      const invalid = slot.consumers.validateCommit(c.groupId, c.memberId, c.generationId);
      if (invalid !== ErrorCode.NONE) return this.refuse(to, { errorCodes: c.offsets.map(() => invalid) });
      return m.commitOffsets(now, to, c, true);
    });
  }

  /** A consumer group: its records first, then its offsets (kept with the classic groups'). */
  async deleteGroup(groupId: string): Promise<{ errorCode: number }> {
    const r = this.route(groupId);
    if (!('errorCode' in r) && r.slot.consumers.has(groupId)) {
      const deleted = await this.callConsumers(groupId, (errorCode) => ({ errorCode }), (c, now, to) => c.deleteGroup(now, to, groupId));
      if (deleted.errorCode !== ErrorCode.NONE) return deleted;
      const offsets = await this.call(groupId, (errorCode) => ({ errorCode }), (m, now, to) => m.deleteGroup(now, to, groupId));
      return offsets.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? deleted : offsets;
    }
    return this.call(groupId, (errorCode) => ({ errorCode }), (m, now, to) => m.deleteGroup(now, to, groupId));
  }

  /**
   * TxnOffsetCommit: the offsets are written inside the producer's transaction and staged;
   * the group sees them when the transaction commits (completeTxn), never if it aborts.
   */
  async commitTxnOffsets(groupId: string, producerId: number, producerEpoch: number, offsets: OffsetInput[]): Promise<number[]> {
    const r = this.route(groupId);
    if ('errorCode' in r) return offsets.map(() => r.errorCode);
    const slot = r.slot;
    const now = Date.now();
    const tooLong = (o: OffsetInput): boolean => o.metadata !== null && Buffer.byteLength(o.metadata) > MAX_METADATA_BYTES;
    const records = offsets.filter((o) => !tooLong(o)).map((o) => ({
      key: encodeOffsetKey(groupId, o.topic, o.partition),
      value: encodeOffsetValue({ offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', commitTimestamp: now }),
    }));
    let errorCode: number = ErrorCode.NONE;
    if (records.length > 0) {
      errorCode = await appendTxnGroupRecords(this.deps.workers, OFFSETS_TOPIC, slot.partition, slot.leaderEpoch, producerId, producerEpoch, records)
        .catch(() => ErrorCode.UNKNOWN_SERVER_ERROR as number);
      if (errorCode === ErrorCode.NONE && this.slots.get(slot.partition) === slot) {
        const staged = slot.pendingTxn.get(producerId) ?? [];
        slot.pendingTxn.set(producerId, [...staged, ...records]);
      }
    }
    // An older epoch at the offsets partition means a newer producer took the transactional id over.
    const written = errorCode === ErrorCode.INVALID_PRODUCER_EPOCH ? ErrorCode.PRODUCER_FENCED : writeError(errorCode, true);
    return offsets.map((o) => (tooLong(o) ? ErrorCode.OFFSET_METADATA_TOO_LARGE : written));
  }

  /** A transaction marker went into an offsets partition led here: its staged offsets count, or are dropped. */
  completeTxn(partition: number, producerId: number, commit: boolean): void {
    const slot = this.slots.get(partition);
    if (!slot) return;
    const staged = slot.pendingTxn.get(producerId);
    slot.pendingTxn.delete(producerId);
    if (commit && staged) for (const r of staged) slot.machine.replay(Date.now(), r.key, r.value);
  }

  /** Whether an open transaction has committed an offset of the group's partition (KIP-447: not yet stable). */
  unstableOffset(groupId: string, topic: string, partition: number): boolean {
    const r = this.route(groupId);
    if ('errorCode' in r) return false;
    for (const staged of r.slot.pendingTxn.values()) {
      for (const rec of staged) {
        const k = decodeKey(rec.key);
        if (k.type === 'offset' && k.group === groupId && k.topic === topic && k.partition === partition) return true;
      }
    }
    return false;
  }

  /** `member`: the consumer group member asking (OffsetFetch v9+), whose epoch must be current. */
  fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null, member: { memberId: string | null; memberEpoch: number } | null = null): { errorCode: number; offsets: FetchedOffset[] } {
    const r = this.route(groupId);
    if ('errorCode' in r) return { errorCode: r.errorCode, offsets: [] };
    if (member && r.slot.consumers.has(groupId)) {
      const invalid = r.slot.consumers.validateFetch(groupId, member.memberId, member.memberEpoch);
      if (invalid !== ErrorCode.NONE) return { errorCode: invalid, offsets: [] };
    }
    return { errorCode: ErrorCode.NONE, offsets: r.slot.machine.fetchOffsets(groupId, topics) };
  }

  /** DescribeGroups describes classic groups; a consumer group is not one (as Kafka answers). */
  describe(groupId: string): DescribedGroup {
    const r = this.route(groupId);
    if ('errorCode' in r) return { groupId, errorCode: r.errorCode, groupState: '', protocolType: '', protocolData: '', members: [] };
    if (r.slot.consumers.has(groupId)) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, groupState: '', protocolType: '', protocolData: '', members: [] };
    return r.slot.machine.describe(groupId);
  }

  /** Every group this broker coordinates; COORDINATOR_LOAD_IN_PROGRESS while a partition loads. */
  list(): { errorCode: number; groups: TypedGroup[] } {
    const groups: TypedGroup[] = [];
    let errorCode: number = ErrorCode.NONE;
    for (const s of this.slots.values()) {
      if (!s.loaded) {
        errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        continue;
      }
      for (const g of s.machine.list()) if (!s.consumers.has(g.groupId)) groups.push({ ...g, groupType: 'classic' });
      for (const g of s.consumers.list()) groups.push({ groupId: g.groupId, protocolType: 'consumer', groupState: g.groupState, groupType: 'consumer' });
    }
    return { errorCode, groups };
  }

  /** Kafka's cleanupGroupMetadata over every loaded partition: tombstones for expired offsets. */
  private expireOffsets(now: number): void {
    for (const slot of this.slots.values()) {
      if (!slot.loaded) continue;
      const subscribes = (groupId: string): ((topic: string) => boolean) | null =>
        slot.consumers.has(groupId) ? (topic) => slot.consumers.isSubscribed(groupId, topic) : null;
      const fx = slot.machine.expireOffsets(now, this.deps.config.offsetsRetentionMs, subscribes);
      const expired = fx.writes.reduce((n, w) => n + w.records.length, 0);
      if (expired > 0) this.log.info({ partition: slot.partition, tombstones: expired }, 'expired committed offsets removed');
      this.apply(slot, fx, 'classic');
    }
  }

  // ---- driving the machines ----------------------------------------------------------------

  private route(groupId: string): Routed {
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID };
    const topic = this.deps.metadata.topic(OFFSETS_TOPIC);
    if (!topic || topic.partitions.length === 0) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const p = partitionForGroup(groupId, topic.partitions.length);
    const meta = topic.partitions[p]!;
    if (meta.leader !== this.deps.config.nodeId) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const slot = this.slots.get(p);
    if (!slot || slot.leaderEpoch !== meta.leaderEpoch) {
      this.reconcile();
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return slot.loaded ? { slot } : { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
  }

  private call<T>(groupId: string, failed: (errorCode: number) => T, event: (m: GroupStateMachine, now: number, to: number, slot: Slot) => Effects): Promise<T> {
    return this.send(groupId, failed, (slot, now, to) => this.apply(slot, event(slot.machine, now, to, slot), 'classic'));
  }

  private callConsumers<T>(groupId: string, failed: (errorCode: number) => T, event: (c: ConsumerGroupStateMachine, now: number, to: number, slot: Slot) => ConsumerEffects): Promise<T> {
    return this.send(groupId, failed, (slot, now, to) => this.apply(slot, event(slot.consumers, now, to, slot), 'consumer'));
  }

  private send<T>(groupId: string, failed: (errorCode: number) => T, run: (slot: Slot, now: number, to: number) => void): Promise<T> {
    const r = this.route(groupId);
    if ('errorCode' in r) return Promise.resolve(failed(r.errorCode));
    const to = this.nextReply;
    this.nextReply = this.nextReply === Number.MAX_SAFE_INTEGER ? 1 : this.nextReply + 1;
    const answered = new Promise<T>((resolve) => this.waiting.set(to, resolve as (result: unknown) => void));
    run(r.slot, Date.now(), to);
    return answered;
  }

  /** An answer decided here, before either machine: no records, just the reply. */
  private refuse(to: number, result: unknown): Effects {
    return { replies: [{ to, result: result as Effects['replies'][number]['result'] }], writes: [] };
  }

  private apply(slot: Slot, fx: Effects | ConsumerEffects, from: 'classic' | 'consumer'): void {
    this.deliver(fx);
    for (const w of fx.writes) {
      const meta = this.deps.metadata.partition(OFFSETS_TOPIC, slot.partition);
      appendGroupRecords(this.deps.workers, OFFSETS_TOPIC, slot.partition, meta?.leaderEpoch ?? slot.leaderEpoch, w.records)
        .catch((e: Error) => {
          this.log.error({ partition: slot.partition, err: e.message }, 'appending group records failed');
          return ErrorCode.UNKNOWN_SERVER_ERROR as number;
        })
        .then((errorCode) => {
          if (this.slots.get(slot.partition) !== slot) return;
          const now = Date.now();
          if (from === 'classic') this.apply(slot, slot.machine.persisted(now, w.token, errorCode), from);
          else this.apply(slot, slot.consumers.persisted(now, w.token, errorCode), from);
        });
    }
    this.arm(slot);
  }

  private deliver(fx: { replies: { to: number; result: unknown }[] }): void {
    for (const r of fx.replies) {
      const resolve = this.waiting.get(r.to);
      this.waiting.delete(r.to);
      resolve?.(r.result);
    }
  }

  private arm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const deadlines = [slot.machine.nextDeadline(), slot.consumers.nextDeadline()].filter((d): d is number => d !== null);
    if (deadlines.length === 0 || !slot.loaded) return;
    const at = Math.min(...deadlines);
    // +1: a timer may fire in the millisecond before its deadline, which would only re-arm.
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.slots.get(slot.partition) !== slot) return;
      this.apply(slot, slot.machine.tick(Date.now()), 'classic');
      this.apply(slot, slot.consumers.tick(Date.now()), 'consumer');
    }, Math.max(0, at - Date.now()) + 1);
    slot.timer.unref();
  }

  // ---- partitions: loading and unloading ---------------------------------------------------

  private async watch(): Promise<void> {
    while (this.running) {
      this.reconcile();
      await this.deps.metadata.nextUpdate(1000);
    }
  }

  /** Loads the offsets partitions this broker leads now; drops the ones it no longer leads. */
  private reconcile(): void {
    if (!this.running) return;
    const led = this.deps.metadata.ledPartitions(OFFSETS_TOPIC);
    for (const [p, slot] of [...this.slots]) if (led.get(p) !== slot.leaderEpoch) this.unload(p);
    for (const [p, epoch] of led) if (!this.slots.has(p)) void this.load(p, epoch);
  }

  private async load(partition: number, leaderEpoch: number): Promise<void> {
    const slot: Slot = {
      partition,
      leaderEpoch,
      loaded: false,
      timer: null,
      pendingTxn: new Map(),
      machine: new GroupStateMachine({
        initialRebalanceDelayMs: this.deps.config.groupInitialRebalanceDelayMs,
        minSessionTimeoutMs: MIN_SESSION_TIMEOUT_MS,
        maxSessionTimeoutMs: MAX_SESSION_TIMEOUT_MS,
        maxMetadataBytes: MAX_METADATA_BYTES,
        newMemberId: (clientId) => `${clientId}-${randomUUID()}`,
      }),
      consumers: new ConsumerGroupStateMachine({
        sessionTimeoutMs: this.deps.config.groupConsumerSessionTimeoutMs,
        heartbeatIntervalMs: this.deps.config.groupConsumerHeartbeatIntervalMs,
        assignors: this.deps.config.groupConsumerAssignors,
        maxSize: this.deps.config.groupConsumerMaxSize,
        newMemberId: () => Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url'),
        topics: () => new Map(this.deps.metadata.topics().map((t) => [t.name, { id: hexToWireUuid(t.id), partitions: t.partitions.length }])),
      }),
    };
    this.slots.set(partition, slot);
    const started = Date.now();
    let bad = 0;
    let outcome: LoadOutcome;
    try {
      await this.deps.hostedApplied();
      outcome = await readGroupRecords(this.deps.workers, OFFSETS_TOPIC, partition, (r) => {
        if (r.control !== undefined) {
          const staged = slot.pendingTxn.get(r.transactionalProducerId);
          slot.pendingTxn.delete(r.transactionalProducerId);
          if (r.control === ControlType.COMMIT && staged) for (const s of staged) slot.machine.replay(started, s.key, s.value);
          return;
        }
        if (r.key === null) return;
        if (r.transactionalProducerId >= 0) {
          const staged = slot.pendingTxn.get(r.transactionalProducerId) ?? [];
          staged.push({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) });
          slot.pendingTxn.set(r.transactionalProducerId, staged);
          return;
        }
        try {
          if (CONSUMER_RECORD_TYPES.has(recordType(r.key))) slot.consumers.replay(started, r.key, r.value);
          else slot.machine.replay(started, r.key, r.value);
        } catch {
          bad++;
        }
      });
    } catch (e) {
      this.log.error({ partition, err: (e as Error).message }, 'reading group coordinator partition failed');
      outcome = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, records: 0, skipped: 0 };
    }
    if (this.slots.get(partition) !== slot) return;
    if (outcome.errorCode !== ErrorCode.NONE) {
      this.log.warn({ partition, leaderEpoch, errorCode: outcome.errorCode }, 'loading group coordinator partition failed; retrying');
      this.slots.delete(partition);
      setTimeout(() => this.reconcile(), LOAD_RETRY_MS).unref();
      return;
    }
    if (bad > 0 || outcome.skipped > 0) this.log.warn({ partition, unreadable: bad, skippedBatches: outcome.skipped }, 'passed over records that are not group records');
    const now = Date.now();
    slot.machine.loaded(now);
    slot.consumers.loaded(now);
    slot.loaded = true;
    this.log.info({ partition, leaderEpoch, records: outcome.records, ms: now - started }, 'group coordinator partition loaded');
    this.apply(slot, slot.machine.tick(now), 'classic');
    this.apply(slot, slot.consumers.tick(now), 'consumer');
  }

  private unload(partition: number): void {
    const slot = this.slots.get(partition);
    if (!slot) return;
    this.slots.delete(partition);
    if (slot.timer) clearTimeout(slot.timer);
    this.deliver(slot.machine.abandon(ErrorCode.NOT_COORDINATOR));
    this.deliver(slot.consumers.abandon(ErrorCode.NOT_COORDINATOR));
    if (slot.loaded) this.log.info({ partition, leaderEpoch: slot.leaderEpoch }, 'group coordinator partition unloaded');
  }

  // ---- the offsets topic -------------------------------------------------------------------

  private createOffsetsTopic(): Promise<number> {
    this.creating ??= this.create().finally(() => {
      this.creating = null;
    });
    return this.creating.then(() => (this.deps.metadata.topic(OFFSETS_TOPIC) ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE));
  }

  private async create(): Promise<void> {
    const live = this.deps.metadata.liveBrokers().length;
    const results = await this.deps.raft.request({
      op: 'createTopics',
      topics: [
        {
          name: OFFSETS_TOPIC,
          numPartitions: this.deps.config.offsetsTopicPartitions,
          replicationFactor: Math.max(1, Math.min(this.deps.config.offsetsTopicReplicationFactor, live)),
          // Kafka's offsets.topic.segment.bytes: the active segment is never cleaned, so it stays small.
          configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(COORDINATOR_SEGMENT_BYTES) },
        },
      ],
      validateOnly: false,
      timeoutMs: 30_000,
    });
    const r = results[0];
    if (r && r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      this.log.warn({ errorCode: r.errorCode }, 'creating the offsets topic failed');
      return;
    }
    for (let i = 0; i < 20 && !this.deps.metadata.topic(OFFSETS_TOPIC); i++) await this.deps.metadata.nextUpdate(500);
    await this.deps.hostedApplied();
    this.reconcile();
  }
}
