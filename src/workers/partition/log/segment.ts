/**
 * One segment of a partition log: `<baseOffset>.log` (record batches back to back, exactly as
 * appended), `<baseOffset>.index`, `<baseOffset>.timeindex` and, once the segment holds an
 * ABORT marker, `<baseOffset>.txnindex` (see offset-index.ts, time-index.ts and
 * txn-index.ts). File names are the base offset in 20 zero-padded digits, as in Kafka.
 *
 * The descriptors come from the worker's file cache (file-cache.ts), opened when an operation
 * needs them. The indexes live in memory; their files are only written (new entries appended
 * at roll, checkpoint and close) and read once at start, so they hold a descriptor only while
 * written: after each index sync they are closed.
 *
 * The active segment's file is kept longer than its data by zeros written ahead
 * (`log.zero.ahead.bytes`): an fdatasync of a file whose size changed must commit the file
 * system's journal too (ext4, XFS), one of the slowest steps of a round; writes into blocks
 * that already exist flush data only. Measured on the 2-core VM's ext4 (6 files, 4 KiB write +
 * fdatasync each, in parallel): p50 0.68 ms / p99 6.3 ms appending, 0.37 / 4.0 ms into zeros
 * written ahead. The zeros cost one extra write of each byte of log, so a segment gets them
 * only once it holds `ZERO_AHEAD_FROM` bytes, and never more than it holds: a quiet partition
 * (or 25,000 of them) pays nothing, a busy one up to the setting. A segment that stops
 * being active is cut back to its data (`trimTail`) before the next segment's data is synced,
 * and a recovery cuts a zero tail like any other invalid tail.
 *
 * Not thread-safe, and not safe against concurrent appends either: the owning PartitionLog
 * is the only writer. Reads may run while writes are in flight; they never look past
 * `writtenSize`. Users pin the log file (`acquire`/`release`) so that its descriptor stays
 * open while a read or write uses it, even after retention deletes the segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_HEADER_SIZE, readBaseOffset, type BatchInfo } from '../../../shared/record-batch.js';
import type { CachedFile, FileCache } from './file-cache.js';
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex } from './offset-index.js';
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from './time-index.js';
import { TXN_INDEX_ENTRY_SIZE, TxnIndex } from './txn-index.js';

/** Zeros written past the data in one write (and re-used: never written to). */
const ZEROS = Buffer.alloc(256 * 1024);

/** Segment size from which zeros are written ahead of the data. */
export const ZERO_AHEAD_FROM = 64 * 1024;

/** Bytes read per step while walking batch headers from an index position. */
const HEADER_SCAN_CHUNK = 64 * 1024;

export type SegmentFileExt = '.log' | '.index' | '.timeindex' | '.txnindex';

export function segmentFileName(baseOffset: number, ext: SegmentFileExt): string {
  return String(baseOffset).padStart(20, '0') + ext;
}

/** The header fields reads need, from bytes already in memory. */
export interface BatchHeader {
  position: number;
  length: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  attributes: number;
}

function headerAt(buf: Buffer, p: number, filePosition: number): BatchHeader {
  const baseOffset = readBaseOffset(buf, p);
  return {
    position: filePosition,
    length: 12 + buf.readInt32BE(p + 8),
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(p + 23),
    maxTimestamp: buf.readInt32BE(p + 35) * 0x1_0000_0000 + buf.readUInt32BE(p + 39),
    attributes: buf.readInt16BE(p + 21),
  };
}

/** Headers in `chunk` (read at file position `filePos`) up to the first match or the chunk end. */
function walkHeaders(chunk: Buffer, filePos: number, match: (h: BatchHeader) => boolean): { hit?: BatchHeader; consumed: number } {
  let p = 0;
  while (p + BATCH_HEADER_SIZE <= chunk.length) {
    const h = headerAt(chunk, p, filePos + p);
    if (match(h)) return { hit: h, consumed: p };
    p += h.length;
  }
  return { consumed: p };
}

