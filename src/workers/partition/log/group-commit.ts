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
 * A log in write-caching mode (its config's `writeCaching`: write.caching, flush.messages or
 * flush.ms) is answered as soon as its write completes, whatever the acks, and its segments
 * join a round only once one of its flush limits is reached: `flushMessages` records or
 * `flushBytes` bytes written since they last joined one, or `flushMs` since the oldest of
 * those writes. One timer, armed for the earliest deadline, serves every such log. `drained`
 * (a shutdown) takes them all into a round at once.
 *
 * The alternative mode, one fdatasync per append (`groupCommit: false`), exists as the
 * baseline the benchmark compares against; it ignores write caching.
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

/** What a write-caching log wrote since its segments last joined a round. */
interface Unflushed {
  segments: Set<LogSegment>;
  records: number;
  bytes: number;
  /** When they join one at the latest (performance.now()). */
  deadline: number;
}

/** setTimeout's longest delay: a longer flush.ms waits in steps of it. */
const MAX_TIMER_MS = 0x7fff_ffff;
/**
 * Logs whose flush.ms deadline falls this close after the one the timer fired for join the same
 * round: with many partitions written at slightly different times, one wake-up and one round
 * serve them all instead of one each.
 */
const FLUSH_GATHER_MS = 5;

export class GroupCommit {
  /** fsync rounds started (one per append in per-append mode). */
  rounds = 0;
  private dirty = new Map<LogSegment, PartitionLog>();
  private waiting: Waiter[] = [];
  private syncing = false;
  private alone = 0;
  private drainWaiters: Array<() => void> = [];
  /** Bytes of the segments waiting for the next round. */
  private unsyncedBytes = 0;
  private readonly unflushed = new Map<PartitionLog, Unflushed>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushTimerAt = Infinity;

  constructor(
    private readonly perAppend: boolean,
    /** Runs after each round with the logs whose durable end it advanced. */
    private readonly onDurable: (logs: PartitionLog[]) => void = () => {},
    private readonly stats?: CommitStats,
  ) {}

  /** A log's write completed: acks=1 answers now, acks=-1 joins the next round (or answers now in write-caching mode). */
  written(log: PartitionLog, appends: PendingAppend[], segments: LogSegment[]): void {
    const now = performance.now();
    for (const a of appends) a.result.writtenAt = now;
    if (this.perAppend) {
      for (const a of appends) this.unsyncedBytes += a.records.length;
      this.syncAlone(log, appends, segments);
      return;
    }
    if (log.config.writeCaching) {
      this.cache(log, appends, segments, now);
      return;
    }
    // A log that stopped caching: what it cached goes with this round.
    this.take(log);
    for (const seg of segments) this.dirty.set(seg, log);
    for (const a of appends) {
      this.unsyncedBytes += a.records.length;
      if (a.acks === -1) this.waiting.push({ log, append: a });
      else a.complete(ErrorCode.NONE);
    }
    this.run();
  }

  /** The log's written and unsynced appends join the next round now. */
  flush(log: PartitionLog): void {
    this.take(log);
    this.run();
  }

  /** The log is gone (deleted): nothing of it is synced any more. */
  forget(log: PartitionLog): void {
    this.unflushed.delete(log);
    if (this.unflushed.size === 0) this.disarmTimer();
  }

  private cache(log: PartitionLog, appends: PendingAppend[], segments: LogSegment[], now: number): void {
    let u = this.unflushed.get(log);
    if (!u) {
      u = { segments: new Set(), records: 0, bytes: 0, deadline: now + Math.min(log.config.flushMs, MAX_TIMER_MS) };
      this.unflushed.set(log, u);
      this.armTimer(u.deadline);
    }
    for (const seg of segments) u.segments.add(seg);
    for (const a of appends) {
      u.records += a.result.lastOffset - a.result.baseOffset + 1;
      u.bytes += a.records.length;
      a.complete(ErrorCode.NONE);
    }
    if (u.records >= log.config.flushMessages || u.bytes >= log.config.flushBytes) this.flush(log);
  }

  /** Moves a write-caching log's unsynced segments into the next round. */
  private take(log: PartitionLog): void {
    const u = this.unflushed.get(log);
    if (!u) return;
    this.unflushed.delete(log);
    for (const seg of u.segments) this.dirty.set(seg, log);
    this.unsyncedBytes += u.bytes;
    if (this.unflushed.size === 0) this.disarmTimer();
  }

  private armTimer(at: number): void {
    if (at >= this.flushTimerAt) return;
    clearTimeout(this.flushTimer);
    this.flushTimerAt = at;
    this.flushTimer = setTimeout(() => this.flushDue(), Math.max(0, at - performance.now()));
  }

  /** Nothing is left unsynced: no timer keeps the thread alive. */
  private disarmTimer(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushTimerAt = Infinity;
  }

  private flushDue(): void {
    this.disarmTimer();
    const due = performance.now() + FLUSH_GATHER_MS;
    let next = Infinity;
    for (const [log, u] of this.unflushed) {
      if (u.deadline <= due) this.take(log);
      else next = Math.min(next, u.deadline);
    }
    if (next < Infinity) this.armTimer(next);
    this.run();
  }

  /**
   * Resolves when nothing is dirty and no round runs; what write-caching logs hold unsynced
   * joins a round now.
   */
  drained(): Promise<void> {
    for (const log of [...this.unflushed.keys()]) this.take(log);
    this.run();
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
