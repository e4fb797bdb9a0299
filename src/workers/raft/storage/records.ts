/**
 * The on-disk encoding of the metadata log: protobuf messages (schema defined here, in
 * code) inside CRC-checked frames.
 *
 * Frame (all integers big-endian):
 *
 *   +-----------------+-----------------+------------------------+
 *   | length: uint32  | crc32: uint32   | payload: length bytes  |
 *   +-----------------+-----------------+------------------------+
 *
 * `crc32` is zlib's CRC-32 (IEEE) of the payload. A frame that is cut short, longer than
 * MAX_RECORD_BYTES, or whose CRC does not match marks the end of the valid data: it is
 * what a crash in the middle of a write leaves behind.
 */
import { crc32 } from 'node:zlib';
import protobuf from 'protobufjs';
import type { Entry, HardState } from '../core/types.js';

export const FRAME_HEADER_BYTES = 8;
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const root = protobuf.Root.fromJSON({
  nested: {
    LogEntry: {
      fields: { index: { type: 'uint64', id: 1 }, term: { type: 'uint64', id: 2 }, data: { type: 'bytes', id: 3 } },
    },
    HardState: {
      fields: { term: { type: 'uint64', id: 1 }, vote: { type: 'uint32', id: 2 }, commit: { type: 'uint64', id: 3 } },
    },
    SnapshotHeader: {
      fields: { index: { type: 'uint64', id: 1 }, term: { type: 'uint64', id: 2 } },
    },
  },
});
const LogEntryType = root.lookupType('LogEntry');
const HardStateType = root.lookupType('HardState');
const SnapshotHeaderType = root.lookupType('SnapshotHeader');
const AS_NUMBERS = { longs: Number, defaults: true };

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** The payload of the frame at `pos`, or undefined when the bytes there are not a whole, intact frame. */
export function readFrame(buf: Buffer, pos: number): { payload: Buffer; next: number } | undefined {
  if (pos + FRAME_HEADER_BYTES > buf.length) return undefined;
  const length = buf.readUInt32BE(pos);
  if (length > MAX_RECORD_BYTES || pos + FRAME_HEADER_BYTES + length > buf.length) return undefined;
  const payload = buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length);
  if (crc32(payload) !== buf.readUInt32BE(pos + 4)) return undefined;
  return { payload, next: pos + FRAME_HEADER_BYTES + length };
}

export function encodeEntry(e: Entry): Uint8Array {
  return LogEntryType.encode({ index: e.index, term: e.term, data: e.data }).finish();
}

export function decodeEntry(payload: Uint8Array): Entry {
  const o = LogEntryType.toObject(LogEntryType.decode(payload), AS_NUMBERS) as { index: number; term: number; data: Uint8Array };
  return { index: o.index, term: o.term, data: o.data };
}

export function encodeHardState(hs: HardState): Uint8Array {
  return HardStateType.encode(hs).finish();
}

export function decodeHardState(payload: Uint8Array): HardState {
  const o = HardStateType.toObject(HardStateType.decode(payload), AS_NUMBERS) as HardState;
  return { term: o.term, vote: o.vote, commit: o.commit };
}

export function encodeSnapshotHeader(index: number, term: number): Uint8Array {
  return SnapshotHeaderType.encode({ index, term }).finish();
}

export function decodeSnapshotHeader(payload: Uint8Array): { index: number; term: number } {
  const o = SnapshotHeaderType.toObject(SnapshotHeaderType.decode(payload), AS_NUMBERS) as { index: number; term: number };
  return { index: o.index, term: o.term };
}
