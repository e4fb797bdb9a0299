/**
 * The write-ahead log of one partition: `<log.dir>/<topic>-<partition>/`, its segments
 * (segment-list.ts) and the offsets, producer state and leader epochs over them (Kafka's
 * UnifiedLog over its LocalLog).
 *
 * Offsets are assigned synchronously, in call order; the bytes then go out through the log's
 * writer (log-writer.ts), one positional write per burst of appends. Durability is not this module's business: after each
 * write the log reports to its `LogHooks` (the LogManager's group commit), which fsyncs:
 * before acks=-1 is answered, or in write-caching mode (`config.writeCaching`) by the flush
 * limits of the config, the append answered once written.
 *
 * Offsets kept here, in increasing order:
 *   logStartOffset <= durableEndOffset <= writtenEndOffset <= logEndOffset
 * (durable: fsynced; written: readable; logEnd: assigned, the next offset to give out).
 *
 * A disk error takes the log offline: every append waiting on it and every later call
 * answers KAFKA_STORAGE_ERROR. Other logs are not affected. Once the disk takes writes again
 * the log is checked as after a crash and resumes (offline-recovery.ts), without the bytes of
 * the writes that failed.
 *
 * Idempotent produce: a client's append is checked against the producer state
 * (producer-state.ts) before it gets offsets, and the state is updated as the offsets are
 * assigned, so a retry that arrives while its original is still on its way to the disk is
 * already recognised. A retry is answered with the original's offsets once the original is
 * as far along as the retry's acks ask (written, or fsynced). The state is snapshotted
 * (producer-snapshot.ts) at each segment roll and at close, and rebuilt after a truncation.
 * An ABORT marker, a leader's or a follower's, adds its entry to the aborted-transaction index
 * of the segment it goes to (txn-index.ts), which read_committed fetches are answered from.
 */
import { uncompressedLimit } from '../../../shared/compression.js';
import { CONTROL_FLAG, controlTypeAt } from '../../../shared/control-records.js';
import { ErrorCode } from '../../../shared/errors.js';
import { setBaseOffset, setPartitionLeaderEpoch, validateBatches, type BatchInfo } from '../../../shared/record-batch.js';
import type { LogConfig } from '../../../shared/log-config.js';
import { isDescriptorExhaustion, type FileCache } from './file-cache.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import { encodeSnapshot, writeSnapshot } from './producer-snapshot.js';
import type { ProducerBatch, ProducerStateManager } from './producer-state.js';
import { errorResult, okResult, type Acks, type AppendResult, type PendingAppend, type ReadResult } from './append-result.js';
import { LogTruncation } from './log-truncation.js';
import { LogWriter } from './log-writer.js';
import { RetryWaiters } from './retry-waiters.js';
import { SegmentList } from './segment-list.js';
import type { LogSegment } from './segment.js';
import type { AbortedTxn } from './txn-index.js';

export type { Acks, AppendResult, PendingAppend, ReadResult } from './append-result.js';

/** The batches, each control batch with its marker type (which the producer state needs). */
function withControlTypes(records: Buffer, batches: BatchInfo[]): (BatchInfo & ProducerBatch)[] {
  return batches.map((b) => ((b.attributes & CONTROL_FLAG) === 0 ? b : Object.assign(b, { controlType: controlTypeAt(records, b.position, b.position + b.length) })));
}

/** What a log tells its manager. */
export interface LogHooks {
  /** The appends are in the file (readable); `segments` now hold unsynced bytes. */
  written(log: PartitionLog, appends: PendingAppend[], segments: LogSegment[]): void;
  /** The log went offline after a disk error. */
  offline(log: PartitionLog, err: unknown): void;
  /** logStartOffset moved (retention, deleteRecordsBefore). */
  startOffsetChanged(log: PartitionLog): void;
  /** The log was cut to end at `offset` (a follower's truncation, or emptied to start over there). */
  truncated?(log: PartitionLog, offset: number): void;
  /** A producer snapshot was not written for want of a file descriptor. */
  snapshotSkipped(log: PartitionLog, err: unknown): void;
}

const MAX_RELATIVE_OFFSET = 0x7fff_ffff;

