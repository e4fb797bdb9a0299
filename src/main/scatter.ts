/**
 * Sends the per-partition parts of one request to their owning workers and resolves with the
 * results in part order once every part has answered.
 */
import type { FromWorker, ToWorker } from '../shared/thread-messages.js';
import type { PartitionWorkers } from './partition-workers.js';

export type Part = { worker: number; msg: DistributiveOmit<ToWorker, 'req' | 'part'> };
type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

export function scatter<R extends FromWorker>(workers: PartitionWorkers, parts: Part[]): Promise<R[]> {
  if (parts.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    const results = new Array<R>(parts.length);
    let remaining = parts.length;
    const req = workers.register((m) => {
      if (!('part' in m) || results[m.part] !== undefined) return;
      results[m.part] = m as R;
      if (--remaining === 0) {
        workers.release(req);
        resolve(results);
      }
    });
    parts.forEach((p, i) => workers.send(p.worker, { ...p.msg, req, part: i } as ToWorker));
  });
}
