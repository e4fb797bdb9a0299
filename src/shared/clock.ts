/**
 * One clock for every thread of the process, in milliseconds with microsecond resolution:
 * `performance.now()` counts from each thread's own start, so times that cross a ring (when a
 * request part was sent, when its result was) add the thread's time origin.
 */
export function processNow(): number {
  return performance.timeOrigin + performance.now();
}
