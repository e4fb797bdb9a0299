/**
 * The log cleaner of one LogManager, run by the partition worker that owns the logs: every
 * log.cleaner.backoff.ms it picks the compacted log most in need (selection.ts), hands the
 * cleaning to the cleaner pool (a piscina pool of log.cleaner.threads threads, shared by every
 * partition worker, with one I/O budget: clean-task.ts), then swaps the cleaned segments in
 * itself (swap.ts) and records where the next cleaning starts in `cleaner-offset-checkpoint`
 * (Kafka's file, in the data dir: `topic partition firstDirtyOffset`). One cleaning at a time
 * per worker; appends, fetches and everything else go on meanwhile.
 *
 * A log whose cleaning fails (an unreadable segment, a full offset map) is left alone until the
 * next start, as Kafka marks it uncleanable; a log truncated below its checkpoint gets the
 * checkpoint lowered (a follower's truncation: what comes in again is dirty).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { uncompressedLimit } from '../../../../shared/compression.js';
import type { Logger } from '../../../../shared/logger.js';
import { DirCheckpoints, partitionKey } from '../dir-checkpoints.js';
import type { FileCache } from '../file-cache.js';
import type { PartitionLog } from '../partition-log.js';
import type { CleanResult, CleanTask } from '../../../../shared/clean-task.js';
import { CLEANED_SUFFIX } from './clean-log.js';
import { filthiest, toClean, type LogStat, type ToClean } from './selection.js';
import { swapCleaned } from './swap.js';

export const CLEANER_CHECKPOINT = 'cleaner-offset-checkpoint';

/** Runs a cleaning somewhere off the worker's thread (the cleaner pool). */
export interface CleanerRunner {
  clean(task: CleanTask): Promise<CleanResult>;
}

export interface LogCleanerOptions {
  runner: CleanerRunner;
  /** log.cleaner.backoff.ms */
  backoffMs: number;
  /** Bytes of offset map one cleaning may use (log.cleaner.dedupe.buffer.size / threads). */
  offsetMapBytes: number;
  /** Cleaning stays below the log's high watermark (default: its end). */
  highWatermark?: (log: PartitionLog) => number;
}

/** What one cleaning did, for logs and tests. */
export interface CleanReport {
  log: string;
  firstDirtyOffset: number;
  nextDirtyOffset: number;
  result: CleanResult;
}

const key = partitionKey;

export class LogCleaner {
  private readonly checkpoints: Map<string, number>;
  private readonly checkpointFiles: DirCheckpoints;
  private readonly uncleanable = new Set<string>();
  /** Truncations seen per log: a cleaning that overlapped one is not swapped in. */
  private readonly truncations = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The swap of the cleaning in progress, once its cleaned segments are written. */
  private swapping: Promise<unknown> = Promise.resolve();
  private busy = false;
  private stopped = false;

  constructor(
    dir: string,
    private readonly logs: { all(): Iterable<PartitionLog>; get(topic: string, partition: number): PartitionLog | undefined },
    owns: (topic: string, partition: number) => boolean,
    private readonly files: FileCache,
    private readonly opts: LogCleanerOptions,
    private readonly logger: Logger,
  ) {
    this.checkpointFiles = new DirCheckpoints(dir, files, owns);
    this.checkpoints = this.checkpointFiles.read(CLEANER_CHECKPOINT);
  }

  start(): void {
    this.timer = setInterval(() => void this.cleanOnce(), this.opts.backoffMs);
    this.timer.unref();
  }

  /** One round: cleans the log most in need, if one is due. Resolves with what it did. */
  cleanOnce(now = Date.now()): Promise<CleanReport | undefined> {
    if (this.busy || this.stopped) return Promise.resolve(undefined);
    this.busy = true;
    const run = this.cleanFilthiest(now)
      .catch((err: unknown) => {
        this.logger.error({ err }, 'log cleaning failed');
        return undefined;
      })
      .finally(() => (this.busy = false));
    return run;
  }

  /** The cleaner checkpoint of a log: where its dirty section starts. */
  checkpoint(log: PartitionLog): number | undefined {
    return this.checkpoints.get(key(log.topic, log.partition));
  }

  /** The log was cut to end at `offset`: a checkpoint past it comes down (Kafka's maybeTruncateCheckpoint). */
  truncated(log: PartitionLog, offset: number): void {
    const k = key(log.topic, log.partition);
    this.truncations.set(k, (this.truncations.get(k) ?? 0) + 1);
    const at = this.checkpoints.get(k);
    if (at === undefined || at <= offset) return;
    this.checkpoints.set(k, offset);
    void this.writeCheckpoint();
  }

  /** The log was deleted. */
  forget(log: PartitionLog): void {
    const k = key(log.topic, log.partition);
    this.uncleanable.delete(k);
    this.truncations.delete(k);
    if (this.checkpoints.delete(k)) void this.writeCheckpoint();
  }

