/**
 * What one cleaning of a compacted log is asked and answers: plain data that crosses from a
 * partition worker to the cleaner pool and back (the cleaning itself is
 * workers/partition/log/cleaner/clean-log.ts).
 */

/** A transaction the log aborted, as its marker's segment's transaction index holds it. */
export interface AbortedRange {
  producerId: number;
  /** The offset its batches start at. */
  firstOffset: number;
  /** The offset of its ABORT marker. */
  lastOffset: number;
  lastStableOffset: number;
}

export interface ProducerLastBatch {
  /** Last offset of its last data batch; -1 when its state holds none (its last batch is a marker). */
  lastDataOffset: number;
  epoch: number;
}

export interface SegmentToClean {
  baseOffset: number;
  /** The base offset of the segment after it. */
  nextOffset: number;
  size: number;
}

export interface CleanTask {
  /** The log's directory and name (for messages). */
  dir: string;
  name: string;
  /** Every segment from the log's first up to the first uncleanable offset, in order. */
  segments: SegmentToClean[];
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  now: number;
  deleteRetentionMs: number;
  /** segment.bytes: the most log a cleaned segment replaces. */
  segmentBytes: number;
  indexIntervalBytes: number;
  /** Bound on a decompressed record section. */
  maxBatchBytes: number;
  /** log.cleaner.dedupe.buffer.size */
  offsetMapBytes: number;
  aborted: AbortedRange[];
  producers: Array<[number, ProducerLastBatch]>;
}

/** A cleaned segment, written, that replaces the segments based at `replaces`. */
export interface CleanedSegment {
  baseOffset: number;
  replaces: number[];
  size: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  lastBatchBaseOffset: number;
  index: Uint8Array;
  timeIndex: Uint8Array;
  /** The transaction index's entries, in file layout (no file when empty). */
  txnIndex: Uint8Array;
}

export interface CleanStats {
  bytesRead: number;
  bytesWritten: number;
  mapBytesRead: number;
  recordsRead: number;
  recordsWritten: number;
  keys: number;
  mapMs: number;
  totalMs: number;
}

export interface CleanResult {
  cleaned: CleanedSegment[];
  /** Where the next cleaning's dirty section starts (the cleaner checkpoint). */
  nextDirtyOffset: number;
  stats: CleanStats;
}