/** What a log holds after a recovery of its dir (log-recovery.ts). */
export interface RecoveredState {
  segments: LogSegment[];
  logStartOffset: number;
  /** Everything below it is in the files and fsynced. */
  logEndOffset: number;
  producers: ProducerStateManager;
}

export class PartitionLog {
  logStartOffset: number;
  logEndOffset: number;
  writtenEndOffset: number;
  private durableEnd: number;
  offline = false;
  /**
   * Up to here the log was fsynced, indexes included, when the last recovery point was
   * checkpointed: a recovery checks the bytes from here on.
   */
  recoveryPoint = 0;
  private readonly retries = new RetryWaiters();
  private readonly local: SegmentList;
  private snapshotWrites: Promise<void> = Promise.resolve();
  private readonly writer: LogWriter;
  private readonly truncation: LogTruncation;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    public config: LogConfig,
    segments: LogSegment[],
    readonly leaderEpochCache: LeaderEpochCache,
    private readonly files: FileCache,
    private readonly hooks: LogHooks,
    opts: { logStartOffset: number; logEndOffset: number; durableEndOffset: number; syncEachAppend: boolean },
    readonly producers: ProducerStateManager,
  ) {
    this.logStartOffset = opts.logStartOffset;
    this.logEndOffset = opts.logEndOffset;
    this.writtenEndOffset = opts.logEndOffset;
    this.durableEnd = opts.durableEndOffset;
    this.syncEachAppend = opts.syncEachAppend;
    this.local = new SegmentList(dir, files, segments);
    this.writer = new LogWriter({
      syncEachAppend: opts.syncEachAppend,
      isOffline: () => this.offline,
      activeSegment: () => this.active,
      zeroAheadBytes: () => this.config.zeroAheadBytes,
      written: (appends, segs) => {
        this.writtenEndOffset = Math.max(this.writtenEndOffset, appends[appends.length - 1]!.result.lastOffset + 1);
        this.releaseRetries();
        this.hooks.written(this, appends, segs);
      },
      failed: (err) => this.goOffline(err),
    });
    this.truncation = new LogTruncation(this, this.local, this.retries, {
      startOffsetChanged: () => this.hooks.startOffsetChanged(this),
      truncated: (offset) => this.hooks.truncated?.(this, offset),
    });
  }

  /** The segments, oldest first, the last one active. */
  get segments(): LogSegment[] {
    return this.local.segments;
  }

  /** Set by the group commit after each fsync round; retried batches waiting on it are answered. */
  get durableEndOffset(): number {
    return this.durableEnd;
  }

  set durableEndOffset(offset: number) {
    this.durableEnd = offset;
    this.releaseRetries();
  }

  /** One append per write: the fsync-per-append mode, kept as the baseline group commit is measured against. */
  readonly syncEachAppend: boolean;

  get active(): LogSegment {
    return this.local.active;
  }

  get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  /**
   * Validates and places a produce payload: offsets from logEndOffset, `leaderEpoch` as each
   * batch's partition leader epoch. `records` belongs to the log from here on (it is written
   * as it is, after this call returns). Resolves per `acks`: 0 at once, 1 once written,
   * -1 once fsynced (resolved by the group commit), or once written in write-caching mode.
   */
  append(records: Buffer, acks: Acks, leaderEpoch: number, markersAllowed = false): Promise<AppendResult> {
    const checked = this.precheck(records, uncompressedLimit(this.config.maxMessageBytes), this.config.compact);
    if ('errorCode' in checked) return Promise.resolve(checked);
    const producers = this.producers.checkAppend(withControlTypes(records, checked.batches), this.logEndOffset, markersAllowed);
    if (producers.kind === 'error') return Promise.resolve(errorResult(producers.errorCode, this.logStartOffset, producers.errorMessage));
    if (producers.kind === 'duplicate') return this.answerRetry(producers.firstOffset, producers.lastOffset, acks);
    let next = this.logEndOffset;
    for (const b of checked.batches) {
      setBaseOffset(records, b.position, next);
      setPartitionLeaderEpoch(records, b.position, leaderEpoch);
      b.baseOffset = next;
      b.partitionLeaderEpoch = leaderEpoch;
      next += b.lastOffsetDelta + 1;
    }
    this.startLeaderEpoch(leaderEpoch);
    return this.place(records, checked.batches, this.logEndOffset, next - 1, acks, () => this.producers.commit(producers.updates, producers.ended));
  }

  /** A retry of batches already placed: their offsets, once the originals got as far as `acks` asks. */
  private answerRetry(baseOffset: number, lastOffset: number, acks: Acks): Promise<AppendResult> {
    const result = okResult(baseOffset, lastOffset, this.logStartOffset);
    const durable = acks === -1 && !this.config.writeCaching;
    const reached = durable ? this.durableEnd : this.writtenEndOffset;
    if (acks === 0 || lastOffset < reached) return Promise.resolve(result);
    return new Promise((resolve) => {
      this.retries.add(lastOffset, durable, (errorCode, errorMessage) =>
        resolve(errorCode === ErrorCode.NONE ? result : errorResult(errorCode, this.logStartOffset, errorMessage)),
      );
    });
  }

  private releaseRetries(): void {
    this.retries.release(this.writtenEndOffset, this.durableEnd);
  }

  /**
   * Follower path: the batches keep the leader's offsets and epochs and must start at
   * logEndOffset. Compressed records are not decompressed again: the leader checked them.
   */
  appendAsFollower(records: Buffer): Promise<AppendResult> {
    const checked = this.precheck(records, undefined, false);
    if ('errorCode' in checked) return Promise.resolve(checked);
    let expected = this.logEndOffset;
    for (const b of checked.batches) {
      // Gaps are allowed: the leader's log may be compacted, even where this replica's ends.
      if (b.baseOffset < expected) {
        return Promise.resolve(
          errorResult(ErrorCode.OFFSET_OUT_OF_RANGE, this.logStartOffset, `batch at offset ${b.baseOffset}, log ends at ${expected}`),
        );
      }
      expected = b.baseOffset + b.lastOffsetDelta + 1;
    }
    for (const b of checked.batches) {
      if (b.partitionLeaderEpoch > this.leaderEpochCache.latestEpoch()) {
        this.leaderEpochCache.assign(b.partitionLeaderEpoch, b.baseOffset);
      }
    }
    return this.place(records, checked.batches, checked.batches[0]!.baseOffset, expected - 1, 1, () =>
      withControlTypes(records, checked.batches).flatMap((b) => this.producers.replay(b, b.baseOffset) ?? []),
    );
  }

  /**
   * `decompressUpTo`: check the records of compressed batches too (record-batch.ts).
   * `keysRequired`: refuse a record without a key (the leader of a compacted topic).
   */
  private precheck(records: Buffer, decompressUpTo: number | undefined, keysRequired: boolean): AppendResult | { batches: BatchInfo[] } {
    if (this.offline) return errorResult(ErrorCode.KAFKA_STORAGE_ERROR, this.logStartOffset, `log ${this.name} is offline`);
    if (this.truncation.truncating) {
      return errorResult(ErrorCode.NOT_LEADER_OR_FOLLOWER, this.logStartOffset, `log ${this.name} is being truncated`);
    }
    const v = validateBatches(records, decompressUpTo, keysRequired ? this.name : undefined);
    if (v.errorCode !== ErrorCode.NONE) return errorResult(v.errorCode, this.logStartOffset, v.errorMessage);
    for (const b of v.batches) {
      if (b.length > this.config.maxMessageBytes) {
        return errorResult(
          ErrorCode.MESSAGE_TOO_LARGE,
          this.logStartOffset,
          `batch of ${b.length} bytes is larger than message.max.bytes ${this.config.maxMessageBytes}`,
        );
      }
    }
    return { batches: v.batches };
  }

  /**
   * `updateProducers` runs once the batches are sure to go in, after a roll (whose snapshot
   * must not hold them); the aborted transactions it returns go to the active segment's index.
   */
  private place(
    records: Buffer,
    batches: BatchInfo[],
    baseOffset: number,
    lastOffset: number,
    acks: Acks,
    updateProducers: () => readonly AbortedTxn[],
  ): Promise<AppendResult> {
    try {
      this.maybeRoll(records.length, lastOffset, Math.max(...batches.map((b) => b.maxTimestamp)));
    } catch (err) {
      this.goOffline(err);
      return Promise.resolve(errorResult(ErrorCode.KAFKA_STORAGE_ERROR, this.logStartOffset, String(err)));
    }
    const segment = this.active;
    for (const a of updateProducers()) segment.txnIndex.add(a);
    const position = segment.size;
    for (const b of batches) {
      segment.trackBatch(b, b.baseOffset, position + b.position, this.config.indexIntervalBytes);
    }
    segment.size += records.length;
    this.logEndOffset = lastOffset + 1;
    const result = okResult(baseOffset, lastOffset, this.logStartOffset);
    let settle!: (r: AppendResult) => void;
    const promise = new Promise<AppendResult>((resolve) => (settle = resolve));
    let settled = acks === 0;
    this.writer.enqueue({
      records,
      segment,
      position,
      result,
      acks,
      complete: (errorCode, errorMessage) => {
        if (settled) return;
        settled = true;
        settle(errorCode === ErrorCode.NONE ? result : errorResult(errorCode, this.logStartOffset, errorMessage));
      },
    });
    if (acks === 0) settle(result);
    return promise;
  }

  /**
   * log.roll.ms compares, as Kafka does, the incoming batch's timestamp with the first batch's
   * (wall-clock age of the segment only when batches carry no timestamps).
   */
  private maybeRoll(incomingBytes: number, lastOffset: number, incomingMaxTimestamp: number): void {
    const seg = this.active;
    if (seg.isEmpty) return;
    const full = seg.size + incomingBytes > this.config.segmentBytes;
    const waited = seg.rollStartMs >= 0 && incomingMaxTimestamp >= 0 ? incomingMaxTimestamp - seg.rollStartMs : Date.now() - seg.createdMs;
    // A compacted log rolls by max.compaction.lag.ms too, so that its records become cleanable in time (Kafka's maxSegmentMs).
    const rollMs = this.config.compact ? Math.min(this.config.segmentMs, this.config.maxCompactionLagMs) : this.config.segmentMs;
    const old = waited > rollMs;
    const offsetOverflow = lastOffset - seg.baseOffset > MAX_RELATIVE_OFFSET;
    if (!full && !old && !offsetOverflow) return;
    this.snapshotProducers();
    const { sealed, indexesWritten } = this.local.roll(this.logEndOffset);
    indexesWritten.catch((err: unknown) => this.goOffline(err));
    this.writer.rolledAway(sealed);
  }

  /**
   * Snapshots the producer state of every batch placed so far, at the log end offset. A
   * snapshot only shortens the replay at the next start (an older one and the log rebuild the
   * same state), so running out of descriptors skips it instead of taking the log offline.
   */
  private snapshotProducers(durable = true): void {
    const offset = this.logEndOffset;
    const bytes = encodeSnapshot(this.producers.entries());
    this.snapshotWrites = this.snapshotWrites
      .then(() => this.files.borrow(1, () => writeSnapshot(this.dir, offset, bytes, durable)))
      .catch((err: unknown) => (isDescriptorExhaustion(err) ? this.hooks.snapshotSkipped(this, err) : this.goOffline(err)));
  }

  /** Resolves when the producer snapshots started so far are on disk (or failed). */
  snapshotsWritten(): Promise<void> {
    return this.snapshotWrites;
  }

  /** Forgets producers silent for longer than producer.id.expiration.ms. */
  removeExpiredProducers(nowMs: number): number {
    return this.producers.removeExpired(nowMs);
  }

  /** Takes the log offline after a disk error and fails everything still waiting on it. */
  goOffline(err: unknown): void {
    if (this.offline) return;
    this.offline = true;
    this.writer.failQueued(`log ${this.name} is offline`);
    this.retries.fail(-1, ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.name} is offline`);
    this.hooks.offline(this, err);
  }

  /**
   * Resolves once no write started so far can still land in the files: appends, index
   * entries before them, producer snapshots, the leader epoch checkpoint.
   */
  async settled(): Promise<void> {
    await this.writer.lastRound();
    await this.snapshotWrites;
    await this.leaderEpochCache.flushed();
  }

  /**
   * Back online after a disk error, with `recovered` (a recovery of this log's dir) in place of
   * the segments, offsets and producer state the log had. The leader epoch cache is kept: the
   * recovery truncated it to the recovered end.
   */
  resume(recovered: RecoveredState): void {
    if (!this.offline) throw new Error(`log ${this.name} is not offline`);
    this.segments.splice(0, this.segments.length, ...recovered.segments);
    this.logStartOffset = recovered.logStartOffset;
    this.logEndOffset = recovered.logEndOffset;
    this.writtenEndOffset = recovered.logEndOffset;
    this.recoveryPoint = Math.min(this.recoveryPoint, recovered.logEndOffset);
    this.producers.restore(recovered.producers.entries(), recovered.producers.unreplicated());
    this.writer.reset();
    this.offline = false;
    this.durableEndOffset = recovered.logEndOffset;
  }

  /** Resolves once every append queued so far is written (or failed). */
  whenIdle(): Promise<void> {
    return this.writer.whenIdle();
  }

  /**
   * Whole batches from the one holding `fetchOffset`, up to `maxBytes` (the first batch is
   * returned whole even when larger), from one segment, none reaching `upperBound`.
   */
  async read(fetchOffset: number, maxBytes: number, upperBound = Number.MAX_SAFE_INTEGER): Promise<ReadResult> {
    const answer = (errorCode: number, records: Buffer): ReadResult => ({
      errorCode,
      records,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
    });
    if (this.offline) return answer(ErrorCode.KAFKA_STORAGE_ERROR, Buffer.alloc(0));
    if (fetchOffset < this.logStartOffset || fetchOffset > this.logEndOffset) return answer(ErrorCode.OFFSET_OUT_OF_RANGE, Buffer.alloc(0));
    try {
      return answer(ErrorCode.NONE, await this.local.read(fetchOffset, maxBytes, Math.min(upperBound, this.writtenEndOffset)));
    } catch (err) {
      this.goOffline(err);
      return answer(ErrorCode.KAFKA_STORAGE_ERROR, Buffer.alloc(0));
    }
  }

  /** The aborted transactions a read_committed fetch of [fetchOffset, upperBound) must skip. */
  abortedTxns(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.local.abortedTxns(fetchOffset, upperBound);
  }

  maxTimestamp(): { offset: number; timestamp: number } {
    return this.local.maxTimestamp();
  }

  /** The first record with a timestamp >= `timestamp` (Kafka's ListOffsets by time). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | undefined {
    if (this.offline) return undefined;
    try {
      return this.local.offsetForTimestamp(timestamp, this.logStartOffset);
    } catch (err) {
      this.goOffline(err);
      return undefined;
    }
  }

  /**
   * A leadership at `epoch` writes from the log end on: the epoch starts there in the epoch
   * cache, from the moment this broker leads (Kafka's maybeAssignEpochStartOffset), not from
   * its first write, so a follower asking for the end of an epoch this log never saw is told
   * where the new one began.
   */
  startLeaderEpoch(epoch: number): void {
    if (epoch > this.leaderEpochCache.latestEpoch()) this.leaderEpochCache.assign(epoch, this.logEndOffset);
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.leaderEpochCache.endOffsetForEpoch(epoch, this.logEndOffset);
  }

  /*
   * Truncation at either end, run one at a time under the segment lock, which the swap of
   * cleaned segments (cleaner/swap.ts) takes too: log-truncation.ts.
   */

  withSegmentsLocked<T>(fn: () => Promise<T>): Promise<T> {
    return this.truncation.withSegmentsLocked(fn);
  }

  truncateTo(offset: number): Promise<void> {
    return this.truncation.truncateTo(offset);
  }

  startOverAt(offset: number): Promise<void> {
    return this.truncation.startOverAt(offset);
  }

  deleteRecordsBefore(offset: number): Promise<void> {
    return this.truncation.deleteRecordsBefore(offset);
  }

  applyRetention(now: number): Promise<number> {
    return this.truncation.applyRetention(now);
  }

  /** Writes pending index entries and fsyncs them (for a recovery point or shutdown). */
  syncIndexes(): Promise<void> {
    return this.local.syncIndexes();
  }

  /**
   * Shutdown: the producer state gets a snapshot at the log end (so the next start replays
   * nothing; not fsynced, see writeSnapshot), every fd is closed. The active segment's time
   * index gets no final entry: a start scans that segment's tail from its last offset-index
   * entry and drops the time-index entries from there anyway.
   */
  async close(): Promise<void> {
    await this.whenIdle();
    if (!this.offline) {
      this.snapshotProducers(false);
      await this.snapshotWrites;
    }
    if (!this.offline) await this.syncIndexes();
    await this.local.close();
  }
}
