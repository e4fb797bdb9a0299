/**
 * One cleaning of one log, run in a thread of the cleaner pool (clean-task.ts): reads the
 * segments the partition worker named, builds the offset map of their dirty section, and writes
 * the cleaned segments next to them as `<base>.log.cleaned`, `<base>.index.cleaned`,
 * `<base>.timeindex.cleaned` and, when one of its ABORT markers stays, `<base>.txnindex.cleaned`
 * (the entries of those markers, from the replaced segments' transaction indexes), fsynced. It changes no other file: the partition worker, which
 * owns the log, swaps them in (swap.ts), or deletes them when the log changed meanwhile.
 *
 * The segments are below the active one and below the high watermark, so nothing appends to
 * them while this reads; retention or a truncation may delete them, which fails this cleaning
 * (a file gone) or makes the swap refuse it. Reads and writes are synchronous: this thread
 * does nothing else, and each byte is charged to the I/O budget (throttle.ts) as it goes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_LENGTH_PREFIX, checkBatchAt, type BatchInfo } from '../../../../shared/record-batch.js';
import { OffsetIndex } from '../offset-index.js';
import { segmentFileName, type SegmentFileExt } from '../segment.js';
import { TimeIndex } from '../time-index.js';
import { encodeTxnEntries } from '../txn-index.js';
import type { AbortedRange, CleanedSegment, CleanResult, CleanStats, CleanTask, SegmentToClean } from '../../../../shared/clean-task.js';
import { cleanBatch, mapBatch, OffsetMap, TransactionTracker } from './compaction.js';
import { groupSegments } from './selection.js';
import type { Throttler } from './throttle.js';

const READ_CHUNK = 1024 * 1024;
const WRITE_CHUNK = 1024 * 1024;
export const CLEANED_SUFFIX = '.cleaned';






/** Paths of a segment's cleaned files. */
export function cleanedPath(dir: string, baseOffset: number, ext: SegmentFileExt): string {
  return path.join(dir, segmentFileName(baseOffset, ext) + CLEANED_SUFFIX);
}

