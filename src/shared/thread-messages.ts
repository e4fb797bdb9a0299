/**
 * The binary messages that cross the rings between the main thread and a partition worker.
 * Hot-path only: produce, fetch and list-offsets parts and their results. Control traffic
 * (which partitions a worker hosts, shutdown) goes over postMessage.
 *
 * Every message starts with a u8 type and a u32 request id (offset 4), so either side can
 * route a message before decoding the rest. Offsets and timestamps travel as float64, which is
 * exact for every integer below 2^53. Strings are u16 length + UTF-8. All little-endian.
 * A bytes field is u32 length | u8 skip | skip bytes (0-7) | the bytes, where skip puts the
 * bytes at the same offset modulo 8 as in the sender's buffer: V8 copies to and from shared
 * memory word by word only when both sides share that alignment, and byte by byte otherwise
 * (1.7 against 13 GB/s for a 16 KiB batch on a 2-core VM). The receiver copies them out into
 * a buffer aligned like the ring for the same reason.
 *
 *   main -> worker
 *   PRODUCE       type u8 | acks i8 | markers u8 | - u8 | req u32 | part u32 | partition i32 | leaderEpoch i32
 *                 | timeoutMs i32 | sentAt f64 | topic str | records bytes
 *                 (leaderEpoch: the leadership the write is meant for; sentAt: clock.ts time;
 *                 markers 1: transaction markers from a coordinator, which clients may not write)
 *   FETCH         type u8 | watch u8 | readCommitted u8 | - u8 | req u32 | part u32 | partition i32 | maxBytes i32
 *                 | offset f64 | replicaId i32 | lastFetchedEpoch i32 | currentLeaderEpoch i32
 *                 | topic str
 *                 (replicaId -1: a consumer; >= 0: a follower broker fetching to replicate)
 *   LIST_OFFSETS  type u8 | readCommitted u8 | - u16 | req u32 | part u32 | partition i32
 *                 | currentLeaderEpoch i32 | timestamp f64 | topic str
 *                 (currentLeaderEpoch -1: the sender does not check the leader's epoch)
 *   UNWATCH       type u8 | - u8 | - u16 | req u32
 *
 *   worker -> main
 *   PRODUCE_RESULT      type u8 | - u8 | error i16 | req u32 | part u32 | toWorkerUs i32
 *                       | baseOffset f64 | logAppendTime f64 | logStartOffset f64 | sentAt f64
 *                       | localUs i32 | queuedUs i32 | syncUs i32 | remoteUs i32 | errorMessage str
 *                       (where the part's time went in the worker: request-metrics.ts;
 *                       errorMessage empty when there is none)
 *   FETCH_RESULT        type u8 | - u8 | error i16 | req u32 | part u32 | divergingEpoch i32
 *                       | highWatermark f64 | logStartOffset f64 | divergingEndOffset f64
 *                       | lastStableOffset f64 | abortedCount u32
 *                       | aborted transactions, each: producerId f64 | firstOffset f64
 *                       | records bytes   (divergingEpoch -1: the follower's log agrees)
 *   LIST_OFFSETS_RESULT type u8 | - u8 | error i16 | req u32 | part u32 | leaderEpoch i32
 *                       | offset f64 | timestamp f64
 *   WAKE                type u8 | - u8 | - u16 | req u32   (data arrived for a watched fetch)
 */
import { processNow } from './clock.js';
import { RingProducer } from './ring.js';

export const enum MsgType {
  PRODUCE = 1,
  FETCH = 2,
  LIST_OFFSETS = 3,
  UNWATCH = 4,
  PRODUCE_RESULT = 11,
  FETCH_RESULT = 12,
  LIST_OFFSETS_RESULT = 13,
  WAKE = 14,
}

