/**
 * A replication throttle (Kafka's ReplicationQuotaManager): the byte rate of throttled
 * replication traffic, measured over sample windows, against an upper bound in bytes/s.
 *
 * The rate is Kafka's SimpleRate over a SampledStat: up to `windows` + 1 samples, a new one
 * begun when the current one is `windowMs` old; samples with no event for `windows` windows
 * are reset; the rate is the sum of the samples over the time since the oldest one began, or
 * over one window when that is shorter (so the first bytes do not read as an infinite rate).
 * The quota is exceeded when that rate is above the bound. Bytes are recorded after they are
 * sent (Kafka records without checking), so one fetch may overshoot the bound; the next ones
 * then wait until the rate is back under it.
 *
 * The state lives in a buffer so that the partition workers' fetchers share the follower
 * throttle of the broker: a spin lock word guards it (each section is a few additions).
 *
 *   buffer, 8 + 8 * (3 + 3 * (windows + 1)) bytes
 *   +-----------+-----+-------+---------+------+----------------------------------------+
 *   | lock i32  | pad | bound | current | used | per sample: start ms, last event ms,   |
 *   |           |     | f64   | f64     | f64  | bytes (f64 each)                       |
 *   +-----------+-----+-------+---------+------+----------------------------------------+
 *
 * Every method takes the time, so tests drive it with their own clock.
 */

/** Kafka's replication.quota.window.num and replication.quota.window.size.seconds defaults. */
export const QUOTA_WINDOWS = 11;
export const QUOTA_WINDOW_MS = 1000;

const BOUND = 0;
const CURRENT = 1;
const USED = 2;
const SAMPLES = 3;
const START = 0;
const LAST_EVENT = 1;
const VALUE = 2;

/** A throttle's state with no bytes recorded and no bound. */
export function replicationQuotaBuffer(windows = QUOTA_WINDOWS): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(8 + 8 * (SAMPLES + 3 * (windows + 1)));
  new Float64Array(buffer, 8)[BOUND] = Infinity;
  return buffer;
}

export class ReplicationQuota {
  private readonly lock: Int32Array;
  private readonly s: Float64Array;
  private readonly windows: number;

  constructor(buffer: SharedArrayBuffer, private readonly windowMs = QUOTA_WINDOW_MS) {
    this.lock = new Int32Array(buffer, 0, 1);
    this.s = new Float64Array(buffer, 8);
    this.windows = (this.s.length - SAMPLES) / 3 - 1;
  }

  /** The bound in bytes/s; Infinity: not throttled (Kafka's Long.MAX_VALUE default). */
  get bound(): number {
    return this.locked(() => this.s[BOUND]!);
  }

  set bound(bytesPerSecond: number) {
    this.locked(() => (this.s[BOUND] = bytesPerSecond));
  }

  /** Counts bytes of throttled replication sent or received at `nowMs`. */
  record(bytes: number, nowMs: number): void {
    this.locked(() => {
      this.begin(nowMs);
      let i = this.s[CURRENT]!;
      if (nowMs - this.at(i, START) >= this.windowMs) i = this.advance(nowMs);
      this.s[SAMPLES + 3 * i + VALUE]! += bytes;
      this.s[SAMPLES + 3 * i + LAST_EVENT] = nowMs;
    });
  }

  /** The measured rate in bytes/s. */
  rate(nowMs: number): number {
    return this.locked(() => this.measure(nowMs));
  }

  /** The rate is above the bound: throttled replicas get no more bytes for now. */
  exceeded(nowMs: number): boolean {
    return this.locked(() => this.measure(nowMs) > this.s[BOUND]!);
  }

  private measure(nowMs: number): number {
    this.begin(nowMs);
    const used = this.s[USED]!;
    const expireAge = this.windows * this.windowMs;
    let total = 0;
    let oldest = Infinity;
    for (let i = 0; i < used; i++) {
      if (nowMs - this.at(i, LAST_EVENT) >= expireAge) this.reset(i, nowMs);
      total += this.at(i, VALUE);
      oldest = Math.min(oldest, this.at(i, START));
    }
    return total / (Math.max(nowMs - oldest, this.windowMs) / 1000);
  }

  /** The first sample begins at the first look or record, as Kafka's: the rate is measured from then on. */
  private begin(nowMs: number): void {
    if (this.s[USED] !== 0) return;
    this.s[USED] = 1;
    this.reset(0, nowMs);
  }

  /** Moves to the next sample (windows + 1 of them, reused in turn), begun at `nowMs`. */
  private advance(nowMs: number): number {
    const i = (this.s[CURRENT]! + 1) % (this.windows + 1);
    this.s[CURRENT] = i;
    if (i >= this.s[USED]!) this.s[USED] = i + 1;
    this.reset(i, nowMs);
    return i;
  }

  private reset(i: number, nowMs: number): void {
    const base = SAMPLES + 3 * i;
    this.s[base + START] = nowMs;
    this.s[base + LAST_EVENT] = nowMs;
    this.s[base + VALUE] = 0;
  }

  private at(i: number, field: number): number {
    return this.s[SAMPLES + 3 * i + field]!;
  }

  private locked<T>(f: () => T): T {
    while (Atomics.compareExchange(this.lock, 0, 0, 1) !== 0);
    try {
      return f();
    } finally {
      Atomics.store(this.lock, 0, 0);
    }
  }
}
