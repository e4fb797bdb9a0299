/**
 * Reopening a partition log at start.
 *
 * Segments below the recovery point (everything fsynced, indexes included, when the
 * checkpoint was written) are trusted: their indexes are loaded as they are and their max
 * timestamp comes from the last time-index entry. From the recovery point on, batches are
 * checked one by one (length, magic, CRC32C, record framing) and the log is cut at the first
 * byte that is not part of a whole valid batch; index entries past the last trusted one are
 * rebuilt from the batches. After a clean shutdown only the bytes after the active segment's
 * last index entry are checked, which also yields the log end offset.
 *
 * The producer state is then rebuilt from the newest producer snapshot at or below the log
 * end offset and the batch headers after it (producer-state-recovery.ts). The transaction
 * indexes (txn-index.ts) were fsynced before the recovery point passed their entries: after a
 * crash the entries of markers from the recovery point on are dropped and rebuilt by that
 * replay, which then starts from a snapshot at or below the recovery point. After a clean
 * shutdown every entry is trusted.
 *
 * The scan runs on the calling thread rather than in a piscina pool: it is CPU-bound, the
 * partition workers already run one scan per core, and it reads only what follows the
 * recovery point (one segment tail per log in the normal case); the numbers are in the
 * LogManager header.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkBatchAt } from '../../../shared/record-batch.js';
import type { Logger } from '../../../shared/logger.js';
import type { LogConfig } from '../../../shared/log-config.js';
import type { FileCache } from './file-cache.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex } from './offset-index.js';
import { PartitionLog, type LogHooks, type RecoveredState } from './partition-log.js';
import { loadProducerState } from './producer-state-recovery.js';
import { ProducerStateManager } from './producer-state.js';
import { LogSegment, segmentFileName } from './segment.js';
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from './time-index.js';
import { decodeTxnEntries, TxnIndex } from './txn-index.js';
import { recoverSwaps } from './cleaner/swap.js';

const SCAN_CHUNK = 8 * 1024 * 1024;

interface RecoverOptions {
  dir: string;
  config: LogConfig;
  files: FileCache;
  logger: Logger;
  /** From recovery-point-offset-checkpoint; 0 when unknown (everything is checked). */
  recoveryPoint: number;
  /** From log-start-offset-checkpoint; 0 when unknown. */
  logStartOffset: number;
  cleanShutdown: boolean;
  /** The log's cache when it is reopened; loaded from leader-epoch-checkpoint otherwise. */
  epochs?: LeaderEpochCache;
  /** producer.id.expiration.ms of the log being reopened. */
  producerExpirationMs?: number;
}

export interface LoadOptions extends RecoverOptions {
  topic: string;
  partition: number;
  hooks: LogHooks;
  syncEachAppend: boolean;
}

interface RecoveredLog extends RecoveredState {
  leaderEpochCache: LeaderEpochCache;
  /** The recovery point the scan went by (below the given one after a swap was finished). */
  recoveryPoint: number;
}

export interface ScanOutcome {
  /** First offset after the last valid batch, or undefined when no batch was seen. */
  nextOffset: number | undefined;
  /** Bytes cut off the end of the segment. */
  truncatedBytes: number;
  /** The bytes cut were all zeros: the zeros written ahead of the data (segment.ts), nothing lost. */
  zeroTail: boolean;
  epochs: Array<{ epoch: number; startOffset: number }>;
}

async function allZeros(seg: LogSegment, from: number, to: number): Promise<boolean> {
  for (let pos = from; pos < to; ) {
    const chunk = await seg.readAt(Math.min(SCAN_CHUNK, to - pos), pos);
    if (chunk.length === 0) return true;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
    pos += chunk.length;
  }
  return true;
}

/**
 * Checks the batches of `seg` from `position` (a batch boundary holding offset
 * `startOffset`) to the end of the file, indexing each, and cuts the file at the first
 * invalid byte. Offsets must grow (the base offset is outside the CRC).
 */
