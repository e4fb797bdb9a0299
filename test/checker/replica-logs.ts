/**
 * Reads a partition replica's log straight from a stopped broker's data dir, to check that
 * all replicas hold byte-identical logs below the high watermark.
 *
 * Layout read here (see src/workers/partition/log/segment.ts): `<log.dirs>/<topic>-<partition>/`
 * holds segments `<20-digit base offset>.log`, each record batches back to back; a batch starts
 * with baseOffset int64, batchLength int32 (bytes after this field), and its lastOffsetDelta is
 * the int32 at byte 23. Segments may be cut at different offsets on different replicas, so the
 * batches of all segments are joined in offset order before comparing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBatches, type ReadRecord } from '../../src/checker/record-set.js';

export interface ReplicaLog {
  /** The batches whose last offset is below the high watermark, joined. */
  bytes: Buffer;
  /** Their records as a consumer reads them: those of transaction markers are not data. */
  records: ReadRecord[];
}

export function readReplicaLog(dataDir: string, topic: string, partition: number, highWatermark: number): ReplicaLog {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const segments = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  const kept: Buffer[] = [];
  for (const s of segments) {
    const buf = readFileSync(path.join(dir, s));
    let pos = 0;
    while (pos + 12 <= buf.length) {
      const baseOffset = Number(buf.readBigInt64BE(pos));
      const end = pos + 12 + buf.readInt32BE(pos + 8);
      if (end > buf.length || end <= pos + 12) break;
      const lastOffset = baseOffset + buf.readInt32BE(pos + 23);
      if (lastOffset < highWatermark) kept.push(buf.subarray(pos, end));
      pos = end;
    }
  }
  const bytes = Buffer.concat(kept);
  return { bytes, records: parseBatches(bytes).filter((b) => !b.control).flatMap((b) => b.records) };
}
