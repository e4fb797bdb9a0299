/**
 * Single-producer single-consumer byte ring over a SharedArrayBuffer, carrying
 * length-prefixed binary messages between two threads.
 *
 * Layout of the SharedArrayBuffer:
 *
 *   byte 0                                 64                      128          192            192 + capacity
 *   +---------------------------------------+-----------------------+------------+----------------------+
 *   | head cWait | wakes | pWaits | peak     | tail pWait | sleeps | missed | (reserved) | data (capacity bytes) |
 *   +---------------------------------------+-----------------------+------------+----------------------+
 *     int32 int32  float64 at 8, 16, 24        int32 int32  float64 at 72, 80
 *
 *   head   free-running uint32 byte counter, advanced by the producer after a message is complete
 *   tail   free-running uint32 byte counter, advanced by the consumer after it consumed messages
 *   cWait  1 while the consumer sleeps on `head` (the producer then notifies)
 *   pWait  1 while the producer waits on `tail` for space (the consumer then notifies)
 *
 * Counters for the metrics endpoint, each written by one side only, on that side's own line,
 * and read from any thread (ringStats): the producer's wake-ups of a sleeping consumer
 * (`wakes`), its waits for space in a full ring (`pWaits`) and the most bytes ever in use
 * (`peak`); the consumer's sleeps on an empty ring (`sleeps`) and its sleeps that ended by
 * their timeout with messages waiting (`missed`). They move only on the paths that already
 * wait or notify, plus one comparison per reserve for the peak.
 *
 * The side that notifies clears the flag in the same atomic step, so a burst of messages
 * costs one wake-up (a futex call and a task posted to the other thread's loop), not one per
 * message. The sleeper sets its flag before it re-reads the counter it waits on, and the other
 * side moves that counter before it tests the flag, so a wake-up is never lost. Still, a
 * consumer's sleep ends after `CONSUMER_SLEEP_MS` at the latest and counts a wake-up it
 * found missed: a consumer that never woke again would leave every later request of its
 * thread unanswered, and a bounded sleep costs one timer per sleep.
 *
 * head and tail sit on separate 64-byte lines so the two threads do not share a cache line.
 * `capacity` is a power of two; used bytes = (head - tail) mod 2^32.
 *
 * A message is a 4-byte little-endian length L followed by L payload bytes, padded to a
 * multiple of 8 so every frame starts aligned. A message never wraps: when it does not fit
 * before the end of the data area, the producer writes the WRAP marker (0xFFFFFFFF) and the
 * message starts again at offset 0. Waiting uses Atomics.waitAsync only: both ends run event
 * loops with other async work (sockets, fs), so a blocking Atomics.wait would stall them.
 * There is no spinning: on two cores it cost more than it saved.
 */

const HEAD = 0;
const CONSUMER_WAITING = 1;
const TAIL = 16;
const PRODUCER_WAITING = 17;
const HEADER_BYTES = 192;
const WRAP = 0xffffffff;
/** Float64 slots of the counters (byte offset / 8). */
const WAKEUPS = 1;
const PRODUCER_WAITS = 2;
const PEAK_USED = 3;
const CONSUMER_SLEEPS = 9;
const MISSED_WAKEUPS = 10;
/** The longest a consumer sleeps before it looks at the ring again by itself. */
const CONSUMER_SLEEP_MS = 1000;

function align8(n: number): number {
  return (n + 7) & ~7;
}