export async function scanSegment(seg: LogSegment, position: number, startOffset: number, config: LogConfig): Promise<ScanOutcome> {
  const fileSize = seg.size;
  const outcome: ScanOutcome = { nextOffset: undefined, truncatedBytes: 0, zeroTail: false, epochs: [] };
  seg.bytesSinceLastIndexEntry = position - seg.index.lastPosition();
  let pos = position;
  let chunkLen = SCAN_CHUNK;
  while (pos < fileSize) {
    const chunk = await seg.readAt(Math.min(chunkLen, fileSize - pos), pos);
    let p = 0;
    let stop = chunk.length === 0;
    while (p < chunk.length) {
      const check = checkBatchAt(chunk, p, chunk.length);
      if (check.ok && check.batch.baseOffset < (outcome.nextOffset ?? startOffset)) {
        stop = true;
        break;
      }
      if (!check.ok) {
        const fileGoesOn = pos + chunk.length < fileSize;
        if (!check.incomplete || !fileGoesOn) stop = true;
        else if (p === 0) {
          // A batch larger than the chunk: read it whole if the file holds it.
          const declared = chunk.length >= 12 ? 12 + chunk.readInt32BE(8) : 0;
          if (declared > chunk.length && pos + declared <= fileSize) chunkLen = declared;
          else stop = true;
        }
        break;
      }
      const b = check.batch;
      seg.trackBatch(b, b.baseOffset, pos + p, config.indexIntervalBytes);
      outcome.nextOffset = b.baseOffset + b.lastOffsetDelta + 1;
      outcome.epochs.push({ epoch: b.partitionLeaderEpoch, startOffset: b.baseOffset });
      p += b.length;
    }
    pos += p;
    if (stop) break;
    if (p > 0) chunkLen = SCAN_CHUNK;
  }
  if (pos < fileSize) {
    outcome.truncatedBytes = fileSize - pos;
    outcome.zeroTail = await allZeros(seg, pos, fileSize);
    await seg.truncateTo(pos, outcome.nextOffset ?? Number.MAX_SAFE_INTEGER);
  }
  return outcome;
}

/** Synchronous, as checkpoint reads are (checkpoint-file.ts): a few bytes per file, every partition at start. */
function readIndexFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
}

/**
 * Loads the indexes of a segment as trusted, keeping entries below `maxPosition` /
 * `maxRelOffset`. Returns the files' sizes.
 */
function loadIndexes(seg: LogSegment, maxPosition: number, maxRelOffset: number): IndexFileSizes {
  const idx = readIndexFile(seg.indexFile.path);
  const tix = readIndexFile(seg.timeIndexFile.path);
  seg.index = OffsetIndex.decode(idx, maxPosition);
  seg.timeIndex = TimeIndex.decode(tix, maxRelOffset);
  seg.maxTimestamp = seg.timeIndex.lastTimestamp();
  seg.offsetOfMaxTimestamp = seg.timeIndex.entries ? seg.baseOffset + seg.timeIndex.lastOffset() : -1;
  seg.lastBatchBaseOffset = seg.timeIndex.entries ? seg.baseOffset + seg.timeIndex.lastOffset() : seg.baseOffset;
  return { index: idx.length, timeIndex: tix.length };
}

interface IndexFileSizes {
  index: number;
  timeIndex: number;
}

/**
 * Makes the index files hold exactly the entries in memory (later entries land right after).
 * Files already that size are left alone, and a missing file is created by its first write.
 */
async function trimIndexFiles(seg: LogSegment, sizes: IndexFileSizes | undefined): Promise<void> {
  const trim = async (file: string, size: number, current: number | undefined): Promise<void> => {
    if (current === size) return;
    await fs.truncate(file, size).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  };
  await Promise.all([
    trim(seg.indexFile.path, seg.index.entries * OFFSET_INDEX_ENTRY_SIZE, sizes?.index),
    trim(seg.timeIndexFile.path, seg.timeIndex.entries * TIME_INDEX_ENTRY_SIZE, sizes?.timeIndex),
  ]);
  seg.index.persisted = seg.index.entries;
  seg.timeIndex.persisted = seg.timeIndex.entries;
}

