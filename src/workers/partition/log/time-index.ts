/**
 * Sparse time index of one segment (`<baseOffset>.timeindex`), Kafka's layout: a flat array
 * of 12-byte big-endian entries, no header:
 *
 *    0  timestamp       int64   largest record timestamp in the segment up to this entry
 *    8  relativeOffset  int32   first offset of the batch at which that maximum was reached
 *
 * Entries are added beside offset-index entries (and once more when the segment stops being
 * active, so its last entry holds the segment's largest timestamp), only when the timestamp
 * grows. Every record before an entry's offset has a timestamp <= the entry's timestamp, so
 * a search for the first record at or after time T may start at the offset of the last
 * entry whose timestamp is below T.
 */
import { floorIndex } from './offset-index.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private readonly timestamps: number[] = [];
  private readonly offsets: number[] = [];
  persisted = 0;

  get entries(): number {
    return this.timestamps.length;
  }

  lastTimestamp(): number {
    return this.timestamps.length ? this.timestamps[this.timestamps.length - 1]! : -1;
  }

  lastOffset(): number {
    return this.offsets.length ? this.offsets[this.offsets.length - 1]! : -1;
  }

  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (timestamp <= this.lastTimestamp() || relativeOffset < this.lastOffset()) return;
    this.timestamps.push(timestamp);
    this.offsets.push(relativeOffset);
  }

  /** Relative offset from which to scan for the first record with timestamp >= `target`. */
  lookup(target: number): number {
    const i = floorIndex(this.timestamps, target - 1);
    return i < 0 ? 0 : this.offsets[i]!;
  }

  /** Keeps the entries whose offset is below `relativeOffset`. */
  truncateToOffset(relativeOffset: number): void {
    const keep = floorIndex(this.offsets, relativeOffset - 1) + 1;
    this.timestamps.length = keep;
    this.offsets.length = keep;
    this.persisted = Math.min(this.persisted, keep);
  }

  encode(from: number): Buffer {
    const n = this.timestamps.length - from;
    const buf = Buffer.allocUnsafe(n * TIME_INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i++) {
      const ts = this.timestamps[from + i]!;
      const hi = Math.floor(ts / 0x1_0000_0000);
      buf.writeInt32BE(hi, i * 12);
      buf.writeUInt32BE(ts - hi * 0x1_0000_0000, i * 12 + 4);
      buf.writeInt32BE(this.offsets[from + i]!, i * 12 + 8);
    }
    return buf;
  }

  /** Loads entries, stopping at a torn or non-growing entry or one at/after `maxRelativeOffset`. */
  static decode(buf: Buffer, maxRelativeOffset: number): TimeIndex {
    const index = new TimeIndex();
    for (let p = 0; p + TIME_INDEX_ENTRY_SIZE <= buf.length; p += TIME_INDEX_ENTRY_SIZE) {
      const ts = buf.readInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
      const rel = buf.readInt32BE(p + 8);
      if (rel >= maxRelativeOffset || rel < 0 || ts <= index.lastTimestamp() || rel < index.lastOffset()) break;
      index.maybeAppend(ts, rel);
    }
    index.persisted = index.entries;
    return index;
  }
}
