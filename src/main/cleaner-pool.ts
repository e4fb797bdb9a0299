/**
 * The log cleaner's threads: a piscina pool of log.cleaner.threads threads in which the
 * partition workers' cleanings run (clean-task.ts), away from the threads that serve requests.
 * Its threads share one I/O budget, log.cleaner.io.max.bytes.per.second (throttle.ts), and
 * start when a cleaning comes and end after a minute without one.
 */
import { Piscina } from 'piscina';
import type { CleanResult, CleanTask } from '../shared/clean-task.js';
import type { CleanerThreadData } from '../workers/partition/log/cleaner/clean-task.js';
import { throttleBuffer } from '../workers/partition/log/cleaner/throttle.js';

const IDLE_THREAD_MS = 60_000;

export class CleanerPool {
  private readonly pool: Piscina<CleanTask, CleanResult>;

  constructor(threads: number, ioMaxBytesPerSecond: number) {
    const workerData: CleanerThreadData = { throttle: throttleBuffer(), ioMaxBytesPerSecond };
    this.pool = new Piscina({
      filename: new URL('../workers/partition/log/cleaner/clean-task.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: IDLE_THREAD_MS,
      workerData,
    });
  }

  clean(task: CleanTask): Promise<CleanResult> {
    return this.pool.run(task);
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