/** Opens the log in `opts.dir`, recovering its tail; creates an empty one when the dir has no segment. */
export async function loadLog(opts: LoadOptions): Promise<PartitionLog> {
  const { dir, config, files } = opts;
  const names = readdirSync(dir);
  if (!names.some((n) => /^\d{20}\.log$/.test(n) || n.endsWith('.snapshot'))) {
    // A new log: one empty segment, nothing to recover.
    const epochs = LeaderEpochCache.load(dir, (err) => opts.logger.error({ err, dir }, 'leader-epoch-checkpoint write failed'), files);
    const start = Math.max(0, opts.logStartOffset);
    const segment = LogSegment.createSync(dir, start, files, true);
    const empty = { logStartOffset: start, logEndOffset: start, durableEndOffset: start, syncEachAppend: opts.syncEachAppend };
    return new PartitionLog(opts.topic, opts.partition, dir, config, [segment], epochs, files, opts.hooks, empty, new ProducerStateManager());
  }
  const r = await recoverLog(opts);
  const log = new PartitionLog(opts.topic, opts.partition, dir, config, r.segments, r.leaderEpochCache, files, opts.hooks, {
    logStartOffset: r.logStartOffset,
    logEndOffset: r.logEndOffset,
    durableEndOffset: r.logEndOffset,
    syncEachAppend: opts.syncEachAppend,
  }, r.producers);
  log.recoveryPoint = Math.min(r.recoveryPoint, r.logEndOffset);
  return log;
}

/**
 * Brings back `log`, which a disk error took offline, once its disk takes writes again. First
 * the bytes the log never reported written are cut (a write that failed half-way, the appends
 * behind it: every one of them was answered with an error, none was readable), then the tail
 * from the log's recovery point is checked as after a crash: cut at the first bad byte,
 * indexes rebuilt where they disagree, producer state restored. Can run again after a failed
 * attempt: it starts from the files, not from what the log holds in memory.
 */
export async function reopenOfflineLog(log: PartitionLog, opts: { files: FileCache; logger: Logger }): Promise<void> {
  await log.settled();
  await Promise.all(log.segments.map((s) => s.close()));
  for (const seg of log.segments) {
    const file = path.join(log.dir, segmentFileName(seg.baseOffset, '.log'));
    const size = await fs.stat(file).then((st) => st.size, () => -1);
    if (size > seg.writtenSize) {
      await fs.truncate(file, seg.writtenSize);
      // The appends that failed were answered with errors already; the rest is zeros written ahead.
      opts.logger.info({ log: log.name, segment: seg.baseOffset, bytes: size - seg.writtenSize }, 'cut the bytes past the written end');
    }
  }
  const recovered = await recoverLog({
    dir: log.dir,
    config: log.config,
    files: opts.files,
    logger: opts.logger,
    recoveryPoint: log.recoveryPoint,
    logStartOffset: log.logStartOffset,
    cleanShutdown: false,
    epochs: log.leaderEpochCache,
    producerExpirationMs: log.producers.expirationMs,
  });
  log.resume(recovered);
  log.recoveryPoint = Math.min(log.recoveryPoint, recovered.recoveryPoint);
  // Checkpoint writes may have failed while the disk did.
  log.leaderEpochCache.persist();
}

