/**
 * The logs of one partition worker, in one log dir:
 *
 *   <log.dir>/
 *     .lock                              flock'ed by the broker (data-dir.ts, data-dir-lock.ts)
 *     .kafka_cleanshutdown               present only between a clean stop and the next start (data-dir.ts)
 *     recovery-point-offset-checkpoint   topic partition offset: fsynced up to, indexes too
 *     log-start-offset-checkpoint        topic partition offset: first offset kept
 *     cleaner-offset-checkpoint          topic partition offset: where compaction's dirty section starts
 *     replication-offset-checkpoint      topic partition offset: the high watermark last known here
 *     <topic>-<partition>/               one PartitionLog (partition-log.ts, segment.ts)
 *       00000000000000000000.log|.index|.timeindex
 *       00000000000000000000.snapshot    producer state below that offset (producer-snapshot.ts)
 *       leader-epoch-checkpoint
 *
 * Several managers may share a dir, each owning the partitions `owns` accepts; the process
 * that starts them then holds the data dir (data-dir.ts: the lock and the clean-shutdown
 * marker; `lock: false` is the default when `owns` is given). A manager alone in its dir
 * holds it itself.
 *
 * Compacted logs are cleaned by a LogCleaner (cleaner/log-cleaner.ts) when the manager is given
 * a runner for the cleanings (the cleaner pool); without one they keep every record.
 *
 * A log that a disk error took offline comes back by itself once its disk takes writes again
 * (offline-recovery.ts); the others keep working meanwhile.
 *
 * Appends of all logs share one group commit (group-commit.ts), which also fsyncs the logs in
 * write-caching mode by their flush limits, and their files one cache of open descriptors
 * (file-cache.ts), sized by `maxOpenFiles`. Retention runs on a timer,
 * deleting whole segments without blocking appends; checkpoints are written on a timer and
 * at close. The high watermark belongs to replication, not to the log: the manager keeps the
 * checkpointed one for whoever starts the partition's replication, and writes the marks that
 * `highWatermarks.current` gives, so that a restarted broker never starts a partition from a
 * mark below one it had already shown (Kafka's `replication-offset-checkpoint`).
 *
 * Recovery scans, index rebuilds and retention stay on this thread instead of going to a
 * piscina pool: the scan is CPU-bound and the partition workers already scan their logs in
 * parallel, one per core. Measured on a 2-core VM after SIGKILL with 2.0 GB past the recovery
 * points of 6 logs and a cold page cache: one worker took 6.3 s (6.8 CPU-s), two workers 3.4
 * and 3.6 s side by side (6.6 CPU-s), against 1.7 GB/s for a cold sequential read of the same
 * files. A pool cannot add cores beyond that, and would add a copy or a second read of every
 * byte. Retention only unlinks whole segments. After a crash the scan covers only the bytes
 * past each log's recovery point, which the periodic checkpoint keeps within about a minute
 * of appends.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '../../../shared/errors.js';
import { createDir } from '../../../shared/create-dir.js';
import { childLogger, type Logger } from '../../../shared/logger.js';
import { syncDir } from './checkpoint-file.js';
import { DirCheckpoints, partitionKey, type CheckpointEntry } from './dir-checkpoints.js';
import { HighWatermarkCheckpoint } from './high-watermark-checkpoint.js';
import { LogDirSync } from './log-dir-sync.js';
import type { LogConfig } from '../../../shared/log-config.js';
import { DataDir } from './data-dir.js';
import { FileCache } from './file-cache.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { GroupCommit, type CommitStats } from './group-commit.js';
import { loadLog, reopenOfflineLog } from './log-recovery.js';
import { OfflineRecoveryRunner, probeWrite } from './offline-recovery-runner.js';
import { errorResult } from './append-result.js';
import { PartitionLog, type Acks, type AppendResult, type LogHooks, type ReadResult } from './partition-log.js';
import { LogCleaner, type LogCleanerOptions } from './cleaner/log-cleaner.js';

export type { AppendResult, ReadResult } from './partition-log.js';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_CHECKPOINT = 'log-start-offset-checkpoint';

const LOG_DIR_PATTERN = /^(.+)-(\d+)$/;

export interface LogManagerOptions {
  dir: string;
  config: LogConfig;
  logger?: Logger;
  /** The partitions this manager serves, when it shares the dir with others. */
  owns?: (topic: string, partition: number) => boolean;
  /** Take the dir lock and manage the clean-shutdown marker (default: true unless `owns`). */
  lock?: boolean;
  /** Whether the last shutdown was clean, when the caller manages the marker. */
  cleanShutdown?: boolean;
  /** false: one fdatasync per append (the baseline group commit is measured against). */
  groupCommit?: boolean;
  /** How often recovery points and log start offsets are checkpointed (default 60 s). */
  checkpointIntervalMs?: number;
  /** false: lock with the pid file even when fs-ext is installed. */
  useFlock?: boolean;
  io?: FileIo;
  /** Counts the group commit's rounds and fdatasync calls. */
  commitStats?: CommitStats;
  /**
   * File descriptors the logs may hold open at once (segment files, plus those lent to
   * snapshot and checkpoint writes). The broker gives each partition worker its share of the
   * process limit.
   */
  maxOpenFiles?: number;
  /** Cleans compacted logs (off this thread, through `runner`); none: compacted logs are not cleaned. */
  cleaner?: LogCleanerOptions;
  /** Checkpoints high watermarks: every `intervalMs` and at close, what `current` says (undefined: the last one kept). */
  highWatermarks?: { intervalMs: number; current: (log: PartitionLog) => number | undefined };
}

