/**
 * Producer-state snapshots: `<offset>.snapshot` in the partition dir (the offset in 20
 * zero-padded digits, like segment names), holding the producer state (producer-state.ts)
 * of every batch below that offset. Written when a segment rolls (at the new segment's base
 * offset) and at a clean close (at the log end offset), so that recovery replays at most the
 * active segment's batch headers instead of the whole log, as Kafka's snapshots do.
 *
 * Layout, big-endian:
 *
 *    0  version        int16   3
 *    2  crc            uint32  CRC32C of bytes [6, end)
 *    6  producerCount  int32
 *   10  producers, each:
 *         producerId int64 | epoch int16 | lastTimestamp int64 | txnFirstOffset int64
 *         | batchCount int8 (0..5)
 *         batches, oldest first, each:
 *           firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64 | timestamp int64
 *
 * Older versions are still read. Version 2 is version 3 followed by the partition's aborted
 * transactions (abortedCount int32, then producerId | firstOffset | lastOffset |
 * lastStableOffset, int64 each), from before they had their segments' transaction indexes
 * (txn-index.ts): a recovery that loads such a snapshot adds them to those indexes. Version 1
 * has no transactions: no txnFirstOffset, batchCount 1..5, no aborted list.
 *
 * Kafka's own snapshot keeps only each producer's last batch; this one keeps the five the
 * duplicate check uses, so a retry still finds its batch after a restart.
 *
 * A file is written whole to `<name>.tmp`, fsynced, renamed and its dir fsynced: a crash
 * leaves the old set of snapshots or the new one. A file that fails its CRC is ignored. The
 * snapshot of a clean shutdown skips the fsyncs (see writeSnapshot).
 */
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '../../../shared/crc32c.js';
import { replaceFile } from './checkpoint-file.js';
import { BATCHES_PER_PRODUCER, type BatchMetadata, type ProducerEntry } from './producer-state.js';
import type { AbortedTxn } from './txn-index.js';

const VERSION = 3;
const VERSION_WITH_ABORTED = 2;
const HEADER_SIZE = 10;
const PRODUCER_SIZE = 8 + 2 + 8 + 8 + 1;
const PRODUCER_SIZE_V1 = 8 + 2 + 8 + 1;
const BATCH_SIZE = 4 + 4 + 8 + 8 + 8;
const ABORTED_SIZE = 8 + 8 + 8 + 8;

export interface SnapshotContents {
  entries: ProducerEntry[];
  /** The aborted transactions a version 2 snapshot lists (none in later versions). */
  legacyAborted: AbortedTxn[];
}
const SNAPSHOT_PATTERN = /^(\d{20})\.snapshot$/;

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

export function encodeSnapshot(entries: readonly ProducerEntry[]): Buffer {
  let size = HEADER_SIZE;
  for (const e of entries) size += PRODUCER_SIZE + e.batches.length * BATCH_SIZE;
  const buf = Buffer.alloc(size);
  buf.writeInt16BE(VERSION, 0);
  buf.writeInt32BE(entries.length, 6);
  let p = HEADER_SIZE;
  for (const e of entries) {
    buf.writeBigInt64BE(BigInt(e.producerId), p);
    buf.writeInt16BE(e.epoch, p + 8);
    buf.writeBigInt64BE(BigInt(e.lastTimestamp), p + 10);
    buf.writeBigInt64BE(BigInt(e.txnFirstOffset), p + 18);
    buf.writeInt8(e.batches.length, p + 26);
    p += PRODUCER_SIZE;
    for (const b of e.batches) {
      buf.writeInt32BE(b.firstSeq, p);
      buf.writeInt32BE(b.lastSeq, p + 4);
      buf.writeBigInt64BE(BigInt(b.firstOffset), p + 8);
      buf.writeBigInt64BE(BigInt(b.lastOffset), p + 16);
      buf.writeBigInt64BE(BigInt(b.timestamp), p + 24);
      p += BATCH_SIZE;
    }
  }
  buf.writeUInt32BE(crc32c(buf, 6, size), 2);
  return buf;
}

