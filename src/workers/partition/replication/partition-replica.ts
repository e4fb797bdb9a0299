/**
 * One partition's replication on this broker, as a pure state machine: the role metadata gives
 * it (leader, follower, neither), the leader's ISR and high watermark (isr-state.ts), the
 * acks=all purgatory, the leader's answer to a follower fetch (diverging or counted), and the
 * follower's truncation point. Events come in (metadata applied, append done, fsync done,
 * follower fetched, time passed); decisions come out (answers to release, whether the high
 * watermark moved, an ISR to propose).
 *
 * What a replica holds, for the high watermark, is what it fsynced; for a partition in
 * write-caching mode (its log config's `writeCaching`), what it wrote. Acknowledged then means
 * in the page cache of the in-sync replicas: it survives their processes being killed, not a
 * power loss of all of them before their next fsync. No I/O, no clock, no timers: the partition worker
 * (worker.ts) is the shell that does the reading, writing and sending.
 *
 * Kafka's counterparts: `Partition` (makeLeader/makeFollower, maybeIncrementLeaderHW,
 * maybeShrinkIsr/maybeExpandIsr) and `DelayedProduce`.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { HostedPartition } from '../../../shared/worker-types.js';
import { IsrState } from './isr-state.js';

/** The offsets of the local log the rules need. */
export interface LogEnds {
  logStartOffset: number;
  /** Offsets assigned so far (the next offset to assign). */
  logEndOffset: number;
  /** Written (readable, in the page cache) through here: what counts in write-caching mode. */
  writtenEndOffset: number;
  /** Fsynced through here: what counts toward the high watermark by default. */
  durableEndOffset: number;
}

/** Kafka's OffsetForLeaderEpoch answer on the local log: the epoch found and where it ends. */
export interface EpochEnd {
  epoch: number;
  endOffset: number;
}

/** An answer the shell sends: a released or failed acks=all produce. */
export interface Released<P> {
  payload: P;
  /** NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER, ... */
  error: number;
}

/** What an event decided. */
export interface Outcome<P> {
  released: Released<P>[];
  /** The high watermark moved: long-polling consumers may now read more. */
  hwMoved: boolean;
}

/** The leader's answer to a follower's fetch. */
export type FollowerFetchAnswer<P> =
  | { kind: 'error'; error: number }
  /** The follower's log disagrees from `endOffset` on: it truncates before fetching again. */
  | { kind: 'diverging'; epoch: number; endOffset: number; highWatermark: number }
  /** Read from the fetch offset up to `upper` (exclusive). */
  | { kind: 'read'; upper: number; hwMoved: boolean; released: Released<P>[] };

interface Pending<P> {
  lastOffset: number;
  payload: P;
}

interface Leadership<P> {
  isr: IsrState;
  /**
   * The log end when this leadership began. Until the high watermark reaches it, the mark may
   * be below one the previous leader already showed, so consumers are sent away to retry
   * rather than see it move backwards (as Kafka answers ListOffsets in that window).
   */
  epochStart: number;
  pending: Pending<P>[];
  /** When the last ISR change was proposed (0: none outstanding). */
  alterSentAt: number;
}

/** An ISR change for the controller (Kafka's AlterPartition). */
export interface IsrProposal {
  isr: number[];
  leaderEpoch: number;
  partitionEpoch: number;
}

/** An ISR change not reflected in metadata by then is proposed again. */
export const ALTER_ISR_RETRY_MS = 1000;

export class PartitionReplica<P> {
  private meta: HostedPartition | undefined;
  private lead: Leadership<P> | undefined;
  /** Bumped on every change of leadership: an append started under another one is not acknowledged. */
  private term = 0;
  /**
   * The high watermark this replica last knew while not leading: learned from the leader, or
   * its own when it stepped down, or the one checkpointed before a restart. Where it starts if
   * it becomes leader.
   */
  private followerHw: number | undefined;

  /** `checkpointedHw`: the mark the log dir's replication-offset-checkpoint kept for the partition. */
  constructor(readonly nodeId: number, checkpointedHw?: number) {
    this.followerHw = checkpointedHw;
  }

  get metadata(): HostedPartition | undefined {
    return this.meta;
  }

  get isLeader(): boolean {
    return this.lead !== undefined;
  }

  /** Identifies the current leadership; compare with `appended`'s to know an append is still ours. */
  get leadership(): number {
    return this.term;
  }

  get leaderEpoch(): number {
    return this.meta?.leaderEpoch ?? -1;
  }

  get highWatermark(): number {
    return this.lead?.isr.highWatermark ?? -1;
  }

  /** The mark to checkpoint: the leader's, else the last one known here (undefined: none). */
  get knownHighWatermark(): number | undefined {
    return this.lead?.isr.highWatermark ?? this.followerHw;
  }

  get isr(): readonly number[] {
    return this.lead?.isr.isr ?? this.meta?.isr ?? [];
  }

  /** The leader of the partition per metadata, when it is another broker this one follows. */
  get followedLeader(): number | undefined {
    const p = this.meta;
    if (!p || this.lead || p.leader < 0 || !p.replicas.includes(this.nodeId)) return undefined;
    return p.leader;
  }