/** Calls `fn` for each batch of the segment file, in order; stops early when it returns false. */
function forEachBatch(
  dir: string,
  seg: SegmentToClean,
  throttler: Throttler,
  onBytes: (n: number) => void,
  fn: (buf: Buffer, b: BatchInfo) => boolean,
): void {
  const fd = fs.openSync(path.join(dir, segmentFileName(seg.baseOffset, '.log')), 'r');
  try {
    let pos = 0;
    let want = READ_CHUNK;
    while (pos < seg.size) {
      const len = Math.min(want, seg.size - pos);
      const chunk = Buffer.allocUnsafe(len);
      const n = fs.readSync(fd, chunk, 0, len, pos);
      throttler.charge(n);
      onBytes(n);
      let p = 0;
      while (p < n) {
        const check = checkBatchAt(chunk, p, n);
        if (!check.ok) {
          if (!check.incomplete || pos + n >= seg.size) throw new Error(`segment ${seg.baseOffset} of ${dir}: ${check.errorMessage} at ${pos + p}`);
          break;
        }
        if (!fn(chunk, check.batch)) return;
        p += check.batch.length;
      }
      if (p === 0) {
        // A batch larger than the chunk: read it whole.
        want = n >= BATCH_LENGTH_PREFIX ? BATCH_LENGTH_PREFIX + chunk.readInt32BE(8) : READ_CHUNK;
        if (want <= n) throw new Error(`segment ${seg.baseOffset} of ${dir}: unreadable batch at ${pos}`);
      } else {
        want = READ_CHUNK;
      }
      pos += p;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A cleaned segment being written: its file, and the index bookkeeping LogSegment.trackBatch does. */
class CleanedWriter {
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  size = 0;
  private readonly index = new OffsetIndex();
  private readonly timeIndex = new TimeIndex();
  private bytesSinceIndexEntry = 0;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  lastBatchBaseOffset: number;

  constructor(
    private readonly dir: string,
    readonly baseOffset: number,
    private readonly indexIntervalBytes: number,
    private readonly throttler: Throttler,
  ) {
    this.fd = fs.openSync(cleanedPath(dir, baseOffset, '.log'), 'w');
    this.lastBatchBaseOffset = baseOffset;
  }

  add(bytes: Buffer, baseOffset: number, maxTimestamp: number, maxTimestampOffset: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = maxTimestampOffset;
    }
    this.lastBatchBaseOffset = baseOffset;
    if (this.bytesSinceIndexEntry > this.indexIntervalBytes) {
      const rel = baseOffset - this.baseOffset;
      this.index.append(rel, this.size);
      this.timeIndex.maybeAppend(this.maxTimestamp, rel);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += bytes.length;
    this.size += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= WRITE_CHUNK) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    fs.writeSync(this.fd, data, 0, data.length);
    this.throttler.charge(data.length);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes out the rest and the indexes (`aborted`: the entries of the ABORT markers kept), fsyncs every file. */
  finish(replaces: number[], aborted: readonly AbortedRange[]): CleanedSegment {
    this.flush();
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    // As a segment that stops being active: the last time-index entry holds its largest timestamp.
    if (this.maxTimestamp > this.timeIndex.lastTimestamp()) this.timeIndex.maybeAppend(this.maxTimestamp, this.lastBatchBaseOffset - this.baseOffset);
    const index = this.index.encode(0);
    const timeIndex = this.timeIndex.encode(0);
    const txnIndex = encodeTxnEntries(aborted);
    const files: Array<['.index' | '.timeindex' | '.txnindex', Buffer]> = [['.index', index], ['.timeindex', timeIndex]];
    if (txnIndex.length > 0) files.push(['.txnindex', txnIndex]);
    for (const [ext, data] of files) {
      const fd = fs.openSync(cleanedPath(this.dir, this.baseOffset, ext), 'w');
      try {
        fs.writeSync(fd, data);
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    return {
      baseOffset: this.baseOffset,
      replaces,
      size: this.size,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      lastBatchBaseOffset: this.lastBatchBaseOffset,
      index,
      timeIndex,
      txnIndex,
    };
  }

  abandon(): void {
    fs.closeSync(this.fd);
  }
}

export function cleanLog(task: CleanTask, throttler: Throttler, clock: () => number = Date.now): CleanResult {
  const started = clock();
  const stats: CleanStats = { bytesRead: 0, bytesWritten: 0, mapBytesRead: 0, recordsRead: 0, recordsWritten: 0, keys: 0, mapMs: 0, totalMs: 0 };
  const map = new OffsetMap(task.offsetMapBytes);

  // Pass 1: the offset map of the dirty section.
  const mapTxns = new TransactionTracker(task.aborted);
  const dirty = task.segments.filter((s) => s.nextOffset > task.firstDirtyOffset && s.baseOffset < task.firstUncleanableOffset);
  for (const seg of dirty) {
    let full = false;
    forEachBatch(task.dir, seg, throttler, (n) => (stats.mapBytesRead += n), (buf, b) => {
      full = !mapBatch(buf, b, map, mapTxns, task.firstDirtyOffset, task.maxBatchBytes);
      return !full;
    });
    if (full) break;
    map.updateLatestOffset(seg.nextOffset - 1);
  }
  if (map.latestOffset < task.firstDirtyOffset) {
    throw new Error(`log ${task.name}: the offset map (log.cleaner.dedupe.buffer.size ${task.offsetMapBytes}) holds no batch of the dirty section`);
  }
  const nextDirtyOffset = map.latestOffset + 1;
  stats.keys = map.size;
  stats.mapMs = clock() - started;

  // Pass 2: every segment below the mapped end, rewritten group by group.
  const toClean = task.segments.filter((s) => s.baseOffset < nextDirtyOffset);
  const txns = new TransactionTracker(task.aborted);
  const producers = new Map(task.producers);
  const cleaned: CleanedSegment[] = [];
  for (const [from, to] of groupSegments(toClean, task.firstUncleanableOffset, task.segmentBytes)) {
    const group = toClean.slice(from, to);
    const writer = new CleanedWriter(task.dir, group[0]!.baseOffset, task.indexIntervalBytes, throttler);
    try {
      const segmentEnd = group[group.length - 1]!.nextOffset;
      const ctx = { map, txns, now: task.now, deleteRetentionMs: task.deleteRetentionMs, producers, segmentEnd, maxBytes: task.maxBatchBytes };
      for (const seg of group) {
        forEachBatch(task.dir, seg, throttler, (n) => (stats.bytesRead += n), (buf, b) => {
          stats.recordsRead += b.recordCount;
          const out = cleanBatch(buf, b, ctx);
          if (out.kind === 'copy') {
            writer.add(buf.subarray(b.position, b.position + b.length), b.baseOffset, b.maxTimestamp, b.baseOffset + b.maxTimestampOffsetDelta);
            stats.recordsWritten += b.recordCount;
          } else if (out.kind === 'write') {
            writer.add(out.bytes, b.baseOffset, out.maxTimestamp, b.baseOffset + out.maxTimestampOffsetDelta);
            stats.recordsWritten += out.recordCount;
          }
          return true;
        });
      }
      cleaned.push(writer.finish(group.map((s) => s.baseOffset), txns.takeRetained()));
      stats.bytesWritten += writer.size;
    } catch (err) {
      writer.abandon();
      throw err;
    }
  }
  stats.totalMs = clock() - started;
  return { cleaned, nextDirtyOffset, stats };
}
