/**
 * Putting cleaned segments in place of the segments they replace, by the partition worker that
 * owns the log, and finishing or undoing an interrupted swap when a log is loaded. As in Kafka
 * (UnifiedLog.replaceSegments and the .swap handling of LogLoader), a segment's cleaned files go
 * through three names:
 *
 *   <base>.log.cleaned   written and fsynced by the cleaner pool (clean-log.ts)
 *   <base>.log.swap      renamed by the owner, the directory fsynced: the swap is decided
 *   <base>.log           after the replaced segments' files are deleted
 *
 * (the same for .index, .timeindex and .txnindex, renamed before the .log file each time; a
 * cleaned segment has a .txnindex only when it keeps an ABORT marker). A `.log.swap` file is the
 * commit point: found at load, the swap is finished (every segment whose base lies within the
 * swapped segment's offsets is deleted, the file renamed, its offset and time indexes rebuilt
 * by the recovery scan, which starts there; its transaction index, which no scan can rebuild
 * once the aborted batches are gone, is renamed into place). Without it, `.cleaned` and `.swap`
 * files are leftovers of a cleaning that did not get that far and are deleted: the old segments
 * are all still there.
 *
 * A cleaned segment covers exactly the offsets of the segments it replaces: it starts at the
 * first one's base and its last batch is theirs (the cleaner keeps the last batch of each
 * cleaned segment). So the swapped file's last offset tells which segments it replaces.
 *
 * In memory, the replaced segments leave the log's list and the new one takes their place in
 * one step, while the new segment is still named `.swap`; its file stays open (pinned) until it
 * has its final name and a second segment object with that name takes over. Reads in flight on
 * a replaced segment keep reading it through the descriptor they pinned (LogSegment.delete).
 */
import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../../shared/logger.js';
import { BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, readBaseOffset } from '../../../../shared/record-batch.js';
import { syncDir } from '../checkpoint-file.js';
import type { CachedFile, FileCache } from '../file-cache.js';
import { OffsetIndex } from '../offset-index.js';
import type { PartitionLog } from '../partition-log.js';
import { LogSegment, segmentFileName } from '../segment.js';
import { TimeIndex } from '../time-index.js';
import { decodeTxnEntries, TxnIndex } from '../txn-index.js';
import type { CleanedSegment, CleanResult } from '../../../../shared/clean-task.js';
import { CLEANED_SUFFIX, cleanedPath } from './clean-log.js';

export const SWAP_SUFFIX = '.swap';
const EXTS = ['.index', '.timeindex', '.txnindex', '.log'] as const;
type Ext = (typeof EXTS)[number];
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)$/;
const HEADER_CHUNK = 1024 * 1024;

function swapPath(dir: string, baseOffset: number, ext: Ext): string {
  return path.join(dir, segmentFileName(baseOffset, ext) + SWAP_SUFFIX);
}

/** The files a cleaned segment has, in the order they are renamed. */
function extsOf(c: CleanedSegment): Ext[] {
  return EXTS.filter((ext) => ext !== '.txnindex' || c.txnIndex.length > 0);
}

/**
 * The last offset in a swapped segment file, from its batch headers (the file was fsynced whole
 * before it got this name), or -1 when it holds no batch.
 */
async function lastOffsetOf(file: string): Promise<number> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let last = -1;
    let pos = 0;
    while (pos + BATCH_HEADER_SIZE <= size) {
      const { buffer, bytesRead } = await fh.read(Buffer.allocUnsafe(HEADER_CHUNK), 0, HEADER_CHUNK, pos);
      let p = 0;
      while (p + BATCH_HEADER_SIZE <= bytesRead) {
        const length = BATCH_LENGTH_PREFIX + buffer.readInt32BE(p + 8);
        if (length < BATCH_HEADER_SIZE || pos + p + length > size) return last;
        last = readBaseOffset(buffer, p) + buffer.readInt32BE(p + 23);
        p += length;
      }
      if (p === 0) return last;
      pos += p;
    }
    return last;
  } finally {
    await fh.close();
  }
}

/**
 * Finishes the swaps a crash interrupted in `dir` and deletes what unfinished cleanings left.
 * Returns the lowest base offset of a swap finished here (the recovery scan must start at or
 * below it), or undefined.
 */
