/**
 * The transactional half of a checker run's history, and its checks (pure: no I/O, no clock).
 *
 * Observations, besides the plain history's writes (every transactional produce attempt, so an
 * acknowledged value's offset is known):
 *   - transactions: each with its transactional id, the values it produced (in produce order,
 *     numbered per transactional id), and its outcome: committed (EndTxn(commit) answered
 *     success), aborted (EndTxn(commit) never sent: the producer aborted, or was fenced or
 *     timed out before it could commit), or unknown (EndTxn(commit) sent, no success came);
 *   - reads of the read_committed readers (the tailing ones and the final read), each reader's
 *     position per partition when it stopped (the next offset it would have read), and the
 *     last stable offsets they were told.
 *
 * Checks, per transaction and reader. A reader "covers" a value once its position on the
 * value's partition is past the value's offset; the final read covers everything.
 *   missing     committed transactions of which the final read saw nothing
 *   partial     (transaction, reader) pairs where the reader saw some of the values it covers,
 *               not all: a transaction is visible whole or not at all (unknown outcomes too)
 *   abortedSeen values of aborted transactions any read_committed reader saw
 *   early       values a reader was given before their transaction's EndTxn(commit) was sent
 *               (a read of uncommitted data, whatever became of the transaction)
 *   vanished    values a tailing reader saw that the final read did not
 *   seenTwice   values one reader saw more than once
 *   orderBroken committed values a reader saw in a partition after a later value of the same
 *               transactional id
 *   lsoBack     a reader told a partition's last stable offset lower than it was told before
 */
import { hwRegressions, type HwObs, type HwRegression, type ReadObs, type WriteOp } from './history.js';

export type TxnOutcome = 'committed' | 'aborted' | 'unknown';

export interface TxnValue {
  value: string;
  partition: number;
  /** Produce order within the transactional id (across its transactions). */
  n: number;
}

export interface TxnRecord {
  id: string;
  transactionalId: string;
  values: TxnValue[];
  outcome: TxnOutcome;
  /** When EndTxn(commit) was first sent (none: never). */
  commitSentAt?: number;
  /** Why it ended as it did (for notes). */
  detail: string;
}

export interface ReaderPosition {
  observer: string;
  partition: number;
  offset: number;
}

export interface TxnHistory {
  txns: TxnRecord[];
  writes: WriteOp[];
  /** Reads of the read_committed readers only. */
  reads: ReadObs[];
  positions: ReaderPosition[];
  lsos: HwObs[];
  /** The read_committed reader that read every partition to its end once no transaction was open. */
  finalObserver: string;
}

export interface TxnCheckResult {
  txns: number;
  committed: number;
  aborted: number;
  unknown: number;
  /** Unknown-outcome transactions the final read saw (the rest it did not). */
  unknownVisible: number;
  /** Values of committed transactions, and how many of them the final read saw. */
  committedValues: number;
  committedSeen: number;
  missing: { txn: string; values: number }[];
  partial: { txn: string; observer: string; seen: number; covered: number }[];
  abortedSeen: { txn: string; observer: string; value: string }[];
  early: { txn: string; observer: string; value: string; msBeforeCommit: number }[];
  vanished: { observer: string; value: string }[];
  seenTwice: { observer: string; value: string; times: number }[];
  orderBroken: { observer: string; partition: number; value: string; after: string }[];
  lsoBack: HwRegression[];
}