export interface ProduceMsg {
  type: MsgType.PRODUCE;
  req: number;
  part: number;
  acks: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  timeoutMs: number;
  /** When it was written to the ring (clock.ts): stamped by writeMessage, read back on the other side. */
  sentAt?: number;
  records: Uint8Array;
  /** Transaction markers from a transaction coordinator (control batches allowed). */
  markers?: boolean;
}
export interface FetchMsg {
  type: MsgType.FETCH;
  req: number;
  part: number;
  watch: boolean;
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
  replicaId: number;
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  /** isolation_level 1: only up to the last stable offset, with the aborted transactions. */
  readCommitted?: boolean;
}
export interface ListOffsetsMsg {
  type: MsgType.LIST_OFFSETS;
  req: number;
  part: number;
  topic: string;
  partition: number;
  currentLeaderEpoch: number;
  timestamp: number;
  /** isolation_level 1: "latest" is the last stable offset. */
  readCommitted?: boolean;
}
export interface UnwatchMsg {
  type: MsgType.UNWATCH;
  req: number;
}
export interface ProduceResultMsg {
  type: MsgType.PRODUCE_RESULT;
  req: number;
  part: number;
  error: number;
  baseOffset: number;
  logAppendTime: number;
  logStartOffset: number;
  /** When it was written to the ring (clock.ts): stamped by writeMessage. */
  sentAt?: number;
  /** From the main thread's send to the worker taking it up. */
  toWorkerUs: number;
  /** Validating and writing the batch. */
  localUs: number;
  /** Written, waiting for a group-commit round to start. */
  queuedUs: number;
  /** The fdatasync round. */
  syncUs: number;
  /** Durable here, waiting for the in-sync replicas. */
  remoteUs: number;
  /** Why the append was refused, as the produce response tells the client. */
  errorMessage?: string;
}
export interface FetchResultMsg {
  type: MsgType.FETCH_RESULT;
  req: number;
  part: number;
  error: number;
  highWatermark: number;
  logStartOffset: number;
  divergingEpoch: number;
  divergingEndOffset: number;
  records: Uint8Array;
  /** -1 when unknown (an error); the high watermark when no transaction is open. */
  lastStableOffset?: number;
  /** For a read_committed fetch: the aborted transactions with records in the range read. */
  abortedTransactions?: AbortedTransaction[];
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}
export interface ListOffsetsResultMsg {
  type: MsgType.LIST_OFFSETS_RESULT;
  req: number;
  part: number;
  error: number;
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}
export interface WakeMsg {
  type: MsgType.WAKE;
  req: number;
}

export type ToWorker = ProduceMsg | FetchMsg | ListOffsetsMsg | UnwatchMsg;
export type FromWorker = ProduceResultMsg | FetchResultMsg | ListOffsetsResultMsg | WakeMsg;
export type ThreadMessage = ToWorker | FromWorker;

/** Length, skip count and the most skipped bytes of a bytes field. */
const BYTES_OVERHEAD = 4 + 1 + 7;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodedSize(m: ThreadMessage, text: Uint8Array | null): number {
  switch (m.type) {
    case MsgType.PRODUCE:
      return 32 + 2 + text!.length + BYTES_OVERHEAD + m.records.length;
    case MsgType.FETCH:
      return 40 + 2 + text!.length;
    case MsgType.LIST_OFFSETS:
      return 28 + 2 + text!.length;
    case MsgType.UNWATCH:
    case MsgType.WAKE:
      return 8;
    case MsgType.PRODUCE_RESULT:
      return 64 + 2 + text!.length;
    case MsgType.FETCH_RESULT:
      return 52 + 16 * (m.abortedTransactions?.length ?? 0) + BYTES_OVERHEAD + m.records.length;
    case MsgType.LIST_OFFSETS_RESULT:
      return 32;
  }
}

/**
 * Topic names as UTF-8, kept per sending thread: every part of every request names its topic,
 * and encoding it each time was a visible share of the main thread's allocations. Cleared
 * whole when it grows past the limit, so deleted topics cannot pile up.
 */
const topicBytes = new Map<string, Uint8Array>();
const TOPIC_CACHE_LIMIT = 10_000;

function encodeTopic(topic: string): Uint8Array {
  let b = topicBytes.get(topic);
  if (b === undefined) {
    if (topicBytes.size >= TOPIC_CACHE_LIMIT) topicBytes.clear();
    b = encoder.encode(topic);
    topicBytes.set(topic, b);
  }
  return b;
}

const NO_TEXT = new Uint8Array(0);
/** Error messages longer than this are cut: they travel as a str (u16 length, UTF-8). */
const MAX_ERROR_MESSAGE_CHARS = 2000;

/** A message's str field: a request's topic, a produce result's error message. */
function textOf(m: ThreadMessage): Uint8Array | null {
  if (m.type === MsgType.PRODUCE_RESULT) return m.errorMessage ? encoder.encode(m.errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS)) : NO_TEXT;
  return m.type === MsgType.PRODUCE || m.type === MsgType.FETCH || m.type === MsgType.LIST_OFFSETS
    ? encodeTopic(m.topic)
    : null;
}

