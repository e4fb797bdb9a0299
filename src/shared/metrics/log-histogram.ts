/**
 * A histogram of durations in microseconds over fixed log-linear buckets: eight per power of
 * two from 1 us to 2^27 us (about 134 s), so any recorded value is known to within 12.5%.
 * Recording is a few arithmetic operations and one array increment: no allocation, cheap
 * enough to stay on for every request in production.
 *
 * The counts can live in a SharedArrayBuffer: one thread records (its only writer) and
 * another reads them at any time, for a scrape, without a message between the two. A read
 * may miss a record in flight; it never blocks the recorder.
 */

const SUB_BUCKETS = 8;
export const OCTAVES = 28;
export const BUCKETS = SUB_BUCKETS * OCTAVES;
/** Slots after the buckets: the count and the sum of every recorded value. */
const COUNT = BUCKETS;
const SUM = BUCKETS + 1;
export const HISTOGRAM_SLOTS = BUCKETS + 2;

/** The bucket of a duration in microseconds. */
export function bucketOf(us: number): number {
  if (!(us >= 8)) return us >= 1 ? fineBucketOf(us) : 0;
  if (us >= 2 ** (OCTAVES - 1)) return BUCKETS - 1;
  // From 8 us on a sub-bucket is at least 1 us wide, so the whole microseconds decide it: the
  // three bits below the leading one. Integer operations only, since every request records eight.
  const i = us | 0;
  const octave = 31 - Math.clz32(i);
  return (octave << 3) + ((i >>> (octave - 3)) & 7);
}

/** The bucket of a duration of 1 to 8 us, where sub-buckets are fractions of a microsecond. */
function fineBucketOf(us: number): number {
  const octave = 31 - Math.clz32(us);
  return octave * SUB_BUCKETS + Math.floor((us / 2 ** octave - 1) * SUB_BUCKETS);
}

/** The largest duration (us) a bucket holds. */
export function upperBoundOf(bucket: number): number {
  const octave = Math.floor(bucket / SUB_BUCKETS);
  const sub = bucket % SUB_BUCKETS;
  return 2 ** octave * (1 + (sub + 1) / SUB_BUCKETS);
}

export class LogHistogram {
  readonly slots: Float64Array;

  /** Counts in `buffer` at `offset` (bytes, a multiple of 8) when given, else in private memory. */
  constructor(buffer?: SharedArrayBuffer, offset = 0) {
    this.slots = buffer ? new Float64Array(buffer, offset, HISTOGRAM_SLOTS) : new Float64Array(HISTOGRAM_SLOTS);
  }

  record(us: number): void {
    // A duration that cannot be one (a clock read missing) must not poison the sum.
    if (!Number.isFinite(us)) return;
    const s = this.slots;
    s[bucketOf(us)]!++;
    s[COUNT]!++;
    s[SUM]! += us;
  }

  get count(): number {
    return this.slots[COUNT]!;
  }

  /** Sum of the recorded durations, in microseconds. */
  get sum(): number {
    return this.slots[SUM]!;
  }

  /** A copy of the counts now, for a later `since`. */
  snapshot(): LogHistogram {
    const h = new LogHistogram();
    h.slots.set(this.slots);
    return h;
  }

  /** What was recorded after `earlier` (a snapshot of this histogram). */
  since(earlier: LogHistogram): LogHistogram {
    const h = new LogHistogram();
    for (let i = 0; i < HISTOGRAM_SLOTS; i++) h.slots[i] = this.slots[i]! - earlier.slots[i]!;
    return h;
  }

  /** Adds another histogram's counts to this one. */
  add(other: LogHistogram): void {
    for (let i = 0; i < HISTOGRAM_SLOTS; i++) this.slots[i]! += other.slots[i]!;
  }

  /** The upper bound (us) of the bucket holding quantile q (0..1), or 0 when empty. */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.slots[i]!;
      if (seen >= rank) return upperBoundOf(i);
    }
    return upperBoundOf(BUCKETS - 1);
  }

  /**
   * Cumulative counts at every power of two microseconds, in one pass over the buckets:
   * `out[k]` is how many recorded values are at most 2^(k+1) us (the upper bound of the last
   * sub-bucket of octave k), for a scrape's cumulative buckets.
   */
  cumulativeByOctave(out: Float64Array = new Float64Array(OCTAVES)): Float64Array {
    const s = this.slots;
    let total = 0;
    for (let octave = 0, i = 0; octave < OCTAVES; octave++) {
      for (const end = i + SUB_BUCKETS; i < end; i++) total += s[i]!;
      out[octave] = total;
    }
    return out;
  }
}
