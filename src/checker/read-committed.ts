/**
 * What a read_committed consumer keeps of one Fetch answer, decided as Kafka's consumer decides
 * it (its CompletedFetch): the answer stops at the last stable offset and lists the aborted
 * transactions that overlap it, each as (producer id, first offset). Walking the batches in
 * offset order, an aborted transaction whose first offset is at or below a transactional
 * batch's last offset marks its producer aborted; that producer's transactional batches are
 * dropped until its ABORT marker clears the mark. Control batches (the markers) are never
 * records to the application. Pure: parsed batches in, records out.
 */
import { ControlType } from '../shared/control-records.js';
import type { ReadBatch, ReadRecord } from './record-set.js';

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface CommittedRead {
  records: ReadRecord[];
  /** The offset after the last complete batch (markers and dropped batches included). */
  nextOffset: number | undefined;
}

function isAbortMarker(b: ReadBatch): boolean {
  const key = b.records[0]?.key;
  return b.control && !!key && key.length >= 4 && key.readInt16BE(2) === ControlType.ABORT;
}

export function committedRecords(batches: ReadBatch[], aborted: AbortedTransaction[], fromOffset: number): CommittedRead {
  const pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const records: ReadRecord[] = [];
  let nextOffset: number | undefined;
  for (const b of batches) {
    nextOffset = b.lastOffset + 1;
    if (b.producerId >= 0) {
      while (pending.length > 0 && pending[0]!.firstOffset <= b.lastOffset) abortedProducers.add(pending.shift()!.producerId);
      if (isAbortMarker(b)) abortedProducers.delete(b.producerId);
      else if (b.transactional && abortedProducers.has(b.producerId)) continue;
    }
    if (b.control) continue;
    for (const r of b.records) if (r.offset >= fromOffset) records.push(r);
  }
  return { records, nextOffset };
}
