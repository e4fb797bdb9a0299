/**
 * Idempotent produce retries that arrived while their originals were still on the way to the
 * file or to durability: each is answered once the log's written (or durable) end passes the
 * original's last offset, or failed when the original is gone (a truncation, a disk error).
 */
import { ErrorCode } from '../../../shared/errors.js';

interface RetryWaiter {
  lastOffset: number;
  /** Waits for the durable end, not the written one. */
  durable: boolean;
  done(errorCode: number, errorMessage?: string): void;
}

export class RetryWaiters {
  private waiters: RetryWaiter[] = [];

  /** `done` is called once: when `lastOffset` is below the end `durable` names, or on failure. */
  add(lastOffset: number, durable: boolean, done: (errorCode: number, errorMessage?: string) => void): void {
    this.waiters.push({ lastOffset, durable, done });
  }

  /** Answers the retries whose originals are now below the written and durable ends. */
  release(writtenEnd: number, durableEnd: number): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.lastOffset >= (w.durable ? durableEnd : writtenEnd)) return true;
      w.done(ErrorCode.NONE);
      return false;
    });
  }

  /** Fails the retries waiting on offsets from `fromOffset` on (the originals are gone). */
  fail(fromOffset: number, errorCode: number, errorMessage: string): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.lastOffset < fromOffset) return true;
      w.done(errorCode, errorMessage);
      return false;
    });
  }
}