  /**
   * No cleaning starts or swaps any more; resolves once a swap in progress is over. A cleaning
   * still in the pool is abandoned: its files are deleted at the next load.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.swapping;
    await this.checkpointFiles.written();
  }

  private stat(log: PartitionLog): LogStat {
    const hw = this.opts.highWatermark?.(log) ?? log.logEndOffset;
    return {
      segments: log.segments.map((s) => ({ baseOffset: s.baseOffset, size: s.size, maxTimestamp: s.maxTimestamp, firstTimestamp: s.rollStartMs })),
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      checkpoint: this.checkpoint(log),
      lastStableOffset: log.producers.lastStableOffset(hw),
      minCleanableDirtyRatio: log.config.minCleanableDirtyRatio,
      minCompactionLagMs: log.config.minCompactionLagMs,
      maxCompactionLagMs: log.config.maxCompactionLagMs,
    };
  }

  private async cleanFilthiest(now: number): Promise<CleanReport | undefined> {
    const candidates: Array<{ log: PartitionLog; toClean: ToClean; minCleanableDirtyRatio: number }> = [];
    for (const log of this.logs.all()) {
      if (!log.config.compact || log.offline || this.uncleanable.has(key(log.topic, log.partition))) continue;
      candidates.push({ log, toClean: toClean(this.stat(log), now), minCleanableDirtyRatio: log.config.minCleanableDirtyRatio });
    }
    const i = filthiest(candidates);
    if (i < 0) return undefined;
    const { log, toClean: t } = candidates[i]!;
    const k = key(log.topic, log.partition);
    if (t.checkpointReset) this.logger.warn({ log: log.name, checkpoint: this.checkpoint(log), logStartOffset: log.logStartOffset }, 'cleaner checkpoint out of the log: cleaning from the log start');
    const sources = log.segments.slice(0, -1).filter((s) => s.baseOffset < t.firstUncleanableOffset);
    const sizes = sources.map((s) => s.size);
    const truncations = this.truncations.get(k) ?? 0;
    const task: CleanTask = {
      dir: log.dir,
      name: log.name,
      segments: sources.map((s, j) => ({ baseOffset: s.baseOffset, nextOffset: log.segments[j + 1]!.baseOffset, size: s.size })),
      firstDirtyOffset: t.firstDirtyOffset,
      firstUncleanableOffset: t.firstUncleanableOffset,
      now,
      deleteRetentionMs: log.config.deleteRetentionMs,
      segmentBytes: log.config.segmentBytes,
      indexIntervalBytes: log.config.indexIntervalBytes,
      maxBatchBytes: uncompressedLimit(log.config.maxMessageBytes),
      offsetMapBytes: this.opts.offsetMapBytes,
      aborted: log.segments.flatMap((s) => s.txnIndex.all()),
      producers: log.producers.entries().map((e) => [e.producerId, { lastDataOffset: e.batches[e.batches.length - 1]?.lastOffset ?? -1, epoch: e.epoch }]),
    };
    let result: CleanResult;
    try {
      result = await this.opts.runner.clean(task);
    } catch (err) {
      this.uncleanable.add(k);
      await this.removeLeftovers(log);
      this.logger.error({ err, log: log.name }, 'cleaning failed: the log is not cleaned again until the next start');
      return undefined;
    }
    if (this.stopped) return undefined;
    // A truncation may have cut a source segment and let it fill and roll again: then it is not what was cleaned.
    const unchanged = (): boolean =>
      this.logs.get(log.topic, log.partition) === log && (this.truncations.get(k) ?? 0) === truncations && sources.every((s, j) => s.size === sizes[j]);
    const swap = swapCleaned(log, this.files, sources, result, unchanged);
    this.swapping = swap.catch(() => undefined);
    let swapped: boolean;
    try {
      swapped = await swap;
    } catch (err) {
      log.goOffline(err);
      return undefined;
    }
    if (!swapped) {
      this.logger.info({ log: log.name }, 'cleaning discarded: the log changed meanwhile');
      return undefined;
    }
    this.checkpoints.set(k, result.nextDirtyOffset);
    await this.writeCheckpoint();
    const s = result.stats;
    const mb = (n: number): number => Math.round((n / (1024 * 1024)) * 100) / 100;
    this.logger.info(
      {
        log: log.name,
        firstDirtyOffset: t.firstDirtyOffset,
        nextDirtyOffset: result.nextDirtyOffset,
        dirtyRatio: Math.round(t.ratio * 1000) / 1000,
        mbRead: mb(s.bytesRead),
        mbWritten: mb(s.bytesWritten),
        records: s.recordsRead,
        recordsKept: s.recordsWritten,
        keys: s.keys,
        ms: s.totalMs,
        mbPerSec: s.totalMs > 0 ? Math.round((s.bytesRead / (1024 * 1024) / (s.totalMs / 1000)) * 10) / 10 : null,
      },
      'log cleaned',
    );
    return { log: log.name, firstDirtyOffset: t.firstDirtyOffset, nextDirtyOffset: result.nextDirtyOffset, result };
  }

  private async removeLeftovers(log: PartitionLog): Promise<void> {
    const names = await fs.readdir(log.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.endsWith(CLEANED_SUFFIX)).map((n) => fs.rm(path.join(log.dir, n), { force: true })));
  }

  private writeCheckpoint(): Promise<void> {
    return this.checkpointFiles
      .write(CLEANER_CHECKPOINT, () =>
        [...this.checkpoints].map(([k, offset]) => {
          const [topic, partition] = k.split('\0') as [string, string];
          return [topic, Number(partition), offset] as const;
        }),
      )
      .catch((err: unknown) => this.logger.error({ err }, 'cleaner-offset-checkpoint write failed'));
  }
}