async function recoverLog(given: RecoverOptions): Promise<RecoveredLog> {
  const { dir, files } = given;
  // A swap of cleaned segments finished here leaves the swapped segment's indexes to rebuild.
  const swapped = await recoverSwaps(dir, given.logger);
  const opts = swapped === undefined ? given : { ...given, cleanShutdown: false, recoveryPoint: Math.min(given.recoveryPoint, swapped) };
  const epochs = opts.epochs ?? LeaderEpochCache.load(dir, (err) => opts.logger.error({ err, dir }, 'leader-epoch-checkpoint write failed'), files);
  const names = readdirSync(dir);
  const baseOf = (suffix: string): number[] => names.filter((n) => n.length === 20 + suffix.length && n.endsWith(suffix) && /^\d{20}/.test(n)).map((n) => Number(n.slice(0, 20)));
  const bases = baseOf('.log').sort((a, b) => a - b);
  const txnIndexed = new Set(baseOf('.txnindex'));
  // A transaction index whose segment is gone (a crash while deleting it) would be taken for the index of a segment created there later.
  const orphans = [...txnIndexed].filter((b) => !bases.includes(b));
  await Promise.all(orphans.map((b) => fs.rm(path.join(dir, segmentFileName(b, '.txnindex')), { force: true })));
  const segments = bases.length
    ? bases.map((b) => LogSegment.openSync(dir, b, files))
    : [LogSegment.createSync(dir, Math.max(0, opts.logStartOffset), files)];
  // A swap finished above lowers the recovery point for the offset and time indexes only: the swapped transaction index was fsynced whole.
  const txnIndexedBelow = given.cleanShutdown ? Number.MAX_SAFE_INTEGER : given.recoveryPoint;
  try {
    for (const seg of segments) if (txnIndexed.has(seg.baseOffset)) loadTxnIndex(seg, txnIndexedBelow);
    return await recoverSegments(opts, epochs, segments, txnIndexedBelow);
  } catch (err) {
    // A reopen that fails is tried again later: it must not leave files open behind.
    await Promise.all(segments.map((s) => s.close()));
    throw err;
  }
}

/** Loads the transaction index of `seg`, without the entries of markers from `trustedBelow` on. */
function loadTxnIndex(seg: LogSegment, trustedBelow: number): void {
  const bytes = readIndexFile(seg.txnIndexFile.path);
  seg.txnIndex = new TxnIndex(decodeTxnEntries(bytes, seg.baseOffset), bytes.length);
  seg.txnIndex.truncateTo(trustedBelow);
}