export function createRing(capacity: number): SharedArrayBuffer {
  if (capacity < 4096 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two >= 4096, got ${capacity}`);
  }
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

class RingView {
  protected readonly ctl: Int32Array;
  protected readonly counters: Float64Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly capacity: number;
  protected readonly mask: number;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.counters = new Float64Array(sab, 0, HEADER_BYTES / 8);
    this.capacity = sab.byteLength - HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.bytes = new Uint8Array(sab, HEADER_BYTES, this.capacity);
    this.view = new DataView(sab, HEADER_BYTES, this.capacity);
  }

  /** The largest payload one message may carry. */
  get maxMessage(): number {
    return (this.capacity >>> 1) - 8;
  }
}

export class RingProducer extends RingView {
  private head: number;
  private pendingStart = -1;
  private pendingLength = 0;
  private peak: number;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.head = Atomics.load(this.ctl, HEAD) >>> 0;
    this.peak = this.counters[PEAK_USED]!;
  }

  /**
   * Reserves room for a payload of `length` bytes and returns the payload's offset in
   * `bytes`/`view`, or -1 when the ring is too full now. The caller fills the payload, then
   * calls `publish()`.
   */
  reserve(length: number): number {
    if (length > this.maxMessage) throw new RangeError(`message of ${length} bytes exceeds ring limit`);
    const frame = align8(4 + length);
    const tail = Atomics.load(this.ctl, TAIL) >>> 0;
    const used = (this.head - tail) >>> 0;
    const free = this.capacity - used;
    let pos = this.head & this.mask;
    let skip = 0;
    if (pos + frame > this.capacity) skip = this.capacity - pos;
    if (skip + frame > free) return -1;
    if (used + skip + frame > this.peak) this.counters[PEAK_USED] = this.peak = used + skip + frame;
    if (skip > 0) {
      this.view.setUint32(pos, WRAP, true);
      pos = 0;
    }
    this.view.setUint32(pos, length, true);
    this.pendingStart = pos + 4;
    this.pendingLength = skip + frame;
    return pos + 4;
  }

  publish(): void {
    if (this.pendingStart < 0) throw new Error('publish without reserve');
    this.head = (this.head + this.pendingLength) >>> 0;
    this.pendingStart = -1;
    Atomics.store(this.ctl, HEAD, this.head | 0);
    if (Atomics.compareExchange(this.ctl, CONSUMER_WAITING, 1, 0) === 1) {
      Atomics.notify(this.ctl, HEAD);
      this.counters[WAKEUPS]!++;
    }
  }

  /** Resolves once the consumer has freed space since this call (or at once if it already did). */
  async waitForSpace(): Promise<void> {
    const tail = Atomics.load(this.ctl, TAIL);
    Atomics.store(this.ctl, PRODUCER_WAITING, 1);
    this.counters[PRODUCER_WAITS]!++;
    const r = Atomics.waitAsync(this.ctl, TAIL, tail);
    if (r.async) await r.value;
    Atomics.store(this.ctl, PRODUCER_WAITING, 0);
  }
}

export type MessageHandler = (bytes: Uint8Array, view: DataView, offset: number, length: number) => void;

export class RingConsumer extends RingView {
  private tail: number;
  private stopped = false;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.tail = Atomics.load(this.ctl, TAIL) >>> 0;
  }

  /**
   * Hands every available message to `handler` (which must copy what it keeps: the bytes are
   * reused once this returns), then frees their space. Returns the number of messages.
   */
  drain(handler: MessageHandler): number {
    const head = Atomics.load(this.ctl, HEAD) >>> 0;
    let n = 0;
    while (this.tail !== head) {
      let pos = this.tail & this.mask;
      let length = this.view.getUint32(pos, true);
      if (length === WRAP) {
        this.tail = (this.tail + (this.capacity - pos)) >>> 0;
        pos = 0;
        length = this.view.getUint32(0, true);
      }
      handler(this.bytes, this.view, pos + 4, length);
      this.tail = (this.tail + align8(4 + length)) >>> 0;
      n++;
    }
    if (n > 0) {
      Atomics.store(this.ctl, TAIL, this.tail | 0);
      if (Atomics.compareExchange(this.ctl, PRODUCER_WAITING, 1, 0) === 1) Atomics.notify(this.ctl, TAIL);
    }
    return n;
  }

  /**
   * Drains forever: after each drain it sleeps on `head` until the producer publishes.
   * `afterDrain` runs once per wake-up with everything of that round handled, which is where
   * callers flush batched work (one writev, one socket write).
   */
  async run(handler: MessageHandler, afterDrain?: () => void): Promise<void> {
    while (!this.stopped) {
      if (this.drain(handler) > 0) {
        afterDrain?.();
        // Yield to the event loop so I/O completions interleave with a busy ring.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      Atomics.store(this.ctl, CONSUMER_WAITING, 1);
      const head = Atomics.load(this.ctl, HEAD);
      if ((head >>> 0) === this.tail) {
        const r = Atomics.waitAsync(this.ctl, HEAD, head, CONSUMER_SLEEP_MS);
        if (r.async) {
          this.counters[CONSUMER_SLEEPS]!++;
          if ((await r.value) === 'timed-out' && (Atomics.load(this.ctl, HEAD) >>> 0) !== this.tail) this.counters[MISSED_WAKEUPS]!++;
        }
      }
      Atomics.store(this.ctl, CONSUMER_WAITING, 0);
    }
  }

  /** Ends `run` at its next wake-up; `wake()` forces one. */
  stop(): void {
    this.stopped = true;
    Atomics.notify(this.ctl, HEAD);
  }
}

/** A ring's figures as any thread sees them now (the counters since the ring was created). */
export interface RingStats {
  capacity: number;
  /** Bytes published and not yet consumed. */
  used: number;
  /** The most bytes ever in use at once. */
  peakUsed: number;
  /** Times the producer woke the sleeping consumer (one futex call and one task on its loop each). */
  wakeups: number;
  /** Times the consumer found the ring empty and slept. */
  consumerSleeps: number;
  /** Times the producer found the ring full and waited for space. */
  producerWaits: number;
  /** Times the consumer's sleep ran out with messages waiting: a wake-up that did not come. */
  missedWakeups: number;
}

export function ringStats(sab: SharedArrayBuffer): RingStats {
  const ctl = new Int32Array(sab, 0, 32);
  const c = new Float64Array(sab, 0, HEADER_BYTES / 8);
  return {
    capacity: sab.byteLength - HEADER_BYTES,
    used: (Atomics.load(ctl, HEAD) - Atomics.load(ctl, TAIL)) >>> 0,
    peakUsed: c[PEAK_USED]!,
    wakeups: c[WAKEUPS]!,
    consumerSleeps: c[CONSUMER_SLEEPS]!,
    producerWaits: c[PRODUCER_WAITS]!,
    missedWakeups: c[MISSED_WAKEUPS]!,
  };
}