/** Writes one message into the ring; false when it does not fit now. */
export function writeMessage(ring: RingProducer, m: ThreadMessage): boolean {
  const text = textOf(m);
  const at = ring.reserve(encodedSize(m, text));
  if (at < 0) return false;
  const v = ring.view;
  v.setUint8(at, m.type);
  v.setUint32(at + 4, m.req, true);
  switch (m.type) {
    case MsgType.PRODUCE: {
      v.setInt8(at + 1, m.acks);
      v.setUint8(at + 2, m.markers ? 1 : 0);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.partition, true);
      v.setInt32(at + 16, m.leaderEpoch, true);
      v.setInt32(at + 20, m.timeoutMs, true);
      v.setFloat64(at + 24, processNow(), true);
      writeBytes(ring, writeStr(ring, at + 32, text!), m.records);
      break;
    }
    case MsgType.FETCH:
      v.setUint8(at + 1, m.watch ? 1 : 0);
      v.setUint8(at + 2, m.readCommitted ? 1 : 0);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.partition, true);
      v.setInt32(at + 16, m.maxBytes, true);
      v.setFloat64(at + 20, m.offset, true);
      v.setInt32(at + 28, m.replicaId, true);
      v.setInt32(at + 32, m.lastFetchedEpoch, true);
      v.setInt32(at + 36, m.currentLeaderEpoch, true);
      writeStr(ring, at + 40, text!);
      break;
    case MsgType.LIST_OFFSETS:
      v.setUint8(at + 1, m.readCommitted ? 1 : 0);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.partition, true);
      v.setInt32(at + 16, m.currentLeaderEpoch, true);
      v.setFloat64(at + 20, m.timestamp, true);
      writeStr(ring, at + 28, text!);
      break;
    case MsgType.UNWATCH:
    case MsgType.WAKE:
      break;
    case MsgType.PRODUCE_RESULT:
      v.setInt16(at + 2, m.error, true);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.toWorkerUs, true);
      v.setFloat64(at + 16, m.baseOffset, true);
      v.setFloat64(at + 24, m.logAppendTime, true);
      v.setFloat64(at + 32, m.logStartOffset, true);
      v.setFloat64(at + 40, processNow(), true);
      v.setInt32(at + 48, m.localUs, true);
      v.setInt32(at + 52, m.queuedUs, true);
      v.setInt32(at + 56, m.syncUs, true);
      v.setInt32(at + 60, m.remoteUs, true);
      writeStr(ring, at + 64, text!);
      break;
    case MsgType.FETCH_RESULT:
      v.setInt16(at + 2, m.error, true);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.divergingEpoch, true);
      v.setFloat64(at + 16, m.highWatermark, true);
      v.setFloat64(at + 24, m.logStartOffset, true);
      v.setFloat64(at + 32, m.divergingEndOffset, true);
      v.setFloat64(at + 40, m.lastStableOffset ?? -1, true);
      writeAborted(v, at + 48, m.abortedTransactions ?? []);
      writeBytes(ring, at + 52 + 16 * (m.abortedTransactions?.length ?? 0), m.records);
      break;
    case MsgType.LIST_OFFSETS_RESULT:
      v.setInt16(at + 2, m.error, true);
      v.setUint32(at + 8, m.part, true);
      v.setInt32(at + 12, m.leaderEpoch, true);
      v.setFloat64(at + 16, m.offset, true);
      v.setFloat64(at + 24, m.timestamp, true);
      break;
  }
  ring.publish();
  return true;
}

function writeStr(ring: RingProducer, at: number, s: Uint8Array): number {
  ring.view.setUint16(at, s.length, true);
  ring.bytes.set(s, at + 2);
  return at + 2 + s.length;
}

function writeBytes(ring: RingProducer, at: number, b: Uint8Array): void {
  const skip = (b.byteOffset - (at + 5)) & 7;
  ring.view.setUint32(at, b.length, true);
  ring.view.setUint8(at + 4, skip);
  ring.bytes.set(b, at + 5 + skip);
}

function writeAborted(v: DataView, at: number, aborted: readonly AbortedTransaction[]): void {
  v.setUint32(at, aborted.length, true);
  for (let i = 0; i < aborted.length; i++) {
    v.setFloat64(at + 4 + i * 16, aborted[i]!.producerId, true);
    v.setFloat64(at + 12 + i * 16, aborted[i]!.firstOffset, true);
  }
}

function readAborted(v: DataView, at: number): AbortedTransaction[] {
  const n = v.getUint32(at, true);
  const out: AbortedTransaction[] = [];
  for (let i = 0; i < n; i++) out.push({ producerId: v.getFloat64(at + 4 + i * 16, true), firstOffset: v.getFloat64(at + 12 + i * 16, true) });
  return out;
}

function readStr(bytes: Uint8Array, v: DataView, at: number): string {
  const n = v.getUint16(at, true);
  return decoder.decode(bytes.subarray(at + 2, at + 2 + n));
}

/** Copies a bytes field out of the ring: the ring reuses its space once the drain returns. */
function readBytes(bytes: Uint8Array, v: DataView, at: number): Buffer {
  const length = v.getUint32(at, true);
  const start = at + 5 + v.getUint8(at + 4);
  const b = Buffer.allocUnsafe(length + 7);
  const shift = (start - b.byteOffset) & 7;
  const out = b.subarray(shift, shift + length);
  out.set(bytes.subarray(start, start + length));
  return out;
}