  /**
   * New metadata for the partition. Becoming leader at a new epoch starts a fresh ISR view from
   * the high watermark known as follower or checkpointed, capped by what the log holds (a new
   * leader never invents a higher one); the same
   * epoch with a newer partition epoch only updates the replica set (a reassignment) and the
   * ISR; losing leadership fails what waits.
   */
  applyMetadata(p: HostedPartition, log: LogEnds, nowMs: number): Outcome<P> & { startEpoch?: EpochEnd } {
    const out: Outcome<P> & { startEpoch?: EpochEnd } = { released: [], hwMoved: false };
    const lead = this.lead;
    this.meta = p;
    if (p.leader === this.nodeId) {
      if (lead && lead.isr.leaderEpoch === p.leaderEpoch) {
        if (lead.isr.partitionEpoch !== p.partitionEpoch) {
          lead.alterSentAt = 0;
          lead.isr.setReplicas(p.replicas, nowMs);
          out.hwMoved = lead.isr.setIsr(p.isr, p.partitionEpoch, this.held(log));
          if (out.hwMoved || lead.pending.length) out.released = this.release(lead);
        }
        return out;
      }
      if (lead) out.released = this.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const held = this.held(log);
      const start = p.replicas.length === 1 ? held : Math.min(this.followerHw ?? log.logStartOffset, held);
      const isr = new IsrState(this.nodeId, p.replicas, p.isr, p.leaderEpoch, p.partitionEpoch, Math.max(start, log.logStartOffset), nowMs);
      isr.advance(held);
      this.lead = { isr, epochStart: log.logEndOffset, pending: [], alterSentAt: 0 };
      this.term++;
      // The new epoch starts at the log end in the log's epoch cache now, before any record of
      // it exists (Kafka's maybeAssignEpochStartOffset): a follower that asks for the end of an
      // epoch this leader never wrote must get the start of this one, not "unknown", or it would
      // truncate records below the high watermark.
      out.startEpoch = { epoch: p.leaderEpoch, endOffset: log.logEndOffset };
      return out;
    }
    if (lead) {
      out.released = this.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      this.followerHw = lead.isr.highWatermark;
      this.lead = undefined;
      this.term++;
    }
    return out;
  }

  /** The partition is no longer hosted here (deleted, or moved away): what waits fails. */
  removed(error: number): Released<P>[] {
    const failed = this.lead ? this.failAll(error) : [];
    this.lead = undefined;
    this.meta = undefined;
    this.term++;
    return failed;
  }

  /** Whether a produce may be appended now: an error code, or NONE. */
  produceError(acks: number): number {
    const lead = this.lead;
    if (!lead) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (acks === -1 && lead.isr.isr.length < this.meta!.minIsr) return ErrorCode.NOT_ENOUGH_REPLICAS;
    return ErrorCode.NONE;
  }

