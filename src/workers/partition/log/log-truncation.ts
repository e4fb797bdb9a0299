/**
 * Truncation of a partition log at either end (Kafka's truncateTo / truncateFullyAndStartAt /
 * deleteOldSegments): a follower's cut back to an offset, with the producer state reloaded to
 * match; a start over at an offset with nothing kept; the removal of records below an offset
 * (DeleteRecords) and of the segments retention condemns.
 *
 * These change the segment list and must not overlap, with one another or with the swap of
 * cleaned segments (cleaner/swap.ts): they run one at a time under the segment lock kept here.
 * The log is reached through `TruncatableLog`, which PartitionLog meets, so that this module
 * does not import it.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { LogConfig } from '../../../shared/log-config.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import { loadProducerState } from './producer-state-recovery.js';
import { deleteSnapshots } from './producer-snapshot.js';
import type { ProducerStateManager } from './producer-state.js';
import type { RetryWaiters } from './retry-waiters.js';
import type { SegmentList } from './segment-list.js';

/** What truncation reads and moves of the log it works on. */
export interface TruncatableLog {
  readonly name: string;
  readonly dir: string;
  readonly config: LogConfig;
  readonly offline: boolean;
  logStartOffset: number;
  logEndOffset: number;
  writtenEndOffset: number;
  durableEndOffset: number;
  recoveryPoint: number;
  readonly leaderEpochCache: LeaderEpochCache;
  readonly producers: ProducerStateManager;
  whenIdle(): Promise<void>;
  snapshotsWritten(): Promise<void>;
  goOffline(err: unknown): void;
}

/** What truncation tells the log's manager. */
export interface TruncationEvents {
  /** logStartOffset moved. */
  startOffsetChanged(): void;
  /** The log was cut to end at `offset`. */
  truncated(offset: number): void;
}

export class LogTruncation {
  /** A truncation is under way: appends are refused until it is done. */
  truncating = false;
  /** The tail of the changes to the segment list that run one at a time (withSegmentsLocked). */
  private segmentsLock: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: TruncatableLog,
    private readonly local: SegmentList,
    private readonly retries: RetryWaiters,
    private readonly events: TruncationEvents,
  ) {}

  /**
   * Runs `fn` alone among the changes to the segment list that wait for one another:
   * truncation, retention, record deletion and the swap of cleaned segments (cleaner/swap.ts).
   */
  withSegmentsLocked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.segmentsLock.then(fn);
    this.segmentsLock = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * Cuts the log so that it ends before `offset` (at the start of the batch holding it), after
   * the writes in flight. Appends made meanwhile are refused with NOT_LEADER_OR_FOLLOWER.
   */
  truncateTo(offset: number): Promise<void> {
    return this.withSegmentsLocked(() => this.cutTo(offset));
  }

  private async cutTo(offset: number): Promise<void> {
    const log = this.log;
    if (log.offline) return;
    if (offset >= log.logEndOffset) {
      // Nothing to cut, but an epoch this replica started as leader and wrote nothing in sits
      // at the log end: it goes too (as in Kafka), or the follower would keep naming it to a
      // leader that never saw it and be told to truncate here again, forever.
      log.leaderEpochCache.truncateFromEnd(log.logEndOffset);
      return;
    }
    this.truncating = true;
    try {
      await log.whenIdle();
      if (offset <= log.logStartOffset) {
        await this.truncateFullyAndStartAt(offset);
        return;
      }
      const newEnd = await this.local.cutTo(offset);
      this.setEnd(newEnd);
      await log.snapshotsWritten();
      const loaded = await loadProducerState({
        dir: log.dir,
        segments: this.local.segments,
        logStartOffset: log.logStartOffset,
        logEndOffset: newEnd,
        nowMs: Date.now(),
        expirationMs: log.producers.expirationMs,
      });
      log.producers.restore(loaded.state.entries(), loaded.state.unreplicated());
    } catch (err) {
      log.goOffline(err);
      throw err;
    } finally {
      this.truncating = false;
    }
  }

  /**
   * A follower whose whole log lies below the leader's log start (a new replica, or one that
   * fell behind retention or DeleteRecords) empties it and starts over there, as Kafka's
   * follower does on OFFSET_OUT_OF_RANGE. A log that holds nothing may also start over lower:
   * at the first offset of the leader's batch that holds its start.
   */
  startOverAt(offset: number): Promise<void> {
    return this.withSegmentsLocked(() => this.startOverLocked(offset));
  }

  private async startOverLocked(offset: number): Promise<void> {
    const log = this.log;
    const empty = log.logEndOffset === log.logStartOffset;
    if (log.offline || offset === log.logEndOffset || (offset < log.logEndOffset && !empty)) return;
    this.truncating = true;
    try {
      await log.whenIdle();
      await this.truncateFullyAndStartAt(offset);
    } catch (err) {
      log.goOffline(err);
      throw err;
    } finally {
      this.truncating = false;
    }
  }

  private async truncateFullyAndStartAt(offset: number): Promise<void> {
    await this.local.resetAt(offset);
    this.log.logStartOffset = offset;
    this.setEnd(offset);
    this.log.producers.restore([]);
    await this.log.snapshotsWritten();
    await deleteSnapshots(this.log.dir, () => true);
    this.events.startOffsetChanged();
  }

  private setEnd(offset: number): void {
    const log = this.log;
    log.logEndOffset = offset;
    log.recoveryPoint = Math.min(log.recoveryPoint, offset);
    log.writtenEndOffset = offset;
    log.durableEndOffset = Math.min(log.durableEndOffset, offset);
    log.leaderEpochCache.truncateFromEnd(offset);
    this.retries.fail(offset, ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${log.name} was truncated at ${offset}`);
    this.events.truncated(offset);
  }

  /** Advances the log start offset to `offset` and drops the segments wholly below it. */
  deleteRecordsBefore(offset: number): Promise<void> {
    return this.withSegmentsLocked(() => this.deleteRecordsLocked(offset));
  }

  private async deleteRecordsLocked(offset: number): Promise<void> {
    const log = this.log;
    if (offset > log.logEndOffset) {
      throw new RangeError(`offset ${offset} is beyond the log end offset ${log.logEndOffset} of ${log.name}`);
    }
    if (offset <= log.logStartOffset) return;
    log.logStartOffset = offset;
    log.leaderEpochCache.truncateFromStart(offset);
    log.producers.truncateHead(offset);
    await this.dropOldest(this.local.countBelow(offset));
    this.events.startOffsetChanged();
  }

  /**
   * Deletes the old segments that log.retention.ms / log.retention.bytes condemn, oldest
   * first, never the active one. Returns how many went.
   */
  applyRetention(now: number): Promise<number> {
    return this.withSegmentsLocked(() => this.retentionLocked(now));
  }

  private async retentionLocked(now: number): Promise<number> {
    const log = this.log;
    const n = this.local.retentionCount(now, log.config.retentionMs, log.config.retentionBytes);
    if (n === 0) return 0;
    const newStart = this.local.segments[n]!.baseOffset;
    await this.dropOldest(n);
    if (newStart > log.logStartOffset) {
      log.logStartOffset = newStart;
      log.leaderEpochCache.truncateFromStart(newStart);
      log.producers.truncateHead(newStart);
      this.events.startOffsetChanged();
    }
    return n;
  }

  /** Drops the `n` oldest segments and the producer snapshots below what is left. */
  private async dropOldest(n: number): Promise<void> {
    if (n <= 0) return;
    const first = await this.local.dropOldest(n);
    await this.log.snapshotsWritten();
    await deleteSnapshots(this.log.dir, (o) => o < first);
  }
}
