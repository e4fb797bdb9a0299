/**
 * Worker-thread entry of the load generator: runs the LoadSpec it is given (workerData)
 * and posts back its LoadResult; a failure is posted as { error } rather than thrown.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runLoadHere, type LoadSpec } from './load.js';

runLoadHere(workerData as LoadSpec).then(
  (result) => parentPort!.postMessage({ result }),
  (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