export function checkTransactions(h: TxnHistory): TxnCheckResult {
  const ackOffset = new Map<string, number>();
  for (const w of h.writes) if (w.outcome === 'ok') ackOffset.set(w.value, w.offset);
  const txnOf = new Map<string, { txn: TxnRecord; v: TxnValue }>();
  for (const txn of h.txns) for (const v of txn.values) txnOf.set(v.value, { txn, v });

  const seen = new Map<string, Map<string, number>>();
  for (const r of h.reads) {
    let m = seen.get(r.observer);
    if (!m) seen.set(r.observer, (m = new Map()));
    m.set(r.value, (m.get(r.value) ?? 0) + 1);
  }
  const finalSeen = seen.get(h.finalObserver) ?? new Map<string, number>();
  const position = new Map(h.positions.map((p) => [`${p.observer}:${p.partition}`, p.offset]));
  const covers = (observer: string, v: TxnValue): boolean => {
    if (observer === h.finalObserver) return true;
    const at = ackOffset.get(v.value);
    return at !== undefined && at < (position.get(`${observer}:${v.partition}`) ?? 0);
  };

  const out: TxnCheckResult = {
    txns: h.txns.length, committed: 0, aborted: 0, unknown: 0, unknownVisible: 0, committedValues: 0, committedSeen: 0,
    missing: [], partial: [], abortedSeen: [], early: [], vanished: [], seenTwice: [], orderBroken: [], lsoBack: hwRegressions(h.lsos),
  };
  const observers = [...new Set([h.finalObserver, ...seen.keys()])].sort();
  for (const txn of h.txns) {
    out[txn.outcome]++;
    if (txn.outcome === 'aborted') {
      for (const observer of observers) {
        for (const v of txn.values) if (seen.get(observer)?.has(v.value)) out.abortedSeen.push({ txn: txn.id, observer, value: v.value });
      }
      continue;
    }
    const finalCount = txn.values.filter((v) => finalSeen.has(v.value)).length;
    if (txn.outcome === 'committed') {
      out.committedValues += txn.values.length;
      out.committedSeen += finalCount;
      if (finalCount === 0 && txn.values.length > 0) out.missing.push({ txn: txn.id, values: txn.values.length });
    } else if (finalCount > 0) out.unknownVisible++;
    for (const observer of observers) {
      const covered = txn.values.filter((v) => covers(observer, v));
      const count = covered.filter((v) => seen.get(observer)?.has(v.value)).length;
      if (count > 0 && count < covered.length) out.partial.push({ txn: txn.id, observer, seen: count, covered: covered.length });
    }
  }

  for (const r of h.reads) {
    const t = txnOf.get(r.value)?.txn;
    if (!t || t.outcome === 'aborted' || r.at === undefined) continue;
    if (t.commitSentAt === undefined || r.at < t.commitSentAt) {
      out.early.push({ txn: t.id, observer: r.observer, value: r.value, msBeforeCommit: t.commitSentAt === undefined ? Infinity : t.commitSentAt - r.at });
    }
  }
  for (const [observer, m] of seen) {
    for (const [value, times] of m) {
      if (times > 1) out.seenTwice.push({ observer, value, times });
      if (observer !== h.finalObserver && txnOf.has(value) && !finalSeen.has(value)) out.vanished.push({ observer, value });
    }
  }
  out.orderBroken = produceOrderBreaks(h.reads, txnOf);
  return out;
}

/**
 * Per reader and partition, in offset order: each transactional id's committed values must
 * come in the order it produced them.
 */
function produceOrderBreaks(reads: ReadObs[], txnOf: Map<string, { txn: TxnRecord; v: TxnValue }>): TxnCheckResult['orderBroken'] {
  const byReader = new Map<string, ReadObs[]>();
  for (const r of reads) {
    const k = `${r.observer}:${r.partition}`;
    let list = byReader.get(k);
    if (!list) byReader.set(k, (list = []));
    list.push(r);
  }
  const out: TxnCheckResult['orderBroken'] = [];
  for (const list of byReader.values()) {
    const last = new Map<string, TxnValue>();
    for (const r of [...list].sort((a, b) => a.offset - b.offset)) {
      const t = txnOf.get(r.value);
      if (!t || t.txn.outcome !== 'committed') continue;
      const prev = last.get(t.txn.transactionalId);
      if (prev && prev.n > t.v.n) out.push({ observer: r.observer, partition: r.partition, value: r.value, after: prev.value });
      else last.set(t.txn.transactionalId, t.v);
    }
  }
  return out;
}
