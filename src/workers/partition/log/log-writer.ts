/**
 * A partition log's write path: appends whose offsets are assigned wait here in order, and
 * one writer takes everything queued since its last write and issues one positional write per
 * segment touched (normally one). So a burst of appends costs one syscall, and a single append
 * is written at once. One write at a time: the next starts when the previous one is done.
 *
 * A rolled segment's zeros written ahead (segment.ts) are cut by the next write round, in
 * the same round as the next segment's data, so the group commit that makes that data
 * durable makes the cut durable too.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { PendingAppend } from './append-result.js';
import type { LogSegment } from './segment.js';

/** What the writer needs of its log. */
export interface LogWriterHost {
  /** One append per write: the fsync-per-append baseline. */
  readonly syncEachAppend: boolean;
  isOffline(): boolean;
  activeSegment(): LogSegment;
  /** log.zero.ahead.bytes, for the active segment. */
  zeroAheadBytes(): number;
  /** The appends are in the files; `segments` now hold unsynced bytes. */
  written(appends: PendingAppend[], segments: LogSegment[]): void;
  /** A write failed: the log goes offline. */
  failed(err: unknown): void;
}

export class LogWriter {
  private queue: PendingAppend[] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];
  /** Segments rolled since the last write round: their zeros written ahead are cut by the next one. */
  private rolled: LogSegment[] = [];
  /** The writes of the latest round and their bookkeeping. */
  private roundDone: Promise<void> = Promise.resolve();

  constructor(private readonly host: LogWriterHost) {}

  enqueue(a: PendingAppend): void {
    this.queue.push(a);
    this.kick();
  }

  /** `seg` stopped being the active segment. */
  rolledAway(seg: LogSegment): void {
    this.rolled.push(seg);
  }

  /** Resolves once every append queued so far is written (or failed). */
  whenIdle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once the write round started last is over, done or failed. */
  lastRound(): Promise<void> {
    return this.roundDone.catch(() => undefined);
  }

  /** The log went offline: what is queued fails, and nothing more is written until `reset`. */
  failQueued(errorMessage: string): void {
    this.writing = false;
    for (const a of this.queue.splice(0)) a.complete(ErrorCode.KAFKA_STORAGE_ERROR, errorMessage);
    this.notifyIdle();
  }

  /** Back online: an empty queue. */
  reset(): void {
    this.queue = [];
    this.writing = false;
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    queueMicrotask(() => this.round());
  }

  private round(): void {
    const host = this.host;
    if (host.isOffline()) return;
    const appends = host.syncEachAppend ? this.queue.splice(0, 1) : this.queue.splice(0);
    const bySegment = new Map<LogSegment, PendingAppend[]>();
    for (const a of appends) {
      const list = bySegment.get(a.segment);
      if (list) list.push(a);
      else bySegment.set(a.segment, [a]);
    }
    // Rounds run one at a time: every earlier write to a rolled segment (zeros included) is done.
    const trimmed = this.rolled.splice(0);
    for (const seg of trimmed) if (!bySegment.has(seg)) bySegment.set(seg, []);
    const segments = [...bySegment.keys()];
    const writes: Promise<unknown>[] = [];
    for (const [seg, list] of bySegment) {
      seg.acquire();
      if (list.length) writes.push(seg.write(list.map((a) => a.records), list[0]!.position, seg === host.activeSegment() ? host.zeroAheadBytes() : 0));
    }
    for (const seg of trimmed) writes.push(seg.trimTail());
    this.roundDone = Promise.all(writes).then(
      () => {
        for (const [seg, list] of bySegment) {
          const last = list[list.length - 1];
          if (last) seg.writtenSize = Math.max(seg.writtenSize, last.position + last.records.length);
        }
        host.written(appends, segments);
        for (const seg of segments) seg.release();
        this.writing = false;
        if (this.queue.length) this.kick();
        else this.notifyIdle();
      },
      (err: unknown) => {
        for (const seg of segments) seg.release();
        for (const a of appends) a.complete(ErrorCode.KAFKA_STORAGE_ERROR, `write failed: ${String(err)}`);
        host.failed(err);
      },
    );
  }

  private notifyIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
