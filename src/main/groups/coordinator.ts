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
import { ErrorCode } from '../../shared/errors.js';
import { OFFSETS_TOPIC } from '../../shared/groups/coordinator-partition.js';
import type { ConsumerEffects, DescribedConsumerGroup, HeartbeatRequest, HeartbeatResult } from '../../shared/groups/consumer-group-io.js';
import { ConsumerGroupStateMachine } from '../../shared/groups/consumer-group-state-machine.js';
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
import type { LogRecord } from '../../shared/groups/log-records.js';
import { CoordinatorPartitions, type Coordinates, type CoordinatorDeps } from '../coordinator-partitions.js';
import { appendGroupRecords, appendTxnGroupRecords } from './offsets-log.js';

/** Kafka's defaults for group.min.session.timeout.ms, group.max.session.timeout.ms, offset.metadata.max.bytes. */
const MIN_SESSION_TIMEOUT_MS = 6_000;
const MAX_SESSION_TIMEOUT_MS = 1_800_000;
const MAX_METADATA_BYTES = 4096;

export type { Coordinates, CoordinatorDeps };

interface Slot {
  partition: number;
  leaderEpoch: number;
  machine: GroupStateMachine;
  consumers: ConsumerGroupStateMachine;
  loaded: boolean;
  /** Offset records of open transactions, by producer id: they count once the COMMIT marker is in. */
  pendingTxn: Map<number, GroupRecord[]>;
}

/** A group as ListGroups v5 shows it: with its type, classic or consumer. */
type TypedGroup = Omit<ListedGroup, 'groupState'> & { groupState: string; groupType: 'classic' | 'consumer' };

type Routed = { slot: Slot } | { errorCode: number };

export class GroupCoordinator {
  private readonly partitions: CoordinatorPartitions<Slot>;
  private readonly waiting = new Map<number, (result: unknown) => void>();
  private nextReply = 1;
  private expiryTimer: NodeJS.Timeout | null = null;

  private readonly log: Logger = childLogger({ thread: 'main', component: 'groups' });

  constructor(private readonly deps: CoordinatorDeps) {
    const config = deps.config;
    this.partitions = new CoordinatorPartitions<Slot>(deps, this.log, {
      topic: OFFSETS_TOPIC,
      name: 'group coordinator',
      topicSize: () => ({ partitions: config.offsetsTopicPartitions, replicationFactor: config.offsetsTopicReplicationFactor }),
      noTopicError: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      newSlot: (partition, leaderEpoch) => this.newSlot(partition, leaderEpoch),
      replay: (slot, r, started) => this.replay(slot, r, started),
      loaded: (slot, now) => {
        slot.machine.loaded(now);
        slot.consumers.loaded(now);
        this.apply(slot, slot.machine.tick(now), 'classic');
        this.apply(slot, slot.consumers.tick(now), 'consumer');
      },
      unloaded: (slot) => {
        this.deliver(slot.machine.abandon(ErrorCode.NOT_COORDINATOR));
        this.deliver(slot.consumers.abandon(ErrorCode.NOT_COORDINATOR));
      },
    });
  }

