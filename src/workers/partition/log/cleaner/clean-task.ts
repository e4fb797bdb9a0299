/**
 * The entry point of a cleaner pool thread (piscina): one task is one cleaning of one log
 * (clean-log.ts), charged to the I/O budget every thread of the pool shares.
 */
import { workerData } from 'piscina';
import type { CleanResult, CleanTask } from '../../../../shared/clean-task.js';
import { cleanLog } from './clean-log.js';
import { Throttler } from './throttle.js';

/** What the pool gives each of its threads. */
export interface CleanerThreadData {
  throttle: SharedArrayBuffer;
  ioMaxBytesPerSecond: number;
}

const data = workerData as CleanerThreadData;
const throttler = new Throttler(data.throttle, data.ioMaxBytesPerSecond);

export default function run(task: CleanTask): CleanResult {
  return cleanLog(task, throttler);
}