/** The contents, or undefined when the bytes are not a whole snapshot of a known version. */
export function decodeSnapshot(buf: Buffer): SnapshotContents | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  const version = buf.readInt16BE(0);
  if (version < 1 || version > VERSION) return undefined;
  if (crc32c(buf, 6, buf.length) !== buf.readUInt32BE(2)) return undefined;
  const count = buf.readInt32BE(6);
  const entries: ProducerEntry[] = [];
  const producerSize = version === 1 ? PRODUCER_SIZE_V1 : PRODUCER_SIZE;
  let p = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (p + producerSize > buf.length) return undefined;
    const producerId = Number(buf.readBigInt64BE(p));
    const epoch = buf.readInt16BE(p + 8);
    const lastTimestamp = Number(buf.readBigInt64BE(p + 10));
    const txnFirstOffset = version === 1 ? -1 : Number(buf.readBigInt64BE(p + 18));
    const n = buf.readInt8(p + producerSize - 1);
    p += producerSize;
    if (n < (version === 1 ? 1 : 0) || n > BATCHES_PER_PRODUCER || p + n * BATCH_SIZE > buf.length) return undefined;
    const batches: BatchMetadata[] = [];
    for (let j = 0; j < n; j++) {
      batches.push({
        firstSeq: buf.readInt32BE(p),
        lastSeq: buf.readInt32BE(p + 4),
        firstOffset: Number(buf.readBigInt64BE(p + 8)),
        lastOffset: Number(buf.readBigInt64BE(p + 16)),
        timestamp: Number(buf.readBigInt64BE(p + 24)),
      });
      p += BATCH_SIZE;
    }
    entries.push({ producerId, epoch, batches, lastTimestamp, txnFirstOffset });
  }
  const aborted: AbortedTxn[] = [];
  if (version !== VERSION_WITH_ABORTED) return p === buf.length ? { entries, legacyAborted: aborted } : undefined;
  if (p + 4 > buf.length) return undefined;
  const abortedCount = buf.readInt32BE(p);
  p += 4;
  if (abortedCount < 0 || p + abortedCount * ABORTED_SIZE !== buf.length) return undefined;
  for (let i = 0; i < abortedCount; i++) {
    aborted.push({
      producerId: Number(buf.readBigInt64BE(p)),
      firstOffset: Number(buf.readBigInt64BE(p + 8)),
      lastOffset: Number(buf.readBigInt64BE(p + 16)),
      lastStableOffset: Number(buf.readBigInt64BE(p + 24)),
    });
    p += ABORTED_SIZE;
  }
  return { entries, legacyAborted: aborted };
}

/**
 * Offsets of the snapshots in `dir`, ascending. Listing and reading are synchronous, as the
 * checkpoint reads are (checkpoint-file.ts): a start does both for every partition.
 */
export function listSnapshots(dir: string): number[] {
  const names = readdirSync(dir);
  const offsets: number[] = [];
  for (const n of names) {
    const m = SNAPSHOT_PATTERN.exec(n);
    if (m) offsets.push(Number(m[1]));
  }
  return offsets.sort((a, b) => a - b);
}

/**
 * `durable` false skips the fsyncs: for the snapshot of a clean shutdown, whose loss (or a torn
 * file, which fails its CRC) only makes the next start replay from an older one.
 */
export async function writeSnapshot(dir: string, offset: number, bytes: Buffer, durable = true): Promise<void> {
  await replaceFile(path.join(dir, snapshotFileName(offset)), bytes, durable);
}

/** The snapshot's contents; undefined when the file is missing or damaged. */
export function readSnapshot(dir: string, offset: number): SnapshotContents | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(dir, snapshotFileName(offset)));
  } catch {
    return undefined;
  }
  return decodeSnapshot(bytes);
}

/** Deletes the snapshots whose offset `doomed` accepts (among `offsets`, when the caller listed them). */
export async function deleteSnapshots(dir: string, doomed: (offset: number) => boolean, offsets = listSnapshots(dir)): Promise<void> {
  await Promise.all(offsets.filter(doomed).map((o) => fs.rm(path.join(dir, snapshotFileName(o)), { force: true })));
}