/** The tail check of recoverLog, on the segments it opened. */
async function recoverSegments(opts: RecoverOptions, epochs: LeaderEpochCache, segments: LogSegment[], txnIndexedBelow: number): Promise<RecoveredLog> {
  const { dir, config } = opts;
  const last = segments.length - 1;
  let firstScanned = last;
  let scanFrom = 0;
  if (!opts.cleanShutdown) {
    firstScanned = 0;
    while (firstScanned < last && segments[firstScanned + 1]!.baseOffset <= opts.recoveryPoint) firstScanned++;
  }
  let scanStartOffset = segments[firstScanned]!.baseOffset;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const nextBase = segments[i + 1]?.baseOffset ?? Number.MAX_SAFE_INTEGER;
    let sizes: IndexFileSizes | undefined;
    if (i < firstScanned) {
      sizes = loadIndexes(seg, seg.size, nextBase - seg.baseOffset);
    } else if (i === firstScanned) {
      const trustedRel = opts.cleanShutdown ? nextBase - seg.baseOffset : Math.max(0, opts.recoveryPoint - seg.baseOffset);
      sizes = loadIndexes(seg, seg.size, trustedRel);
      scanFrom = seg.index.lookup(trustedRel);
      seg.index.truncateToPosition(scanFrom + 1);
      scanStartOffset = seg.baseOffset + (seg.index.offsetAt(scanFrom) ?? 0);
      seg.timeIndex.truncateToOffset(scanStartOffset - seg.baseOffset);
      seg.maxTimestamp = seg.timeIndex.lastTimestamp();
      seg.offsetOfMaxTimestamp = seg.timeIndex.entries ? seg.baseOffset + seg.timeIndex.lastOffset() : -1;
    } else {
      seg.index = new OffsetIndex();
      seg.timeIndex = new TimeIndex();
    }
    await trimIndexFiles(seg, sizes);
  }

  let logEndOffset = scanStartOffset;
  let cutAt = segments.length;
  for (let i = firstScanned; i < segments.length; i++) {
    const seg = segments[i]!;
    if (i > firstScanned && seg.baseOffset !== logEndOffset) {
      // A roll creates the next segment while writes to the previous one may still be in
      // flight; a crash then leaves a segment that starts past the recovered end. Offsets
      // never skip, so it and every later segment go.
      opts.logger.warn({ log: path.basename(dir), segment: seg.baseOffset, logEndOffset }, 'dropping segments that start past the recovered log end');
      cutAt = i;
      break;
    }
    const outcome = await scanSegment(seg, i === firstScanned ? scanFrom : 0, i === firstScanned ? scanStartOffset : seg.baseOffset, config);
    for (const e of outcome.epochs) if (e.epoch > epochs.latestEpoch()) epochs.assign(e.epoch, e.startOffset);
    logEndOffset = outcome.nextOffset ?? (i === firstScanned ? scanStartOffset : seg.baseOffset);
    if (outcome.zeroTail) {
      // Whole batches, then only the zeros written ahead: the next segment, if any, is checked
      // to start where this one ends (above).
      opts.logger.debug({ log: path.basename(dir), segment: seg.baseOffset, bytes: outcome.truncatedBytes }, 'cut the zeros written ahead of the log end');
    } else if (outcome.truncatedBytes > 0) {
      opts.logger.warn({ log: path.basename(dir), segment: seg.baseOffset, bytes: outcome.truncatedBytes }, 'cut an invalid log tail during recovery');
      cutAt = i + 1;
      break;
    }
  }
  const dropped = segments.splice(cutAt);
  await Promise.all(dropped.map((s) => s.delete()));
  const active = segments[segments.length - 1]!;
  if (active.size === 0) logEndOffset = active.baseOffset;
  await fixRollStart(active);
  // After a crash the bytes just recovered may be in the page cache only: sync them before
  // they count as durable. After a clean shutdown only a cut tail (a truncation) needs it.
  const scanned = segments.slice(firstScanned);
  if (!opts.cleanShutdown) for (const s of scanned) s.assumeUnsynced();
  await Promise.all(scanned.map((s) => s.syncLog()));

  const logStartOffset = Math.min(Math.max(opts.logStartOffset, segments[0]!.baseOffset), logEndOffset);
  epochs.truncateFromEnd(logEndOffset);
  epochs.truncateFromStart(logStartOffset);
  const producers = await loadProducerState({
    dir,
    segments,
    logStartOffset,
    logEndOffset,
    nowMs: Date.now(),
    expirationMs: opts.producerExpirationMs,
    txnIndexedBelow,
  });
  if (producers.replayedBatches > 0 || producers.indexedTxns > 0) {
    opts.logger.info(
      {
        log: path.basename(dir),
        fromSnapshot: producers.snapshotOffset ?? null,
        batches: producers.replayedBatches,
        producers: producers.state.size,
        abortedTxnsIndexed: producers.indexedTxns,
      },
      'producer state rebuilt from the log',
    );
  }
  // Rebuilt entries are durable before a checkpoint can vouch for them; so are those a snapshot from before the transaction indexes listed.
  await Promise.all(segments.map((s) => s.syncTxnIndex()));
  return { segments, leaderEpochCache: epochs, logStartOffset, logEndOffset, producers: producers.state, recoveryPoint: opts.recoveryPoint };
}

/** log.roll.ms counts from the first batch of the active segment, which a tail scan may not have seen. */
async function fixRollStart(seg: LogSegment): Promise<void> {
  if (seg.size === 0) {
    seg.rollStartMs = -1;
    return;
  }
  const first = await seg.scanFrom(0, () => true);
  if (first) seg.rollStartMs = first.maxTimestamp;
}