/** maxOpenFiles of a manager used on its own. */
const DEFAULT_MAX_OPEN_FILES = 1000;
/** Logs loaded side by side at start. */
const LOADS_AT_ONCE = 32;

const key = partitionKey;

export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly listeners: Array<(log: PartitionLog) => void> = [];
  private readonly durableListeners: Array<(log: PartitionLog) => void> = [];
  private readonly groupCommit: GroupCommit;
  private readonly hooks: LogHooks;
  private readonly recovery: OfflineRecoveryRunner;
  private readonly timers: NodeJS.Timeout[] = [];
  private retentionRunning = false;
  private closed = false;
  private readonly dirSync: LogDirSync;
  private readonly checkpoints: DirCheckpoints;
  private readonly highWatermarks: HighWatermarkCheckpoint;
  /** Set when the manager cleans compacted logs. */
  cleaner: LogCleaner | undefined;

  private constructor(
    readonly dir: string,
    readonly config: LogConfig,
    private readonly logger: Logger,
    readonly files: FileCache,
    private readonly owns: (topic: string, partition: number) => boolean,
    private readonly dataDir: DataDir | undefined,
    private readonly syncEachAppend: boolean,
    commitStats: CommitStats | undefined,
  ) {
    this.groupCommit = new GroupCommit(
      syncEachAppend,
      (logs) => {
        for (const log of logs) for (const l of this.durableListeners) l(log);
      },
      commitStats,
    );
    this.hooks = {
      written: (log, appends, segments) => {
        this.groupCommit.written(log, appends, segments);
        for (const l of this.listeners) l(log);
      },
      offline: (log, err) => {
        this.logger.error({ err, log: log.name }, 'disk error: log taken offline');
        this.recovery.offline(log);
      },
      startOffsetChanged: () => this.writeLogStartCheckpoint(),
      truncated: (log, offset) => this.cleaner?.truncated(log, offset),
      snapshotSkipped: (log, err) => this.logger.warn({ err, log: log.name }, 'producer snapshot skipped: no file descriptor free'),
    };
    this.checkpoints = new DirCheckpoints(dir, files, owns);
    this.highWatermarks = new HighWatermarkCheckpoint(this.logs, this.checkpoints, logger);
    this.dirSync = new LogDirSync(dir, files);
    this.recovery = new OfflineRecoveryRunner(
      { probe: (log) => probeWrite(log.dir), recover: (log) => reopenOfflineLog(log, { files, logger }) },
      logger,
      // Its recovered end is fsynced: whoever waits on durability hears of it.
      (log) => {
        for (const l of this.durableListeners) l(log);
      },
    );
  }

  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const dir = path.resolve(opts.dir);
    const logger = opts.logger ?? childLogger({ component: 'log-manager' });
    const takeLock = opts.lock ?? opts.owns === undefined;
    if (!takeLock) await createDir(dir);
    const dataDir = takeLock ? await DataDir.open(dir, logger, { useFlock: opts.useFlock }) : undefined;
    try {
      const clean = dataDir ? dataDir.cleanShutdown : (opts.cleanShutdown ?? false);
      const manager = new LogManager(
        dir,
        opts.config,
        logger,
        new FileCache(opts.io ?? nodeFileIo, opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES),
        opts.owns ?? (() => true),
        dataDir,
        opts.groupCommit === false,
        opts.commitStats,
      );
      await manager.loadAll(clean);
      manager.startTimers(opts.checkpointIntervalMs ?? 60_000);
      if (opts.highWatermarks) {
        manager.highWatermarks.setSource(opts.highWatermarks.current);
        manager.every(opts.highWatermarks.intervalMs, () => manager.writeHighWatermarkCheckpoint());
      }
      if (opts.cleaner) {
        manager.cleaner = new LogCleaner(dir, manager, manager.owns, manager.files, opts.cleaner, logger);
        manager.cleaner.start();
      }
      return manager;
    } catch (err) {
      await dataDir?.close(false);
      throw err;
    }
  }

  private async loadAll(clean: boolean): Promise<void> {
    const recoveryPoints = this.checkpoints.read(RECOVERY_POINT_CHECKPOINT);
    const startOffsets = this.checkpoints.read(LOG_START_CHECKPOINT);
    const started = Date.now();
    const mine: Array<{ name: string; topic: string; partition: number }> = [];
    for (const entry of await fs.readdir(this.dir, { withFileTypes: true })) {
      const m = entry.isDirectory() ? LOG_DIR_PATTERN.exec(entry.name) : null;
      if (m && this.owns(m[1]!, Number(m[2]))) mine.push({ name: entry.name, topic: m[1]!, partition: Number(m[2]) });
    }
    // Loading one log is a chain of small reads, each a round trip through the thread pool;
    // several logs at a time keep the pool busy (20,000 logs one by one took a minute).
    let next = 0;
    const loadNext = async (): Promise<void> => {
      while (next < mine.length) {
        const { name, topic, partition } = mine[next++]!;
        const k = key(topic, partition);
        const log = await loadLog({
          topic,
          partition,
          dir: path.join(this.dir, name),
          config: this.config,
          files: this.files,
          hooks: this.hooks,
          logger: this.logger,
          recoveryPoint: recoveryPoints.get(k) ?? 0,
          logStartOffset: startOffsets.get(k) ?? 0,
          cleanShutdown: clean,
          syncEachAppend: this.syncEachAppend,
        });
        this.logs.set(k, log);
      }
    };
    await Promise.all(Array.from({ length: LOADS_AT_ONCE }, loadNext));
    this.logger.info({ dir: this.dir, logs: this.logs.size, clean, ms: Date.now() - started }, 'logs loaded');
  }

  private startTimers(checkpointIntervalMs: number): void {
    this.every(this.config.retentionCheckIntervalMs, () => this.runRetention(Date.now()));
    this.every(checkpointIntervalMs, () => this.writeCheckpoints());
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => {
      fn().catch((err: unknown) => this.logger.error({ err }, 'background log task failed'));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** The high watermark checkpointed for the partition (high-watermark-checkpoint.ts); undefined when none was. */
  checkpointedHighWatermark(topic: string, partition: number): number | undefined {
    return this.highWatermarks.checkpointedHighWatermark(topic, partition);
  }

  /** Writes every log's current high watermark to replication-offset-checkpoint. */
  writeHighWatermarkCheckpoint(): Promise<void> {
    return this.highWatermarks.writeHighWatermarkCheckpoint();
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(key(topic, partition));
  }

  all(): Iterable<PartitionLog> {
    return this.logs.values();
  }

  /** fsync rounds so far (one per append without group commit). */
  get syncRounds(): number {
    return this.groupCommit.rounds;
  }

  /** Opens the log, creating its dir and first segment when new. Idempotent. */
  create(topic: string, partition: number, overrides: Partial<LogConfig> = {}): Promise<PartitionLog> {
    const k = key(topic, partition);
    const existing = this.logs.get(k);
    if (existing) return Promise.resolve(existing);
    const pending = this.creating.get(k);
    if (pending) return pending;
    const dir = path.join(this.dir, `${topic}-${partition}`);
    const config = { ...this.config, ...overrides };
    const p = (async () => {
      const made = await createDir(dir);
      try {
        await this.dirSync.syncLogDir();
        const log = await loadLog({
          topic,
          partition,
          dir,
          config,
          files: this.files,
          hooks: this.hooks,
          logger: this.logger,
          recoveryPoint: 0,
          logStartOffset: 0,
          cleanShutdown: false,
          syncEachAppend: this.syncEachAppend,
        });
        this.logs.set(k, log);
        return log;
      } catch (err) {
        // A dir made here and left half-built would be loaded as a log at the next start.
        if (made !== undefined) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        throw err;
      }
    })().finally(() => this.creating.delete(k));
    this.creating.set(k, p);
    return p;
  }

  /** Closes the log and removes its dir. */
  async delete(topic: string, partition: number): Promise<void> {
    const log = this.logs.get(key(topic, partition));
    if (!log) return;
    this.logs.delete(key(topic, partition));
    this.highWatermarks.forget(topic, partition);
    this.groupCommit.forget(log);
    this.cleaner?.forget(log);
    // A swap of cleaned segments in progress ends first (and sees the log gone).
    await log.withSegmentsLocked(() => Promise.resolve());
    await this.recovery.forget(log);
    await log.whenIdle();
    await log.snapshotsWritten();
    await Promise.all(log.segments.map((s) => s.close()));
    await fs.rm(log.dir, { recursive: true, force: true });
    await syncDir(this.dir);
  }

  append(log: PartitionLog, records: Buffer, opts: { acks: Acks; leaderEpoch: number; markers?: boolean }): Promise<AppendResult> {
    if (this.closed) return Promise.resolve(this.refused(log));
    return log.append(records, opts.acks, opts.leaderEpoch, opts.markers);
  }

  appendAsFollower(log: PartitionLog, records: Buffer): Promise<AppendResult> {
    if (this.closed) return Promise.resolve(this.refused(log));
    return log.appendAsFollower(records);
  }

  private refused(log: PartitionLog): AppendResult {
    return errorResult(ErrorCode.KAFKA_STORAGE_ERROR, log.logStartOffset, 'log manager is closed');
  }

  read(log: PartitionLog, fetchOffset: number, maxBytes: number, upperBound?: number): Promise<ReadResult> {
    return log.read(fetchOffset, maxBytes, upperBound);
  }

  /** `listener` runs after each write that made data readable in a log. */
  onAppend(listener: (log: PartitionLog) => void): void {
    this.listeners.push(listener);
  }

  /** `listener` runs after each fsync round that advanced a log's durable end offset. */
  onDurable(listener: (log: PartitionLog) => void): void {
    this.durableListeners.push(listener);
  }

  /** Starts an fsync of what a write-caching log holds unsynced, without waiting for its flush limits. */
  flush(log: PartitionLog): void {
    this.groupCommit.flush(log);
  }

  /** Resolves when everything appended so far is written and fsynced. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.logs.values()].map((l) => l.whenIdle()));
    await this.groupCommit.drained();
  }

  /** One retention pass over every log, expiring silent producers too (the timer calls this). */
  async runRetention(now: number): Promise<void> {
    if (this.retentionRunning) return;
    this.retentionRunning = true;
    try {
      for (const log of this.logs.values()) {
        if (log.offline) continue;
        const expired = log.removeExpiredProducers(now);
        if (expired > 0) this.logger.info({ log: log.name, producers: expired }, 'expired producer ids forgotten');
        const n = await log.applyRetention(now).catch((err: unknown) => {
          log.goOffline(err);
          return 0;
        });
        if (n > 0) this.logger.info({ log: log.name, segments: n, logStartOffset: log.logStartOffset }, 'retention deleted segments');
      }
    } finally {
      this.retentionRunning = false;
    }
  }

  /** Recovery points (after fsyncing the indexes they vouch for) and log start offsets. */
  async writeCheckpoints(): Promise<void> {
    const points: CheckpointEntry[] = [];
    for (const log of this.logs.values()) {
      if (log.offline) continue;
      const point = log.durableEndOffset;
      try {
        await log.syncIndexes();
        points.push([log.topic, log.partition, point]);
        log.recoveryPoint = Math.min(point, log.logEndOffset);
      } catch (err) {
        log.goOffline(err);
      }
    }
    await this.checkpoints.write(RECOVERY_POINT_CHECKPOINT, () => points);
    await this.writeLogStartCheckpoint();
  }

  private writeLogStartCheckpoint(): Promise<void> {
    return this.checkpoints
      .write(LOG_START_CHECKPOINT, () => [...this.logs.values()].map((l) => [l.topic, l.partition, l.logStartOffset] as const))
      .catch((err: unknown) => this.logger.error({ err }, 'log-start-offset-checkpoint write failed'));
  }

  /** Flushes, writes the checkpoints and (when it holds the lock) the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.cleaner?.stop();
    await this.recovery.close();
    await this.flushAll();
    await Promise.all([...this.logs.values()].map((l) => l.leaderEpochCache.flushed()));
    // Nothing is unsynced now: the log files' descriptors go to the snapshot and checkpoint writes.
    this.files.closeIdle();
    await this.writeCheckpoints();
    await this.writeHighWatermarkCheckpoint();
    const allOnline = [...this.logs.values()].every((l) => !l.offline);
    await Promise.all([...this.logs.values()].map((l) => l.close()));
    await this.dataDir?.close(allOnline);
  }
}
