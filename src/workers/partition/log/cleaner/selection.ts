/**
 * Which log to clean and which part of it, as Kafka's LogCleanerManager decides. Pure: numbers
 * about segments in, a decision out.
 *
 * A compacted log is, from its start: the clean section (below the cleaner checkpoint, already
 * cleaned), the dirty section up to the first uncleanable offset, and the rest. Cleaning never
 * goes past:
 * - the base of the active segment (the active segment is never cleaned),
 * - the last stable offset (an open transaction's first offset, and the high watermark),
 * - the first segment holding a record younger than min.compaction.lag.ms.
 * The uncleanable offset is taken down to a segment base, so the dirty section is whole
 * segments. A log is cleaned when its dirty ratio (dirty bytes / clean + dirty bytes) passes
 * min.cleanable.dirty.ratio, or when a dirty segment's first record is older than
 * max.compaction.lag.ms; of several, the one with the highest ratio goes first.
 */

export interface SegmentStat {
  baseOffset: number;
  size: number;
  /** Largest record timestamp, -1 when unknown. */
  maxTimestamp: number;
  /** Timestamp of the first batch, -1 when unknown. */
  firstTimestamp: number;
}

export interface LogStat {
  /** In offset order, the active segment last. */
  segments: readonly SegmentStat[];
  logStartOffset: number;
  logEndOffset: number;
  /** From the cleaner checkpoint; undefined when the log was never cleaned. */
  checkpoint: number | undefined;
  /** Below it every transaction is decided and every record replicated. */
  lastStableOffset: number;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
}

export interface ToClean {
  firstDirtyOffset: number;
  /** A segment base: the dirty section ends before it. */
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  ratio: number;
  /** A dirty record passed max.compaction.lag.ms. */
  overdue: boolean;
  /** The checkpoint was out of the log's range and starts over at the log start. */
  checkpointReset: boolean;
}

/** The segment holding `offset`: the last one based at or below it (the first when none is). */
function segmentIndex(segments: readonly SegmentStat[], offset: number): number {
  let i = 0;
  while (i + 1 < segments.length && segments[i + 1]!.baseOffset <= offset) i++;
  return i;
}

/** The sections of a compacted log at `now` (Kafka's cleanableOffsets and calculateCleanableBytes). */
export function toClean(log: LogStat, now: number): ToClean {
  const segs = log.segments;
  let firstDirty = log.checkpoint ?? log.logStartOffset;
  let checkpointReset = false;
  if (firstDirty < log.logStartOffset || firstDirty > log.logEndOffset) {
    firstDirty = log.logStartOffset;
    checkpointReset = log.checkpoint !== undefined;
  }
  const active = segs[segs.length - 1]!;
  let uncleanable = Math.min(active.baseOffset, log.lastStableOffset);
  const lag = Math.max(0, log.minCompactionLagMs);
  if (lag > 0) {
    for (let i = segmentIndex(segs, firstDirty); i < segs.length - 1; i++) {
      if (segs[i]!.maxTimestamp > now - lag) {
        uncleanable = Math.min(uncleanable, segs[i]!.baseOffset);
        break;
      }
    }
  }
  uncleanable = Math.max(firstDirty, segs[segmentIndex(segs, uncleanable)]!.baseOffset);
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let earliestDirty = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < segs.length - 1; i++) {
    const s = segs[i]!;
    const end = segs[i + 1]!.baseOffset;
    if (end <= firstDirty) cleanBytes += s.size;
    else if (end <= uncleanable) {
      dirtyBytes += s.size;
      const first = s.firstTimestamp >= 0 ? s.firstTimestamp : s.maxTimestamp;
      if (first >= 0) earliestDirty = Math.min(earliestDirty, first);
    }
  }
  const total = cleanBytes + dirtyBytes;
  return {
    firstDirtyOffset: firstDirty,
    firstUncleanableOffset: uncleanable,
    cleanBytes,
    dirtyBytes,
    ratio: total === 0 ? 0 : dirtyBytes / total,
    overdue: earliestDirty < now - Math.max(0, log.maxCompactionLagMs),
    checkpointReset,
  };
}

/** Whether a log with these sections is due for a cleaning. */
export function isDue(t: ToClean, minCleanableDirtyRatio: number): boolean {
  return t.dirtyBytes > 0 && (t.overdue || t.ratio > minCleanableDirtyRatio);
}

/** The index of the log to clean first among those due (the highest dirty ratio), or -1. */
export function filthiest(candidates: readonly { toClean: ToClean; minCleanableDirtyRatio: number }[]): number {
  let best = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (!isDue(c.toClean, c.minCleanableDirtyRatio)) continue;
    if (best < 0 || c.toClean.ratio > candidates[best]!.toClean.ratio) best = i;
  }
  return best;
}

/** Segments one cleaned segment may replace: more would hold that many descriptors during its swap. */
export const MAX_SEGMENTS_PER_GROUP = 64;
const MAX_RELATIVE_OFFSET = 0x7fff_ffff;

/**
 * Splits the segments to clean (`segments`, consecutive, ending before `end`) into groups that
 * each become one cleaned segment: at most `maxBytes` of log before cleaning (segment.bytes),
 * at most MAX_SEGMENTS_PER_GROUP segments, and offsets within 2^31 of the group's base
 * (Kafka's groupSegmentsBySize). Returns index ranges [from, to).
 */
export function groupSegments(segments: readonly { baseOffset: number; size: number }[], end: number, maxBytes: number): Array<[number, number]> {
  const groups: Array<[number, number]> = [];
  let i = 0;
  while (i < segments.length) {
    const from = i;
    let bytes = segments[i]!.size;
    i++;
    while (i < segments.length && i - from < MAX_SEGMENTS_PER_GROUP && bytes + segments[i]!.size <= maxBytes) {
      const nextEnd = i + 1 < segments.length ? segments[i + 1]!.baseOffset : end;
      if (nextEnd - 1 - segments[from]!.baseOffset > MAX_RELATIVE_OFFSET) break;
      bytes += segments[i]!.size;
      i++;
    }
    groups.push([from, i]);
  }
  return groups;
}