  /**
   * An acks=all append started under `leadership` is written through `lastOffset`: the answer
   * now (released), or null while it waits in the purgatory for the ISR.
   */
  appended(leadership: number, lastOffset: number, payload: P): Released<P> | null {
    const lead = this.lead;
    if (!lead || leadership !== this.term) return { payload, error: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    if (lead.isr.highWatermark > lastOffset) return { payload, error: this.ackError(lead) };
    lead.pending.push({ lastOffset, payload });
    return null;
  }

  /** The produce's own timeout passed: true when it was still waiting (the shell answers it timed out). */
  expire(payload: P): boolean {
    const lead = this.lead;
    if (!lead) return false;
    const i = lead.pending.findIndex((x) => x.payload === payload);
    if (i < 0) return false;
    lead.pending.splice(i, 1);
    return true;
  }

  /** The local log's durable end moved (a group-commit round finished). */
  durable(log: LogEnds): Outcome<P> {
    return this.advance(log);
  }

  /** The local log's written end moved: in write-caching mode, what the leader holds. */
  written(log: LogEnds): Outcome<P> {
    return this.writeCaching ? this.advance(log) : { released: [], hwMoved: false };
  }

  /** A high watermark heard from the leader while following (capped by what is held here). */
  learnedHighWatermark(hw: number, log: LogEnds): void {
    if (!this.lead) this.followerHw = Math.min(hw, this.held(log));
  }

  private get writeCaching(): boolean {
    return this.meta?.logConfig.writeCaching === true;
  }

  /** What the local log holds for the high watermark: fsynced, or written in write-caching mode. */
  private held(log: LogEnds): number {
    return this.writeCaching ? log.writtenEndOffset : log.durableEndOffset;
  }

  private advance(log: LogEnds): Outcome<P> {
    const lead = this.lead;
    if (!lead || !lead.isr.advance(this.held(log))) return { released: [], hwMoved: false };
    return { released: this.release(lead), hwMoved: true };
  }

  /**
   * A follower fetches from `fetchOffset`, having last appended a batch of `lastFetchedEpoch`.
   * Its history must match ours there, else it is told where it diverges; otherwise the fetch
   * counts as its position (followers fetch only from what they hold: fsynced, or written in
   * write-caching mode).
   */
  followerFetch(replicaId: number, fetchOffset: number, lastFetchedEpoch: number, log: LogEnds, epochEnd: (epoch: number) => EpochEnd, writtenEnd: number, nowMs: number): FollowerFetchAnswer<P> {
    const lead = this.lead;
    if (!lead || !lead.isr.isReplica(replicaId)) return { kind: 'error', error: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    if (lastFetchedEpoch >= 0) {
      const e = epochEnd(lastFetchedEpoch);
      if (e.epoch !== lastFetchedEpoch || e.endOffset < fetchOffset) {
        return {
          kind: 'diverging',
          epoch: Math.max(e.epoch, 0),
          endOffset: e.epoch < 0 ? log.logEndOffset : e.endOffset,
          highWatermark: lead.isr.highWatermark,
        };
      }
    }
    const hwMoved = lead.isr.followerFetched(replicaId, fetchOffset, writtenEnd, this.held(log), nowMs);
    return { kind: 'read', upper: writtenEnd, hwMoved, released: hwMoved ? this.release(lead) : [] };
  }

  /**
   * How far a consumer may read, or an error: consumers read below the high watermark, and
   * not at all while a new leader's mark is still below where its epoch began.
   */
  consumerUpper(): { error: number; upper: number } {
    const lead = this.lead;
    if (!lead) return { error: ErrorCode.NOT_LEADER_OR_FOLLOWER, upper: -1 };
    if (lead.isr.highWatermark < lead.epochStart) return { error: ErrorCode.NOT_LEADER_OR_FOLLOWER, upper: -1 };
    return { error: ErrorCode.NONE, upper: lead.isr.highWatermark };
  }

  /** ListOffsets' view: the high watermark, or OFFSET_NOT_AVAILABLE while a new leader catches up. */
  listOffsetsError(): number {
    const lead = this.lead;
    if (!lead) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return lead.isr.highWatermark < lead.epochStart ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.NONE;
  }

  /**
   * An ISR change to send now, at most once per retry interval: the outstanding one again, or
   * a new one (laggards out, caught-up followers in, of those `eligible` says may join).
   */
  proposeIsr(nowMs: number, lagMaxMs: number, eligible: (replica: number) => boolean = () => true): IsrProposal | null {
    const lead = this.lead;
    const p = this.meta;
    if (!lead || !p || p.replicas.length < 2) return null;
    if (lead.alterSentAt > 0 && nowMs - lead.alterSentAt < ALTER_ISR_RETRY_MS) return null;
    const isr = lead.isr.pending ?? lead.isr.proposedIsr(nowMs, lagMaxMs, lead.epochStart, eligible);
    if (!isr) return null;
    lead.alterSentAt = nowMs;
    return { isr: [...isr], leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch };
  }

  /**
   * The controller answered the ISR proposed at (`leaderEpoch`, `partitionEpoch`) with `error`.
   * A refusal that changed nothing (a fenced broker added, a malformed ISR) ends the proposal:
   * the high watermark counts the committed ISR again. A stale epoch keeps it outstanding, as
   * Kafka does: the controller may have changed the ISR already, and metadata will say how.
   */
  isrChangeRefused(leaderEpoch: number, partitionEpoch: number, error: number, log: LogEnds): Outcome<P> {
    const lead = this.lead;
    if (!lead || lead.isr.leaderEpoch !== leaderEpoch || lead.isr.partitionEpoch !== partitionEpoch) return { released: [], hwMoved: false };
    if (error !== ErrorCode.INELIGIBLE_REPLICA && error !== ErrorCode.INVALID_REQUEST) return { released: [], hwMoved: false };
    if (!lead.isr.proposalRefused(this.held(log))) return { released: [], hwMoved: false };
    return { released: this.release(lead), hwMoved: true };
  }

  /** Shutdown or the end of the partition's role here: everything waiting fails with `error`. */
  failAll(error: number): Released<P>[] {
    const lead = this.lead;
    if (!lead) return [];
    const failed = lead.pending.map((x) => ({ payload: x.payload, error }));
    lead.pending = [];
    return failed;
  }

  /** Releases what the high watermark now covers. */
  private release(lead: Leadership<P>): Released<P>[] {
    const hw = lead.isr.highWatermark;
    const released: Released<P>[] = [];
    const still: Pending<P>[] = [];
    const error = this.ackError(lead);
    for (const x of lead.pending) {
      if (x.lastOffset < hw) released.push({ payload: x.payload, error });
      else still.push(x);
    }
    lead.pending = still;
    return released;
  }

  /** An acks=all write the ISR holds: with fewer in-sync replicas than required it fails. */
  private ackError(lead: Leadership<P>): number {
    return lead.isr.isr.length < this.meta!.minIsr ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE;
  }
}

/**
 * Where a follower truncates when its leader says it diverges at (`epoch`, `endOffset`): at
 * the smaller of the leader's end for that epoch and its own, never below its log start.
 */
export function truncationPoint(diverging: EpochEnd, localEnd: EpochEnd, log: LogEnds): number {
  return Math.max(log.logStartOffset, Math.min(diverging.endOffset, localEnd.endOffset, log.logEndOffset));
}