  start(): void {
    this.partitions.start();
    this.expiryTimer = setInterval(() => this.expireOffsets(Date.now()), this.deps.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
  }

  stop(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.partitions.stop();
  }

  // ---- requests ----------------------------------------------------------------------------

  findCoordinator(groupId: string): Promise<Coordinates> {
    return this.partitions.locate(groupId);
  }

  /**
   * A consumer group with members serves classic members itself; an empty one gives way to the
   * classic group (Kafka's classicGroupJoin).
   */
  join(j: JoinInput): Promise<JoinResult> {
    return this.send(j.groupId, (code) => joinError(code, j.memberId), (slot, now, to) => {
      if (slot.consumers.hasMembers(j.groupId)) return this.apply(slot, slot.consumers.classicJoin(now, to, j), 'consumer');
      if (slot.consumers.has(j.groupId)) this.apply(slot, slot.consumers.yieldEmpty(now, j.groupId), 'consumer');
      this.apply(slot, slot.machine.join(now, to, j), 'classic');
    });
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
    return this.send(s.groupId, syncError, (slot, now, to) =>
      slot.consumers.has(s.groupId) ? this.apply(slot, slot.consumers.classicSync(now, to, s), 'consumer') : this.apply(slot, slot.machine.sync(now, to, s), 'classic'),
    );
  }

  heartbeat(h: HeartbeatInput): Promise<{ errorCode: number }> {
    return this.send(h.groupId, (errorCode) => ({ errorCode }), (slot, now, to) =>
      slot.consumers.has(h.groupId) ? this.apply(slot, slot.consumers.classicHeartbeat(now, to, h), 'consumer') : this.apply(slot, slot.machine.heartbeat(now, to, h), 'classic'),
    );
  }

  leave(groupId: string, members: MemberIdentity[]): Promise<LeaveResult> {
    return this.send(
      groupId,
      (errorCode) => ({ errorCode, members: members.map((m) => ({ ...m, errorCode })) }),
      (slot, now, to) =>
        slot.consumers.has(groupId) ? this.apply(slot, slot.consumers.classicLeave(now, to, groupId, members), 'consumer') : this.apply(slot, slot.machine.leave(now, to, groupId, members), 'classic'),
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
      if (errorCode === ErrorCode.NONE && this.partitions.isCurrent(slot)) {
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
    const slot = this.partitions.get(partition);
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
    for (const s of this.partitions.all()) {
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
    for (const slot of this.partitions.all()) {
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
    return groupId ? this.partitions.route(groupId) : { errorCode: ErrorCode.INVALID_GROUP_ID };
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
          if (!this.partitions.isCurrent(slot)) return;
          const now = Date.now();
          if (from === 'classic') this.apply(slot, slot.machine.persisted(now, w.token, errorCode), from);
          else this.apply(slot, slot.consumers.persisted(now, w.token, errorCode), from);
        });
    }
    if ('upgraded' in fx) {
      // A group that changed protocol (its records now on their way): the classic machine lets it go, or takes it on.
      for (const groupId of fx.upgraded) {
        this.log.info({ groupId }, 'classic group upgraded to a consumer group');
        this.apply(slot, slot.machine.release(Date.now(), groupId), 'classic');
      }
      for (const group of fx.downgraded) {
        this.log.info({ groupId: group.groupId }, 'consumer group downgraded to a classic group');
        this.apply(slot, slot.machine.adopt(Date.now(), group), 'classic');
      }
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
    const deadlines = [slot.machine.nextDeadline(), slot.consumers.nextDeadline()].filter((d): d is number => d !== null);
    this.partitions.arm(slot, deadlines.length === 0 ? null : Math.min(...deadlines), () => {
      this.apply(slot, slot.machine.tick(Date.now()), 'classic');
      this.apply(slot, slot.consumers.tick(Date.now()), 'consumer');
    });
  }

  // ---- partitions: loading ----------------------------------------------------------------

  private newSlot(partition: number, leaderEpoch: number): Slot {
    return {
      partition,
      leaderEpoch,
      loaded: false,
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
        migrationPolicy: this.deps.config.groupConsumerMigrationPolicy,
        newMemberId: () => Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url'),
        topics: () => new Map(this.deps.metadata.topics().map((t) => [t.name, { id: hexToWireUuid(t.id), partitions: t.partitions.length }])),
      }),
    };
  }

  /** One record of an offsets partition being loaded: transactional ones wait for their marker. */
  private replay(slot: Slot, r: LogRecord, started: number): void {
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
    if (CONSUMER_RECORD_TYPES.has(recordType(r.key))) slot.consumers.replay(started, r.key, r.value);
    else slot.machine.replay(started, r.key, r.value);
  }
}
