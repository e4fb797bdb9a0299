/**
 * Sparse offset index of one segment (`<baseOffset>.index`), Kafka's layout: a flat array of
 * 8-byte big-endian entries, no header:
 *
 *    0  relativeOffset  int32   offset - segment base offset, of a batch's first offset
 *    4  position        int32   byte position of that batch in the `.log` file
 *
 * An entry is added when more than log.index.interval.bytes were appended since the last
 * one, so a lookup lands at most that many bytes (plus one batch) before its target. Both
 * columns grow strictly. The file is a cache: it is not fsynced with the log, and recovery
 * drops entries past the last verified byte and rebuilds them from the log.
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private readonly offsets: number[] = [];
  private readonly positions: number[] = [];
  /** Entries [0, persisted) are in the file already. */
  persisted = 0;

  get entries(): number {
    return this.offsets.length;
  }

  lastOffset(): number {
    return this.offsets.length ? this.offsets[this.offsets.length - 1]! : -1;
  }

  lastPosition(): number {
    return this.positions.length ? this.positions[this.positions.length - 1]! : 0;
  }

  append(relativeOffset: number, position: number): void {
    if (relativeOffset <= this.lastOffset() || (this.offsets.length > 0 && position <= this.lastPosition())) return;
    this.offsets.push(relativeOffset);
    this.positions.push(position);
  }

  /** Position of the last indexed batch starting at or before `relativeOffset` (0 if none). */
  lookup(relativeOffset: number): number {
    const i = floorIndex(this.offsets, relativeOffset);
    return i < 0 ? 0 : this.positions[i]!;
  }

  /** Relative offset of the entry for `position`, if one was indexed there. */
  offsetAt(position: number): number | undefined {
    const i = floorIndex(this.positions, position);
    return i >= 0 && this.positions[i] === position ? this.offsets[i] : undefined;
  }

  /** Keeps the entries whose position is below `position`. */
  truncateToPosition(position: number): void {
    const keep = floorIndex(this.positions, position - 1) + 1;
    this.offsets.length = keep;
    this.positions.length = keep;
    this.persisted = Math.min(this.persisted, keep);
  }

  /** Entries [from, end) in file layout. */
  encode(from: number): Buffer {
    const n = this.offsets.length - from;
    const buf = Buffer.allocUnsafe(n * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i++) {
      buf.writeInt32BE(this.offsets[from + i]!, i * 8);
      buf.writeInt32BE(this.positions[from + i]!, i * 8 + 4);
    }
    return buf;
  }

  /**
   * Loads entries from file bytes, stopping at a torn entry, at the first entry that does not
   * grow, or at the first one at or past `maxPosition` (bytes not known to be in the log).
   */
  static decode(buf: Buffer, maxPosition: number): OffsetIndex {
    const index = new OffsetIndex();
    for (let p = 0; p + OFFSET_INDEX_ENTRY_SIZE <= buf.length; p += OFFSET_INDEX_ENTRY_SIZE) {
      const rel = buf.readInt32BE(p);
      const pos = buf.readInt32BE(p + 4);
      const n = index.entries;
      if (pos >= maxPosition || pos <= 0 || (n > 0 && (rel <= index.lastOffset() || pos <= index.lastPosition()))) break;
      index.append(rel, pos);
    }
    index.persisted = index.entries;
    return index;
  }
}

/** Index of the last element <= `value` in an ascending array, -1 if none. */
export function floorIndex(sorted: readonly number[], value: number): number {
  return floorIndexBy(sorted, value, identity);
}

const identity = (x: number): number => x;

/** Index of the last element whose key is <= `value`, in an array ascending by key; -1 if none. */
export function floorIndexBy<T>(sorted: readonly T[], value: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (key(sorted[mid]!) <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