export async function recoverSwaps(dir: string, logger: Logger): Promise<number | undefined> {
  const names = readdirSync(dir);
  const swappedLogs = names.filter((n) => n.endsWith(`.log${SWAP_SUFFIX}`)).map((n) => Number(n.slice(0, 20)));
  const leftovers = names.filter((n) => n.endsWith(CLEANED_SUFFIX) || (n.endsWith(SWAP_SUFFIX) && !swappedLogs.includes(Number(n.slice(0, 20)))));
  await Promise.all(leftovers.map((n) => fs.rm(path.join(dir, n), { force: true })));
  let lowest: number | undefined;
  for (const base of swappedLogs.sort((a, b) => a - b)) {
    const file = swapPath(dir, base, '.log');
    const last = await lastOffsetOf(file);
    const has = (ext: Ext): boolean => names.includes(segmentFileName(base, ext) + SWAP_SUFFIX);
    // The old segments' files were all deleted before the first .swap got its final name (the
    // .index's): from then on a <base>.txnindex is the cleaned segment's.
    const cleanedTxnIndexInPlace = !has('.index') && !has('.txnindex');
    const replaced = names.filter((n) => {
      const m = SEGMENT_FILE.exec(n);
      if (cleanedTxnIndexInPlace && n === segmentFileName(base, '.txnindex')) return false;
      return m !== null && Number(m[1]) >= base && Number(m[1]) <= Math.max(base, last);
    });
    await Promise.all(replaced.map((n) => fs.rm(path.join(dir, n), { force: true })));
    await Promise.all((['.index', '.timeindex'] as const).map((ext) => fs.rm(swapPath(dir, base, ext), { force: true })));
    if (has('.txnindex')) await fs.rename(swapPath(dir, base, '.txnindex'), path.join(dir, segmentFileName(base, '.txnindex')));
    await fs.rename(file, path.join(dir, segmentFileName(base, '.log')));
    logger.warn({ dir: path.basename(dir), segment: base, replaced: replaced.filter((n) => n.endsWith('.log')).length }, 'finished the swap of a cleaned segment interrupted by a crash');
    lowest = lowest === undefined ? base : Math.min(lowest, base);
  }
  if (leftovers.length > 0 || swappedLogs.length > 0) await syncDir(dir);
  return lowest;
}

function segmentFrom(dir: string, files: FileCache, c: CleanedSegment, name: (ext: Ext) => string, index: OffsetIndex, timeIndex: TimeIndex): LogSegment {
  const file = (ext: Ext): CachedFile => files.file(name(ext));
  const seg = new LogSegment(dir, c.baseOffset, files, file('.log'), file('.index'), file('.timeindex'), file('.txnindex'), c.size, index, timeIndex);
  seg.txnIndex = new TxnIndex(decodeTxnEntries(c.txnIndex, c.baseOffset), c.txnIndex.length);
  seg.maxTimestamp = c.maxTimestamp;
  seg.offsetOfMaxTimestamp = c.offsetOfMaxTimestamp;
  seg.lastBatchBaseOffset = c.lastBatchBaseOffset;
  return seg;
}

/**
 * Swaps the cleaned segments of `result` into `log`, in place of the segments `sources` (the
 * log's segments when the cleaning was asked for). Refused, with the cleaned files deleted,
 * when any of those segments left the log meanwhile (retention) or is no longer the same
 * (`unchanged` false: a truncation, or the log deleted). Runs alone among the log's
 * segment-list changes. Returns whether the swap happened.
 */
export function swapCleaned(log: PartitionLog, files: FileCache, sources: readonly LogSegment[], result: CleanResult, unchanged: () => boolean): Promise<boolean> {
  return log.withSegmentsLocked(async () => {
    const byBase = new Map(sources.map((s) => [s.baseOffset, s]));
    const plans: Array<{ cleaned: CleanedSegment; old: LogSegment[] }> = [];
    for (const c of result.cleaned) {
      const old = c.replaces.map((b) => byBase.get(b));
      const at = old[0] ? log.segments.indexOf(old[0]) : -1;
      const inPlace = at >= 0 && old.every((s, i) => s !== undefined && log.segments[at + i] === s) && at + old.length < log.segments.length;
      if (!inPlace || log.offline || !unchanged()) {
        await removeCleaned(log.dir, result);
        return false;
      }
      plans.push({ cleaned: c, old: old as LogSegment[] });
    }
    for (const { cleaned, old } of plans) await swapOne(log, files, cleaned, old);
    return true;
  });
}

async function removeCleaned(dir: string, result: CleanResult): Promise<void> {
  await Promise.all(result.cleaned.flatMap((c) => extsOf(c).map((ext) => fs.rm(cleanedPath(dir, c.baseOffset, ext), { force: true }))));
}

async function swapOne(log: PartitionLog, files: FileCache, c: CleanedSegment, old: LogSegment[]): Promise<void> {
  const dir = log.dir;
  const base = c.baseOffset;
  const exts = extsOf(c);
  for (const ext of exts) await fs.rename(cleanedPath(dir, base, ext), swapPath(dir, base, ext));
  await files.borrow(1, () => syncDir(dir));
  const at = log.segments.indexOf(old[0]!);
  const nextOffset = log.segments[at + old.length]!.baseOffset;
  const index = OffsetIndex.decode(Buffer.from(c.index), c.size);
  const timeIndex = TimeIndex.decode(Buffer.from(c.timeIndex), nextOffset - base);
  const swapping = segmentFrom(dir, files, c, (ext) => swapPath(dir, base, ext), index, timeIndex);
  swapping.acquire();
  try {
    await files.holdForPinned(swapping.logFile);
    log.segments.splice(log.segments.indexOf(old[0]!), old.length, swapping);
    await Promise.all(old.map((s) => s.delete()));
    for (const ext of exts) await fs.rename(swapPath(dir, base, ext), path.join(dir, segmentFileName(base, ext)));
    await files.borrow(1, () => syncDir(dir));
    const final = segmentFrom(dir, files, c, (ext) => path.join(dir, segmentFileName(base, ext)), index, timeIndex);
    log.segments[log.segments.indexOf(swapping)] = final;
  } finally {
    swapping.release();
    for (const f of [swapping.logFile, swapping.indexFile, swapping.timeIndexFile, swapping.txnIndexFile]) files.discard(f);
  }
}
