/**
 * What a checker run observed, and the checks over it (pure: no I/O, no clock).
 *
 * Observations:
 *   - writes: every produce attempt, with its outcome. Values are unique per written value;
 *     an idempotent producer may send one value several times (retries of one batch), and
 *     every attempt is recorded.
 *   - reads: (observer, partition, offset, value) triples from the tailing consumers, from the
 *     final read, from each replica's log on disk, and the offsets acks reported
 *     (observer "ack"), so an acknowledgement is held to the same offset rules as a read
 *     (acks=1 acknowledgements only when their value survived).
 *   - high watermarks: each consumer's view of each partition's high watermark over time.
 *   - faults: when each fault struck and which partitions it hit.
 *
 * Checks (Jepsen's Kafka workload, for a log without transactions):
 *   lost        acks=all writes acknowledged but absent from the final read (must be 0)
 *   duplicated  values found at two or more offsets by any observers (read twice)
 *   conflicts   offsets at which observers saw different values
 *   reordered   pairs of observers that saw common values in a different order
 *   hwBack      a consumer saw a partition's high watermark move backwards
 *   unexpected  values read that no producer ever sent
 *   recovery    per fault: ms from the fault to the first acks=all acknowledgement on each
 *               partition it hit (the slowest partition counts), null when none came
 */

export type WriteOutcome = 'ok' | 'fail' | 'unknown';

export interface WriteOp {
  value: string;
  partition: number;
  acks: -1 | 1;
  broker: number;
  sentAt: number;
  doneAt: number;
  outcome: WriteOutcome;
  offset: number;
  errorCode: number;
}

export interface ReadObs {
  observer: string;
  partition: number;
  offset: number;
  value: string;
  /** When the answer holding it came back (tailing readers). */
  at?: number;
}

export interface HwObs {
  observer: string;
  partition: number;
  broker: number;
  hw: number;
  at: number;
}

export interface FaultEvent {
  name: string;
  at: number;
  partitions: number[];
  detail: string;
}

export interface History {
  writes: WriteOp[];
  reads: ReadObs[];
  hws: HwObs[];
  faults: FaultEvent[];
  /** The observer whose reads count as the final state of the log. */
  finalObserver: string;
}

export interface HwRegression {
  observer: string;
  partition: number;
  from: number;
  to: number;
  fromBroker: number;
  toBroker: number;
}

export interface Recovery {
  fault: FaultEvent;
  /** ms until every hit partition had an acks=all acknowledgement; null if one never did. */
  ms: number | null;
}

export interface CheckResult {
  attempted: number;
  acked: number;
  ackedAcks1: number;
  failed: number;
  unknown: number;
  finalRecords: number;
  lost: string[];
  lostAcks1: string[];
  duplicated: { value: string; offsets: number[] }[];
  conflicts: { partition: number; offset: number; values: string[] }[];
  reordered: { a: string; b: string; partition: number; value: string }[];
  hwBack: HwRegression[];
  unexpected: string[];
  recoveries: Recovery[];
}

/** Outcome per value: any ok attempt makes it acknowledged; otherwise unknown beats fail. */
function outcomes(writes: WriteOp[]): Map<string, WriteOp> {
  const rank: Record<WriteOutcome, number> = { ok: 2, unknown: 1, fail: 0 };
  const out = new Map<string, WriteOp>();
  for (const w of writes) {
    const cur = out.get(w.value);
    if (!cur || rank[w.outcome] > rank[cur.outcome]) out.set(w.value, w);
  }
  return out;
}

