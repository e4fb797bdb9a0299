/**
 * The transaction coordinator for the transactional ids of one `__transaction_state`
 * partition, as pure logic: no timers, sockets or files. Every event carries `now` and returns
 * Effects: replies to complete (by the reply id the caller gave), records to append (their
 * outcome comes back through `persisted(token)`), and transaction markers to write to the
 * partitions of a transaction that is ending (their completion comes back through
 * `markersWritten`). The caller re-arms one timer at `nextDeadline()` and calls `tick`.
 *
 * States of a transactional id and the moves between them (Kafka's; txn-metadata.ts has the
 * rules of an end, and how transactions v2 bump the epoch there):
 *
 *   (new) ─InitProducerId─> Empty ─AddPartitions/AddOffsets─> Ongoing ─EndTxn(commit)─> PrepareCommit
 *                             ^                                  │                         │ markers
 *                             │                                  └─EndTxn(abort), timeout, │ written
 *                             │                                    InitProducerId (fence)  v
 *                             │                                    ─> PrepareAbort    CompleteCommit
 *                             │                                           │ markers        │
 *                             └─InitProducerId (epoch + 1)<── CompleteAbort <┘  ────────────┘
 *
 * - Every transition is persisted before anyone hears of it; while one is being written the
 *   id answers CONCURRENT_TRANSACTIONS, as it does in PrepareCommit and PrepareAbort.
 * - InitProducerId bumps the epoch, which fences the producer of the old epoch
 *   (PRODUCER_FENCED on its next request here, INVALID_PRODUCER_EPOCH at the partitions once
 *   the markers carry the new epoch). At the last epoch the id gets a fresh producer id.
 * - An Ongoing transaction past its timeout, or one whose id is initialized again, is aborted
 *   by the coordinator with the epoch bumped first, so its producer cannot go on writing
 *   (twice for a v2 transaction, whose end bumps it once more: the producer's retry of its
 *   own end is then fenced, not taken for the coordinator's).
 * - After a load, transactions found in PrepareCommit or PrepareAbort get their markers again:
 *   markers are idempotent at the partitions.
 * - An id with no transaction in progress (Empty, CompleteCommit, CompleteAbort) and no
 *   request for transactional.id.expiration.ms is removed with a tombstone.
 */
import { writeError } from '../coordinator-write-error.js';
import { ErrorCode } from '../errors.js';
import { encodeTxnKey, encodeTxnValue, TXN_STATE_NAMES, TxnState, type TopicPartitions, type TxnLogValue } from './records.js';
import {
  afterEnd, completeEnd, copyTxn, decideEnd, endExhaustsEpochs, EPOCH_BUMP_VERSION, fromLogValue, listPartitions,
  MAX_PRODUCER_EPOCH, prepareEnd, toLogValue, type TxnInput, type TxnMetadata,
} from './txn-metadata.js';

export { MAX_PRODUCER_EPOCH, type TxnInput, type TxnMetadata } from './txn-metadata.js';

export interface TxnOptions {
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms: an id without a transaction for this long is forgotten. */
  idExpirationMs: number;
}

export interface InitInput {
  transactionalId: string;
  timeoutMs: number;
  /** The producer id and epoch the client had (KIP-360), or -1. */
  producerId: number;
  producerEpoch: number;
  /** A fresh producer id from the controller, when `needsProducerId` said one is needed. */
  freshProducerId: number;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface EndResult {
  errorCode: number;
  /** The producer id and epoch of the client's next transaction (transactions v2), else -1. */
  producerId?: number;
  producerEpoch?: number;
}

export interface Reply {
  to: number;
  result: InitResult | EndResult;
}

export interface Write {
  token: number;
  key: Buffer;
  value: Buffer | null;
}

/** Control records to write: COMMIT or ABORT for this producer at every partition listed. */
export interface Markers {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  partitions: TopicPartitions[];
}

export interface Effects {
  replies: Reply[];
  writes: Write[];
  markers: Markers[];
}

export interface DescribedTxn {
  transactionalId: string;
  state: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  startMs: number;
  partitions: TopicPartitions[];
}

function effects(): Effects {
  return { replies: [], writes: [], markers: [] };
}

interface PendingWrite {
  transactionalId: string;
  /** null: a tombstone, the id goes. */
  target: TxnMetadata | null;
  /** Runs once the write is durable, on the state that now holds `target`. */
  then(fx: Effects, errorCode: number): void;
}

export class TxnStateMachine {
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private nextToken = 1;