/** Decodes one message at `at`; byte payloads are copied, so the result outlives the drain. */
export function readMessage(bytes: Uint8Array, v: DataView, at: number): ThreadMessage {
  const type = v.getUint8(at) as MsgType;
  const req = v.getUint32(at + 4, true);
  switch (type) {
    case MsgType.PRODUCE: {
      const n = v.getUint16(at + 32, true);
      return {
        type,
        req,
        acks: v.getInt8(at + 1),
        markers: v.getUint8(at + 2) === 1,
        part: v.getUint32(at + 8, true),
        partition: v.getInt32(at + 12, true),
        leaderEpoch: v.getInt32(at + 16, true),
        timeoutMs: v.getInt32(at + 20, true),
        sentAt: v.getFloat64(at + 24, true),
        topic: readStr(bytes, v, at + 32),
        records: readBytes(bytes, v, at + 34 + n),
      };
    }
    case MsgType.FETCH:
      return {
        type,
        req,
        watch: v.getUint8(at + 1) === 1,
        readCommitted: v.getUint8(at + 2) === 1,
        part: v.getUint32(at + 8, true),
        partition: v.getInt32(at + 12, true),
        maxBytes: v.getInt32(at + 16, true),
        offset: v.getFloat64(at + 20, true),
        replicaId: v.getInt32(at + 28, true),
        lastFetchedEpoch: v.getInt32(at + 32, true),
        currentLeaderEpoch: v.getInt32(at + 36, true),
        topic: readStr(bytes, v, at + 40),
      };
    case MsgType.LIST_OFFSETS:
      return {
        type,
        req,
        part: v.getUint32(at + 8, true),
        partition: v.getInt32(at + 12, true),
        currentLeaderEpoch: v.getInt32(at + 16, true),
        timestamp: v.getFloat64(at + 20, true),
        readCommitted: v.getUint8(at + 1) === 1,
        topic: readStr(bytes, v, at + 28),
      };
    case MsgType.UNWATCH:
    case MsgType.WAKE:
      return { type, req };
    case MsgType.PRODUCE_RESULT:
      return {
        type,
        req,
        part: v.getUint32(at + 8, true),
        error: v.getInt16(at + 2, true),
        baseOffset: v.getFloat64(at + 16, true),
        logAppendTime: v.getFloat64(at + 24, true),
        logStartOffset: v.getFloat64(at + 32, true),
        sentAt: v.getFloat64(at + 40, true),
        toWorkerUs: v.getInt32(at + 12, true),
        localUs: v.getInt32(at + 48, true),
        queuedUs: v.getInt32(at + 52, true),
        syncUs: v.getInt32(at + 56, true),
        remoteUs: v.getInt32(at + 60, true),
        errorMessage: v.getUint16(at + 64, true) === 0 ? undefined : readStr(bytes, v, at + 64),
      };
    case MsgType.FETCH_RESULT: {
      const abortedTransactions = readAborted(v, at + 48);
      return {
        type,
        req,
        part: v.getUint32(at + 8, true),
        error: v.getInt16(at + 2, true),
        divergingEpoch: v.getInt32(at + 12, true),
        highWatermark: v.getFloat64(at + 16, true),
        logStartOffset: v.getFloat64(at + 24, true),
        divergingEndOffset: v.getFloat64(at + 32, true),
        lastStableOffset: v.getFloat64(at + 40, true),
        abortedTransactions,
        records: readBytes(bytes, v, at + 52 + 16 * abortedTransactions.length),
      };
    }
    case MsgType.LIST_OFFSETS_RESULT:
      return {
        type,
        req,
        part: v.getUint32(at + 8, true),
        error: v.getInt16(at + 2, true),
        leaderEpoch: v.getInt32(at + 12, true),
        offset: v.getFloat64(at + 16, true),
        timestamp: v.getFloat64(at + 24, true),
      };
    default:
      throw new Error(`unknown thread message type ${type}`);
  }
}

/**
 * The sending side of a ring with a queue in front: when the ring is full, messages wait in
 * order and go out as the consumer frees space. Never blocks the thread.
 */
export class Outbox {
  private readonly queue: ThreadMessage[] = [];
  private waiting = false;

  constructor(private readonly ring: RingProducer) {}

  send(m: ThreadMessage): void {
    if (this.queue.length === 0 && writeMessage(this.ring, m)) return;
    this.queue.push(m);
    if (!this.waiting) void this.flushWhenSpace();
  }

  private async flushWhenSpace(): Promise<void> {
    this.waiting = true;
    while (this.queue.length > 0) {
      while (this.queue.length > 0 && writeMessage(this.ring, this.queue[0]!)) this.queue.shift();
      if (this.queue.length > 0) await this.ring.waitForSpace();
    }
    this.waiting = false;
  }
}