export function check(h: History): CheckResult {
  const byValue = outcomes(h.writes);
  const finalValues = new Set<string>();
  let finalRecords = 0;
  for (const r of h.reads) {
    if (r.observer !== h.finalObserver) continue;
    finalValues.add(r.value);
    finalRecords++;
  }
  // An acks=1 acknowledgement promises nothing once its leader is replaced, so only those
  // whose value survived are held to their offset.
  const obs: ReadObs[] = [...h.reads];
  for (const w of h.writes) {
    if (w.outcome !== 'ok' || (w.acks === 1 && !finalValues.has(w.value))) continue;
    obs.push({ observer: 'ack', partition: w.partition, offset: w.offset, value: w.value });
  }

  const lost: string[] = [];
  const lostAcks1: string[] = [];
  let acked = 0;
  let ackedAcks1 = 0;
  let failed = 0;
  let unknown = 0;
  for (const w of byValue.values()) {
    if (w.outcome === 'fail') failed++;
    else if (w.outcome === 'unknown') unknown++;
    else if (w.acks === -1) {
      acked++;
      if (!finalValues.has(w.value)) lost.push(w.value);
    } else {
      ackedAcks1++;
      if (!finalValues.has(w.value)) lostAcks1.push(w.value);
    }
  }

  const offsetsOf = new Map<string, Set<number>>();
  const valuesAt = new Map<string, Set<string>>();
  const unexpected = new Set<string>();
  for (const r of obs) {
    if (!byValue.has(r.value)) unexpected.add(r.value);
    let offs = offsetsOf.get(r.value);
    if (!offs) offsetsOf.set(r.value, (offs = new Set()));
    offs.add(r.offset);
    const k = `${r.partition}:${r.offset}`;
    let vals = valuesAt.get(k);
    if (!vals) valuesAt.set(k, (vals = new Set()));
    vals.add(r.value);
  }
  const duplicated = [...offsetsOf].filter(([, o]) => o.size > 1).map(([value, o]) => ({ value, offsets: [...o].sort((a, b) => a - b) }));
  const conflicts = [...valuesAt].filter(([, v]) => v.size > 1).map(([k, v]) => {
    const [partition, offset] = k.split(':').map(Number) as [number, number];
    return { partition, offset, values: [...v] };
  });

  return {
    attempted: byValue.size,
    acked,
    ackedAcks1,
    failed,
    unknown,
    finalRecords,
    lost,
    lostAcks1,
    duplicated,
    conflicts,
    reordered: reorderings(obs),
    hwBack: hwRegressions(h.hws),
    unexpected: [...unexpected],
    recoveries: recoveries(h.faults, h.writes),
  };
}

/**
 * For every pair of observers and every partition: walk the values both saw in the first
 * observer's offset order; the second must have them in increasing offset order too. Each
 * break is one reordering (reported with the value that broke the order).
 */
function reorderings(obs: ReadObs[]): CheckResult['reordered'] {
  const seq = new Map<string, Map<number, Map<string, number>>>();
  for (const r of obs) {
    let parts = seq.get(r.observer);
    if (!parts) seq.set(r.observer, (parts = new Map()));
    let m = parts.get(r.partition);
    if (!m) parts.set(r.partition, (m = new Map()));
    if (!m.has(r.value)) m.set(r.value, r.offset);
  }
  const out: CheckResult['reordered'] = [];
  const names = [...seq.keys()].sort();
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = seq.get(names[i]!)!;
      const b = seq.get(names[j]!)!;
      for (const [partition, ma] of a) {
        const mb = b.get(partition);
        if (!mb) continue;
        const common = [...ma].filter(([v]) => mb.has(v)).sort((x, y) => x[1] - y[1]);
        let prev = -1;
        for (const [v] of common) {
          const o = mb.get(v)!;
          if (o < prev) out.push({ a: names[i]!, b: names[j]!, partition, value: v });
          prev = Math.max(prev, o);
        }
      }
    }
  }
  return out;
}

export function hwRegressions(hws: HwObs[]): HwRegression[] {
  const last = new Map<string, HwObs>();
  const out: HwRegression[] = [];
  for (const s of [...hws].sort((x, y) => x.at - y.at)) {
    const k = `${s.observer}:${s.partition}`;
    const prev = last.get(k);
    if (prev && s.hw < prev.hw) out.push({ observer: s.observer, partition: s.partition, from: prev.hw, to: s.hw, fromBroker: prev.broker, toBroker: s.broker });
    if (!prev || s.hw >= prev.hw) last.set(k, s);
  }
  return out;
}

function recoveries(faults: FaultEvent[], writes: WriteOp[]): Recovery[] {
  const acks = writes.filter((w) => w.outcome === 'ok' && w.acks === -1).sort((a, b) => a.doneAt - b.doneAt);
  return faults.map((fault) => {
    let worst = 0;
    for (const p of fault.partitions) {
      const first = acks.find((w) => w.partition === p && w.doneAt > fault.at && w.sentAt >= fault.at);
      if (!first) return { fault, ms: null };
      worst = Math.max(worst, first.doneAt - fault.at);
    }
    return { fault, ms: worst };
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
