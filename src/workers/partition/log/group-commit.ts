/**
 * Group commit: one sync loop per LogManager makes the appends of every log durable.
 *
 * When no round is running and some segment holds unsynced bytes, a round starts: it
 * fdatasyncs every dirty segment file in parallel (a file the file cache closed meanwhile was
 * fdatasynced before it closed, and costs nothing here), then acknowledges every acks=-1 append
 * whose write had completed before the round began. Appends written during a round wait for
 * the next one, which starts as soon as this one ends. There is no timer: an append on an
 * idle broker waits only for its own fsync, and under load each round covers whatever piled
 * up during the previous one, so rounds grow with the load by themselves.
 *
 * The alternative mode, one fdatasync per append (`groupCommit: false`), exists as the
 * baseline the benchmark compares against.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { PartitionLog, PendingAppend } from './partition-log.js';
import type { LogSegment } from './segment.js';

/** Where the rounds are counted (the metrics endpoint's group-commit histograms). */
export interface CommitStats {
  /** A round started that makes `bytes` of appends durable. */
  round(bytes: number): void;
  /** One fdatasync call took `us` microseconds. */
  fdatasync(us: number): void;
}

interface Waiter {
  log: PartitionLog;
  append: PendingAppend;
}

export class GroupCommit {
  /** fsync rounds started (one per append in per-append mode). */
  rounds = 0;
  private dirty = new Map<LogSegment, PartitionLog>();
  private waiting: Waiter[] = [];
  private syncing = false;
  private alone = 0;
  private drainWaiters: Array<() => void> = [];
  /** Bytes written since the last round started. */
  private unsyncedBytes = 0;

  constructor(
    private readonly perAppend: boolean,
    /** Runs after each round with the logs whose durable end it advanced. */
    private readonly onDurable: (logs: PartitionLog[]) => void = () => {},
    private readonly stats?: CommitStats,
  ) {}

  /** A log's write completed: acks=1 answers now, acks=-1 joins the next round. */
  written(log: PartitionLog, appends: PendingAppend[], segments: LogSegment[]): void {
    const now = performance.now();
    for (const a of appends) {
      a.result.writtenAt = now;
      this.unsyncedBytes += a.records.length;
    }
    if (this.perAppend) {
      this.syncAlone(log, appends, segments);
      return;
    }
    for (const seg of segments) this.dirty.set(seg, log);
    for (const a of appends) {
      if (a.acks === -1) this.waiting.push({ log, append: a });
      else a.complete(ErrorCode.NONE);
    }
    this.run();
  }

  /** Resolves when nothing is dirty and no round runs. */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private isDrained(): boolean {
    return !this.syncing && this.alone === 0 && this.dirty.size === 0 && this.waiting.length === 0;
  }

  private run(): void {
    if (this.syncing || this.dirty.size === 0) {
      if (this.isDrained()) for (const w of this.drainWaiters.splice(0)) w();
      return;
    }
    this.syncing = true;
    this.rounds++;
    this.stats?.round(this.unsyncedBytes);
    this.unsyncedBytes = 0;
    const segments = this.dirty;
    const waiters = this.waiting;
    this.dirty = new Map();
    this.waiting = [];
    const ends = new Map<PartitionLog, number>();
    for (const log of segments.values()) ends.set(log, log.writtenEndOffset);
    const startedAt = performance.now();
    for (const w of waiters) w.append.result.syncStartAt = startedAt;
    const syncs = [...segments].map(([seg, log]) =>
      log.offline ? Promise.resolve() : this.sync(seg).catch((err: unknown) => log.goOffline(err)),
    );
    void Promise.all(syncs).then(() => {
      const advanced: PartitionLog[] = [];
      for (const [log, end] of ends) {
        if (log.offline) continue;
        const durable = Math.max(log.durableEndOffset, Math.min(end, log.writtenEndOffset));
        if (durable > log.durableEndOffset) advanced.push(log);
        log.durableEndOffset = durable;
      }
      const durableAt = performance.now();
      for (const { log, append } of waiters) {
        append.result.durableAt = durableAt;
        append.complete(log.offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE, log.offline ? `log ${log.name} is offline` : undefined);
      }
      this.syncing = false;
      if (advanced.length) this.onDurable(advanced);
      this.run();
    });
  }

  /** fdatasyncs a segment's log file, timed for the stats. */
  private sync(seg: LogSegment): Promise<void> {
    if (!this.stats) return seg.syncLog();
    const stats = this.stats;
    const startedAt = performance.now();
    return seg.syncLog().then(() => stats.fdatasync((performance.now() - startedAt) * 1000));
  }

  private syncAlone(log: PartitionLog, appends: PendingAppend[], segments: LogSegment[]): void {
    this.rounds++;
    this.stats?.round(this.unsyncedBytes);
    this.unsyncedBytes = 0;
    this.alone++;
    const end = log.writtenEndOffset;
    const startedAt = performance.now();
    for (const a of appends) a.result.syncStartAt = startedAt;
    void Promise.all(segments.map((seg) => this.sync(seg)))
      .then(
        () => {
          if (end <= log.durableEndOffset) return;
          log.durableEndOffset = end;
          this.onDurable([log]);
        },
        (err: unknown) => log.goOffline(err),
      )
      .then(() => {
        const durableAt = performance.now();
        for (const a of appends) a.result.durableAt = durableAt;
        for (const a of appends) a.complete(log.offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE);
        this.alone--;
        if (this.isDrained()) for (const w of this.drainWaiters.splice(0)) w();
      });
  }
}
