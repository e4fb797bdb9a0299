/**
 * The log cleaner's I/O budget (log.cleaner.io.max.bytes.per.second), shared by every thread of
 * its pool as Kafka's cleaner threads share one Throttler. The budget is a clock in shared
 * memory: each byte read or written pushes it forward by 1/rate s, and a thread that pushed it
 * past the present sleeps until then. Up to BURST_MS of unused budget carries over, so a
 * cleaning after an idle spell starts at full speed for that long.
 *
 *   SharedArrayBuffer (16 bytes)
 *   +--------------------------+-------------+-------------+
 *   | budget clock, µs (int64) | wake (i32)  | unused      |
 *   +--------------------------+-------------+-------------+
 */
const BURST_MS = 100;

export function throttleBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(16);
}

export class Throttler {
  private readonly clock: BigInt64Array;
  private readonly wake: Int32Array;
  /** Microseconds per byte; 0: no limit. */
  private readonly usPerByte: number;

  constructor(shared: SharedArrayBuffer, bytesPerSecond: number) {
    this.clock = new BigInt64Array(shared, 0, 1);
    this.wake = new Int32Array(shared, 8, 1);
    // Kafka's default (Double.MAX_VALUE) and anything near it mean no limit.
    this.usPerByte = bytesPerSecond >= 1e15 ? 0 : 1e6 / bytesPerSecond;
  }

  /** Counts `bytes` of I/O against the budget; blocks this thread while the budget is spent. */
  charge(bytes: number): void {
    if (this.usPerByte === 0 || bytes <= 0) return;
    const cost = BigInt(Math.ceil(bytes * this.usPerByte));
    const now = BigInt(Date.now()) * 1000n;
    const floor = now - BigInt(BURST_MS * 1000);
    let next: bigint;
    for (;;) {
      const current = Atomics.load(this.clock, 0);
      next = (current > floor ? current : floor) + cost;
      if (Atomics.compareExchange(this.clock, 0, current, next) === current) break;
    }
    const waitMs = Number(next - now) / 1000;
    if (waitMs > 0) Atomics.wait(this.wake, 0, 0, waitMs);
  }
}