export class LogSegment {
  /** Bytes assigned to this segment, including appends not yet written. */
  size: number;
  /** Bytes known to be in the file (readable). */
  writtenSize: number;
  bytesSinceLastIndexEntry = 0;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** maxTimestamp of the first batch: log.roll.ms counts from it, as in Kafka. */
  rollStartMs = -1;
  /** Wall-clock time the segment was opened or created. */
  readonly createdMs = Date.now();
  /** First offset of the last batch (where the final time-index entry points). */
  lastBatchBaseOffset: number;
  /** Bytes the log file holds: its data, then zeros written ahead of it. */
  private fileSize: number;
  private deleted = false;
  private indexWrites: Promise<void> = Promise.resolve();
  /** The aborted transactions whose markers are in this segment; loaded by recovery. */
  txnIndex = new TxnIndex();
  /** The transaction index's writes, one at a time: a truncation rewrites the file's tail. */
  private txnIndexWrites: Promise<void> = Promise.resolve();
  /** The transaction index file was created since the dir was last synced. */
  private txnIndexNamed = true;
  /**
   * The segment's files are named in its dir for good. A new segment's are not until the dir is
   * synced: fdatasync of a file makes its bytes durable, not its name (POSIX), so after a power
   * loss the file, and every record fsynced into it, may be gone.
   */
  private named = true;

  constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly files: FileCache,
    readonly logFile: CachedFile,
    readonly indexFile: CachedFile,
    readonly timeIndexFile: CachedFile,
    readonly txnIndexFile: CachedFile,
    size: number,
    public index: OffsetIndex,
    public timeIndex: TimeIndex,
  ) {
    this.size = size;
    this.writtenSize = size;
    this.fileSize = size;
    this.lastBatchBaseOffset = baseOffset;
  }

  /** An existing segment; nothing is opened until used. */
  static openSync(dir: string, baseOffset: number, files: FileCache): LogSegment {
    const file = (ext: SegmentFileExt): CachedFile => files.file(path.join(dir, segmentFileName(baseOffset, ext)));
    const log = file('.log');
    const size = fs.statSync(log.path).size;
    return new LogSegment(dir, baseOffset, files, log, file('.index'), file('.timeindex'), file('.txnindex'), size, new OffsetIndex(), new TimeIndex());
  }

  /**
   * Creates an empty segment, its log file left open for the appends to come. Synchronous: it
   * happens once per roll, between two appends. `newLog`: the first segment of a new log, whose
   * files take no descriptor from open ones when the process is out (see file-cache.ts).
   */
  static createSync(dir: string, baseOffset: number, files: FileCache, newLog = false): LogSegment {
    const create = (ext: '.log' | '.index' | '.timeindex'): CachedFile =>
      files.createSync(path.join(dir, segmentFileName(baseOffset, ext)), ext === '.log', !newLog);
    const log = create('.log');
    // The transaction index file comes with the segment's first ABORT marker.
    const txnIndexFile = files.file(path.join(dir, segmentFileName(baseOffset, '.txnindex')));
    const segment = new LogSegment(dir, baseOffset, files, log, create('.index'), create('.timeindex'), txnIndexFile, 0, new OffsetIndex(), new TimeIndex());
    segment.named = false;
    return segment;
  }

  /**
   * Writes `buffers` at `position` of the log file. `maxZeroAhead` > 0 (the active segment):
   * zeros are kept written ahead of the data, as many as the segment holds up to that; when
   * the data would come within half of them of the file's end, the file grows by zeros in a
   * second write beside this one.
   */
  write(buffers: Buffer[], position: number, maxZeroAhead = 0): Promise<void> {
    const data = this.files.writev(this.logFile, buffers, position);
    let end = position;
    for (const b of buffers) end += b.length;
    const zeroAhead = end < ZERO_AHEAD_FROM ? 0 : Math.min(maxZeroAhead, end);
    if (zeroAhead <= 0 || end + zeroAhead / 2 <= this.fileSize) {
      this.fileSize = Math.max(this.fileSize, end);
      return data;
    }
    const from = Math.max(end, this.fileSize);
    const to = end + zeroAhead;
    const zeros: Buffer[] = [];
    for (let at = from; at < to; at += ZEROS.length) zeros.push(ZEROS.subarray(0, Math.min(ZEROS.length, to - at)));
    this.fileSize = to;
    return Promise.all([data, this.files.writev(this.logFile, zeros, from)]).then(() => undefined);
  }

  /** Whether zeros written ahead follow the data in the file. */
  get hasZeroTail(): boolean {
    return this.fileSize > this.size;
  }

  /**
   * Cuts the zeros written ahead, once the segment is no longer active and its writes are
   * done. The cut is a change of size: the next fdatasync of the file makes it durable, and it
   * must be in the same round as the next segment's first data (a recovery keeps the segments
   * after one only if that one ends in whole batches).
   */
  async trimTail(): Promise<void> {
    // A segment a cleaning swapped out (or a deleted log's) before its cut has nothing to cut.
    if (!this.deleted) await this.cutZeros();
  }

  private async cutZeros(): Promise<void> {
    if (this.fileSize <= this.size) return;
    await this.files.truncate(this.logFile, this.size);
    this.fileSize = this.size;
  }

  /**
   * Makes the log file's writes so far durable (free when it holds none unsynced); the first
   * one of a new segment also syncs its dir, so that the file is found after a power loss.
   */
  syncLog(): Promise<void> {
    const data = this.files.fdatasync(this.logFile);
    if (this.named) return data;
    const name = this.files.syncDir(this.dir).then(() => {
      this.named = true;
    });
    return Promise.all([data, name]).then(() => undefined);
  }

  /** The log file may hold bytes no fdatasync covered (a previous process wrote them). */
  assumeUnsynced(): void {
    this.files.assumeUnsynced(this.logFile);
  }

  /** Reads up to `length` bytes of the log file at `position`. */
  readAt(length: number, position: number): Promise<Buffer> {
    return this.files.read(this.logFile, length, position);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Index bookkeeping for a batch placed at `position` (called when the batch is assigned). */
  trackBatch(batch: BatchInfo, baseOffset: number, position: number, indexIntervalBytes: number): void {
    if (this.rollStartMs < 0) this.rollStartMs = batch.maxTimestamp;
    this.lastBatchBaseOffset = baseOffset;
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset + batch.maxTimestampOffsetDelta;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      const rel = baseOffset - this.baseOffset;
      this.index.append(rel, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, rel);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.length;
  }

  /**
   * Adds the segment's largest timestamp to the time index when it stops being active, so a
   * reopen knows the segment's max timestamp without reading it.
   */
  sealTimeIndex(lastBatchBaseOffset: number): void {
    if (this.maxTimestamp > this.timeIndex.lastTimestamp()) {
      this.timeIndex.maybeAppend(this.maxTimestamp, lastBatchBaseOffset - this.baseOffset);
    }
  }

  /** Writes index entries not yet in their files. Entries land at fixed positions. */
  persistIndexes(): Promise<void> {
    const idx = this.index;
    const tix = this.timeIndex;
    if (idx.persisted === idx.entries && tix.persisted === tix.entries && !this.txnIndex.dirty) return this.indexWrites;
    const writes: Promise<void>[] = [];
    if (this.txnIndex.dirty) writes.push(this.persistTxnIndex());
    if (idx.persisted < idx.entries) {
      writes.push(this.files.writev(this.indexFile, [idx.encode(idx.persisted)], idx.persisted * OFFSET_INDEX_ENTRY_SIZE));
      idx.persisted = idx.entries;
    }
    if (tix.persisted < tix.entries) {
      writes.push(this.files.writev(this.timeIndexFile, [tix.encode(tix.persisted)], tix.persisted * TIME_INDEX_ENTRY_SIZE));
      tix.persisted = tix.entries;
    }
    const done = Promise.all(writes).then(() => undefined);
    this.indexWrites = this.indexWrites.then(() => done);
    return this.indexWrites;
  }

  /**
   * Makes the transaction index file hold exactly the entries in memory: the entries not yet
   * in it written at their positions, the file cut after a truncation. Not synced.
   */
  persistTxnIndex(): Promise<void> {
    const write = async (): Promise<void> => {
      const txn = this.txnIndex;
      if (!txn.dirty) return;
      const from = txn.persisted;
      const bytes = txn.unpersisted();
      const cut = txn.fileEntries > txn.entries;
      if (txn.fileEntries === 0) this.txnIndexNamed = false;
      txn.persisted = txn.entries;
      txn.fileEntries = txn.entries;
      if (bytes.length > 0) await this.files.writev(this.txnIndexFile, [bytes], from * TXN_INDEX_ENTRY_SIZE);
      if (cut) await this.files.truncate(this.txnIndexFile, txn.entries * TXN_INDEX_ENTRY_SIZE);
    };
    this.txnIndexWrites = this.txnIndexWrites.then(write);
    return this.txnIndexWrites;
  }

  /** Writes and syncs the index entries not yet durable, then lets the index files close. */
  async syncIndexes(): Promise<void> {
    await this.persistIndexes();
    await Promise.all([this.files.fdatasync(this.indexFile), this.files.fdatasync(this.timeIndexFile), this.syncTxnIndex()]);
    this.files.closeIfIdle(this.indexFile);
    this.files.closeIfIdle(this.timeIndexFile);
  }

  /**
   * Writes and syncs the transaction index alone (a recovery that rebuilt entries), its name
   * too when the file is new: its entries are trusted once the recovery point passes them.
   */
  async syncTxnIndex(): Promise<void> {
    await this.persistTxnIndex();
    await this.files.fdatasync(this.txnIndexFile);
    if (!this.txnIndexNamed) {
      await this.files.syncDir(this.dir);
      this.txnIndexNamed = true;
    }
    this.files.closeIfIdle(this.txnIndexFile);
  }

  /**
   * Walks batch headers from the indexed position at or before `fromOffset` and returns the
   * first batch that `match` accepts, within the written bytes.
   */
  findBatch(fromOffset: number, match: (h: BatchHeader) => boolean): Promise<BatchHeader | undefined> {
    return this.scanFrom(this.index.lookup(Math.max(0, fromOffset - this.baseOffset)), match);
  }

  /** Walks batch headers from `position` (a batch boundary) to the first that `match` accepts. */
  async scanFrom(position: number, match: (h: BatchHeader) => boolean): Promise<BatchHeader | undefined> {
    let pos = position;
    const end = this.writtenSize;
    while (pos + BATCH_HEADER_SIZE <= end) {
      const chunk = await this.readAt(Math.min(HEADER_SCAN_CHUNK, end - pos), pos);
      const step = walkHeaders(chunk, pos, match);
      if (step.hit || step.consumed === 0) return step.hit;
      pos += step.consumed;
    }
    return undefined;
  }

  /**
   * findBatch with blocking reads, for ListOffsets by timestamp: rare, answered inline by the
   * partition worker, and normally served from the page cache.
   */
  findBatchSync(fromOffset: number, match: (h: BatchHeader) => boolean): BatchHeader | undefined {
    let pos = this.index.lookup(Math.max(0, fromOffset - this.baseOffset));
    const end = this.writtenSize;
    const chunk = Buffer.allocUnsafe(HEADER_SCAN_CHUNK);
    while (pos + BATCH_HEADER_SIZE <= end) {
      const n = this.files.readSync(this.logFile, chunk, Math.min(HEADER_SCAN_CHUNK, end - pos), pos);
      const step = walkHeaders(chunk.subarray(0, n), pos, match);
      if (step.hit || step.consumed === 0) return step.hit;
      pos += step.consumed;
    }
    return undefined;
  }

  readSync(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.files.readSync(this.logFile, buf, length, position);
    return buf.subarray(0, n);
  }

  /**
   * Whole batches from the one holding `offset`: at most `maxBytes` unless the first batch
   * alone is larger, and only batches that end below `upperBound`.
   */
  async read(offset: number, maxBytes: number, upperBound: number): Promise<Buffer> {
    const first = await this.findBatch(offset, (h) => h.lastOffset >= offset);
    if (!first || first.lastOffset >= upperBound) return Buffer.alloc(0);
    const len = Math.min(this.writtenSize - first.position, Math.max(maxBytes, first.length));
    const buf = await this.readAt(len, first.position);
    let p = 0;
    while (p + BATCH_HEADER_SIZE <= buf.length) {
      const h = headerAt(buf, p, first.position + p);
      if (p + h.length > buf.length || h.lastOffset >= upperBound) break;
      p += h.length;
    }
    return buf.subarray(0, p);
  }

  /** Cuts the segment at `position` (a batch boundary) whose first offset is `offset`. */
  async truncateTo(position: number, offset: number): Promise<void> {
    this.index.truncateToPosition(position);
    this.timeIndex.truncateToOffset(offset - this.baseOffset);
    this.txnIndex.truncateTo(offset);
    await this.indexWrites;
    await Promise.all([
      this.persistTxnIndex(),
      this.files.truncate(this.logFile, position),
      this.files.truncate(this.indexFile, this.index.entries * OFFSET_INDEX_ENTRY_SIZE),
      this.files.truncate(this.timeIndexFile, this.timeIndex.entries * TIME_INDEX_ENTRY_SIZE),
    ]);
    this.size = position;
    this.writtenSize = position;
    this.fileSize = position;
    this.bytesSinceLastIndexEntry = position - this.index.lastPosition();
  }

  /** After a truncation: max timestamp and last batch from the time index and the bytes after it. */
  async recomputeMaxTimestamp(): Promise<void> {
    const lastRel = this.timeIndex.lastOffset();
    this.maxTimestamp = this.timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = lastRel < 0 ? -1 : this.baseOffset + lastRel;
    this.lastBatchBaseOffset = this.baseOffset;
    if (this.size === 0) this.rollStartMs = -1;
    await this.scanFrom(this.index.lookup(Math.max(0, lastRel)), (h) => {
      this.lastBatchBaseOffset = h.baseOffset;
      if (h.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = h.maxTimestamp;
        this.offsetOfMaxTimestamp = h.lastOffset;
      }
      return false;
    });
  }

  /** Keeps the log file's descriptor open for a read or write until `release`. */
  acquire(): void {
    this.files.pin(this.logFile);
  }

  release(): void {
    this.files.unpin(this.logFile);
  }

  /** Drops the segment: files unlinked now, descriptors closed once the last user releases them. */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await this.files.holdForPinned(this.logFile);
    const all = [this.logFile, this.indexFile, this.timeIndexFile, this.txnIndexFile];
    await Promise.all(all.map((f) => fs.promises.rm(f.path, { force: true })));
    for (const f of all) this.files.discard(f);
  }

  /** Syncs and closes the files of a segment that stays on disk (shutdown, log deletion). */
  async close(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await this.indexWrites.catch(() => undefined);
    await this.txnIndexWrites.catch(() => undefined);
    // The zeros go before the final sync: a clean shutdown leaves every file its data's size.
    await this.cutZeros().catch(() => undefined);
    // A failed sync already took the log offline; closing goes on regardless.
    await Promise.all([this.logFile, this.indexFile, this.timeIndexFile, this.txnIndexFile].map((f) => this.files.retire(f).catch(() => undefined)));
  }
}
