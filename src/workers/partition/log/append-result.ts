/**
 * What an append to a partition log answers, and the append itself on its way from the
 * offsets it was given to the file and then to durability.
 */
import type { LogSegment } from './segment.js';

export type Acks = 0 | 1 | -1;

export interface AppendResult {
  errorCode: number;
  baseOffset: number;
  lastOffset: number;
  /** -1: the batches keep their CreateTime timestamps. */
  logAppendTimeMs: number;
  logStartOffset: number;
  errorMessage?: string;
  /** When the write reached the file, its fdatasync round began and ended (performance.now(); 0: not reached). */
  writtenAt: number;
  syncStartAt: number;
  durableAt: number;
}

export function errorResult(errorCode: number, logStartOffset: number, errorMessage?: string): AppendResult {
  return { errorCode, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, logStartOffset, errorMessage, writtenAt: 0, syncStartAt: 0, durableAt: 0 };
}

export function okResult(baseOffset: number, lastOffset: number, logStartOffset: number): AppendResult {
  return { errorCode: 0, baseOffset, lastOffset, logAppendTimeMs: -1, logStartOffset, writtenAt: 0, syncStartAt: 0, durableAt: 0 };
}

export interface ReadResult {
  errorCode: number;
  /** Whole batches, possibly none. */
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
}

/** An append whose offsets are assigned, on its way to the file and then to durability. */
export interface PendingAppend {
  readonly records: Buffer;
  readonly segment: LogSegment;
  readonly position: number;
  readonly result: AppendResult;
  readonly acks: Acks;
  /** Settles the caller's promise; later calls are ignored. */
  complete(errorCode: number, errorMessage?: string): void;
}