  constructor(private readonly options: TxnOptions) {}

  get(transactionalId: string): Readonly<TxnMetadata> | undefined {
    return this.txns.get(transactionalId);
  }

  /** Whether InitProducerId for this id needs a fresh producer id (a new id, or the last epoch reached). */
  needsProducerId(transactionalId: string): boolean {
    const t = this.txns.get(transactionalId);
    return t === undefined || t.producerEpoch >= MAX_PRODUCER_EPOCH - 1;
  }

  /** Whether an EndTxn of this client version for this id needs a fresh producer id (v2, the last epoch reached). */
  endNeedsProducerId(transactionalId: string, clientVersion: number): boolean {
    const t = this.txns.get(transactionalId);
    return t !== undefined && endExhaustsEpochs(t, clientVersion);
  }

  // ---- client requests ---------------------------------------------------------------------

  initProducerId(now: number, to: number, i: InitInput): Effects {
    const fx = effects();
    const reply = (errorCode: number, producerId = -1, producerEpoch = -1): Effects => {
      fx.replies.push({ to, result: { errorCode, producerId, producerEpoch } });
      return fx;
    };
    if (i.timeoutMs <= 0 || i.timeoutMs > this.options.maxTimeoutMs) return reply(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const t = this.txns.get(i.transactionalId);
    if (t === undefined) {
      if (i.freshProducerId < 0) return reply(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      const target: TxnMetadata = {
        transactionalId: i.transactionalId,
        producerId: i.freshProducerId,
        producerEpoch: 0,
        lastProducerEpoch: -1,
        previousProducerId: -1,
        nextProducerId: -1,
        clientVersion: 0,
        timeoutMs: i.timeoutMs,
        state: TxnState.Empty,
        partitions: new Map(),
        startMs: -1,
        lastUpdateMs: now,
        pending: false,
      };
      this.write(fx, target, (out, err) => this.replyInit(out, to, err, target));
      return fx;
    }
    if (t.pending || t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort || t.state === TxnState.PrepareEpochFence) {
      return reply(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    if (i.producerId >= 0) {
      // KIP-360: a producer naming its id and epoch may only bump from where it is, or retry a bump it missed.
      const current = i.producerId === t.producerId && i.producerEpoch === t.producerEpoch;
      const retried = i.producerId === t.producerId && i.producerEpoch === t.lastProducerEpoch;
      if (retried && t.state !== TxnState.Ongoing) return reply(ErrorCode.NONE, t.producerId, t.producerEpoch);
      if (!current) return reply(ErrorCode.PRODUCER_FENCED);
    }
    if (t.state === TxnState.Ongoing) {
      this.fenceAndAbort(fx, now, t);
      return reply(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    const target = copyTxn(t);
    if (t.producerEpoch >= MAX_PRODUCER_EPOCH - 1) {
      if (i.freshProducerId < 0) return reply(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      target.producerId = i.freshProducerId;
      target.producerEpoch = 0;
      target.lastProducerEpoch = -1;
    } else {
      target.lastProducerEpoch = t.producerEpoch;
      target.producerEpoch = t.producerEpoch + 1;
    }
    target.timeoutMs = i.timeoutMs;
    target.state = TxnState.Empty;
    target.partitions = new Map();
    target.startMs = -1;
    target.lastUpdateMs = now;
    this.write(fx, target, (out, err) => this.replyInit(out, to, err, target));
    return fx;
  }

  /**
   * AddPartitionsToTxn and AddOffsetsToTxn (the group's offsets partition): one error for all.
   * `clientVersion` 2: a partition leader adding the partitions of a v2 transaction.
   */
  addPartitions(now: number, to: number, i: TxnInput, partitions: TopicPartitions[], clientVersion = 0): Effects {
    const fx = effects();
    const reply = (errorCode: number): Effects => {
      fx.replies.push({ to, result: { errorCode } });
      return fx;
    };
    const check = this.validate(i);
    if (check !== null) return reply(check);
    const t = this.txns.get(i.transactionalId)!;
    if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) return reply(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (t.state === TxnState.Ongoing && partitions.every((tp) => tp.partitions.every((p) => t.partitions.get(tp.topic)?.has(p)))) {
      return reply(ErrorCode.NONE);
    }
    const target = copyTxn(t);
    if (t.state !== TxnState.Ongoing) {
      target.partitions = new Map();
      target.startMs = now;
    }
    target.state = TxnState.Ongoing;
    target.clientVersion = clientVersion;
    target.lastUpdateMs = now;
    for (const tp of partitions) {
      let set = target.partitions.get(tp.topic);
      if (!set) target.partitions.set(tp.topic, (set = new Set()));
      for (const p of tp.partitions) set.add(p);
    }
    this.write(fx, target, (out, err) => out.replies.push({ to, result: { errorCode: err } }));
    return fx;
  }

  /**
   * EndTxn. `freshProducerId`: one from the controller when `endNeedsProducerId` said so. The
   * answer names the producer id and epoch the client goes on with (v2 bumps them).
   */
  endTxn(now: number, to: number, i: TxnInput, commit: boolean, clientVersion = 0, freshProducerId = -1): Effects {
    const fx = effects();
    const reply = (errorCode: number, producerId = -1, producerEpoch = -1): Effects => {
      fx.replies.push({ to, result: { errorCode, producerId, producerEpoch } });
      return fx;
    };
    const t = this.txns.get(i.transactionalId);
    const d = decideEnd(t, i, commit, clientVersion);
    if (d.kind === 'error') return reply(d.errorCode);
    if (d.kind === 'done') return reply(ErrorCode.NONE, t!.producerId, t!.producerEpoch);
    if (endExhaustsEpochs(t!, clientVersion) && freshProducerId < 0) return reply(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const target = prepareEnd(t!, d, clientVersion, freshProducerId, now);
    this.write(fx, target, (out, err) => {
      const next = afterEnd(target);
      out.replies.push({ to, result: err === ErrorCode.NONE ? { errorCode: err, ...next } : { errorCode: err, producerId: -1, producerEpoch: -1 } });
      if (err === ErrorCode.NONE) out.markers.push(this.markersOf(target));
    });
    return fx;
  }

  /** The markers of a PrepareCommit / PrepareAbort are all written: the transaction completes. */
  markersWritten(now: number, m: Markers): Effects {
    const fx = effects();
    const t = this.txns.get(m.transactionalId);
    if (t === undefined || t.pending || t.producerId !== m.producerId || t.producerEpoch !== m.producerEpoch) return fx;
    if (t.state !== (m.commit ? TxnState.PrepareCommit : TxnState.PrepareAbort)) return fx;
    this.write(fx, completeEnd(t, now), (out, err) => {
      // A completion that failed to persist is redone from the markers, which are idempotent.
      if (err !== ErrorCode.NONE) out.markers.push(m);
    });
    return fx;
  }

  // ---- time, load, queries -----------------------------------------------------------------

  /** Aborts Ongoing transactions past their timeout; removes ids idle past their expiration. */
  tick(now: number): Effects {
    const fx = effects();
    for (const t of this.txns.values()) {
      const at = this.deadlineOf(t);
      if (at === null || now < at) continue;
      if (t.state === TxnState.Ongoing) this.fenceAndAbort(fx, now, t);
      else this.remove(fx, t);
    }
    return fx;
  }

  nextDeadline(): number | null {
    let next: number | null = null;
    for (const t of this.txns.values()) {
      const at = this.deadlineOf(t);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  private deadlineOf(t: TxnMetadata): number | null {
    if (t.pending) return null;
    if (t.state === TxnState.Ongoing) return t.startMs + t.timeoutMs;
    if (t.state === TxnState.Empty || t.state === TxnState.CompleteCommit || t.state === TxnState.CompleteAbort) return t.lastUpdateMs + this.options.idExpirationMs;
    return null;
  }

  private remove(fx: Effects, t: TxnMetadata): void {
    const token = this.nextToken++;
    t.pending = true;
    this.pendingWrites.set(token, { transactionalId: t.transactionalId, target: null, then: () => undefined });
    fx.writes.push({ token, key: encodeTxnKey(t.transactionalId), value: null });
  }

  /** Takes one record of the partition as read back from the log (a null value removes the id). */
  replay(transactionalId: string, v: TxnLogValue | null): void {
    if (v === null) {
      this.txns.delete(transactionalId);
      return;
    }
    this.txns.set(transactionalId, fromLogValue(transactionalId, v, this.txns.get(transactionalId)));
  }

  /** The partition is loaded: transactions caught between prepare and complete get their markers again. */
  loaded(now: number): Effects {
    const fx = this.tick(now);
    for (const t of this.txns.values()) {
      if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) fx.markers.push(this.markersOf(t));
    }
    return fx;
  }

  /** Completes every waiting request with `errorCode` (the partition is no longer coordinated here). */
  abandon(errorCode: number): Effects {
    const fx = effects();
    for (const [token, p] of this.pendingWrites) {
      this.pendingWrites.delete(token);
      p.then(fx, errorCode);
    }
    return fx;
  }

  persisted(token: number, errorCode: number): Effects {
    const fx = effects();
    const p = this.pendingWrites.get(token);
    if (!p) return fx;
    this.pendingWrites.delete(token);
    const t = this.txns.get(p.transactionalId);
    if (errorCode === ErrorCode.NONE && p.target === null) this.txns.delete(p.transactionalId);
    else if (errorCode === ErrorCode.NONE) this.txns.set(p.transactionalId, { ...p.target!, pending: false });
    else if (t && t.producerEpoch < 0) this.txns.delete(p.transactionalId);
    else if (t) t.pending = false;
    p.then(fx, writeError(errorCode, false));
    return fx;
  }

  describe(transactionalId: string): DescribedTxn | undefined {
    const t = this.txns.get(transactionalId);
    if (!t) return undefined;
    return {
      transactionalId,
      state: TXN_STATE_NAMES[t.state],
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      timeoutMs: t.timeoutMs,
      startMs: t.startMs,
      partitions: listPartitions(t.partitions),
    };
  }

  list(): DescribedTxn[] {
    return [...this.txns.keys()].map((id) => this.describe(id)!);
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Common checks of a request naming a producer: null when it may go on. */
  private validate(i: TxnInput): number | null {
    const t = this.txns.get(i.transactionalId);
    if (t === undefined || t.producerId !== i.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== i.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (t.pending) return ErrorCode.CONCURRENT_TRANSACTIONS;
    return null;
  }

  /** Bumps the epoch of an Ongoing transaction and aborts it with the new epoch. */
  private fenceAndAbort(fx: Effects, now: number, t: TxnMetadata): void {
    const target = copyTxn(t);
    const bumps = t.clientVersion >= EPOCH_BUMP_VERSION ? 2 : 1;
    target.lastProducerEpoch = Math.min(t.producerEpoch + bumps - 1, MAX_PRODUCER_EPOCH);
    target.producerEpoch = Math.min(t.producerEpoch + bumps, MAX_PRODUCER_EPOCH);
    target.state = TxnState.PrepareAbort;
    target.lastUpdateMs = now;
    this.write(fx, target, (out, err) => {
      if (err === ErrorCode.NONE) out.markers.push(this.markersOf(target));
    });
  }

  private markersOf(t: TxnMetadata): Markers {
    return {
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      commit: t.state === TxnState.PrepareCommit,
      partitions: listPartitions(t.partitions),
    };
  }

  private replyInit(fx: Effects, to: number, errorCode: number, target: TxnMetadata): void {
    fx.replies.push({ to, result: errorCode === ErrorCode.NONE
      ? { errorCode, producerId: target.producerId, producerEpoch: target.producerEpoch }
      : { errorCode, producerId: -1, producerEpoch: -1 } });
  }

  private write(fx: Effects, target: TxnMetadata, then: PendingWrite['then']): void {
    const token = this.nextToken++;
    const t = this.txns.get(target.transactionalId);
    if (t) t.pending = true;
    else this.txns.set(target.transactionalId, { ...target, state: TxnState.Empty, producerEpoch: -1, pending: true });
    this.pendingWrites.set(token, { transactionalId: target.transactionalId, target, then });
    fx.writes.push({
      token,
      key: encodeTxnKey(target.transactionalId),
      value: encodeTxnValue(toLogValue(target)),
    });
  }
}
