/**
 * One transactional producer of a checker workload, on the raw protocol as a client before
 * transactions v2 works (Kafka's producer with transaction.version 1, librdkafka 2.0):
 *
 *   FindCoordinator(TRANSACTION) ─> InitProducerId(transactional.id) ─> per transaction:
 *   AddPartitionsToTxn (every partition it will write, before the first batch)
 *   ─> transactional batches to the partitions' leaders (producer id, epoch, sequences that
 *      go on across transactions)
 *   ─> EndTxn, commit or abort (commit chosen with probability `commitShare`).
 *
 * Failures are handled as Kafka's producer handles them: a coordinator error or a lost answer
 * sends the producer to find the coordinator again and retry; a batch is retried, the same
 * bytes and sequence, on a retriable error or a lost answer (the broker drops the duplicate),
 * until its deadline. A batch that fails for good makes the transaction abortable: it is
 * aborted, never committed. After anything that leaves the producer's state in doubt (a batch
 * that failed, fencing, an EndTxn that did not succeed) the producer calls InitProducerId
 * again, which bumps its epoch: the coordinator aborts whatever transaction it left open, and
 * brokers refuse any of its old batches still on the way.
 *
 * Each transaction is recorded with its values and its outcome: committed only on a successful
 * EndTxn(commit); aborted when EndTxn(commit) was never sent; unknown when it was and no
 * success came back (the commit may have happened).
 */
import { ErrorCode } from '../shared/errors.js';
import type { Address, IdempotentIdentity, Outcome } from './client.js';
import type { BatchResult } from './producer.js';
import type { TxnRecord, TxnValue } from './txn-history.js';

/** What a transactional producer needs from its workload. */
export interface TxnProducerHost {
  readonly running: boolean;
  readonly partitions: number;
  /** A fresh value of this producer, never handed out before; `n` is its produce order. */
  txnValue(transactionalId: string, n: number): string;
  /** One transactional produce to the partition's leader, recorded in the history. */
  sendTxn(partition: number, values: string[], id: IdempotentIdentity & { baseSequence: number }, transactionalId: string): Promise<BatchResult>;
  /** Asks for metadata again. */
  refresh(): Promise<unknown>;
  /** The coordinator of `transactionalId`, asked of any broker; undefined when none answered. */
  findCoordinator(transactionalId: string): Promise<Address | undefined>;
  initTxn(coordinator: Address, transactionalId: string): Promise<Outcome<IdempotentIdentity>>;
  addPartitions(coordinator: Address, transactionalId: string, id: IdempotentIdentity, partitions: number[]): Promise<Outcome<null>>;
  endTxn(coordinator: Address, transactionalId: string, id: IdempotentIdentity, commit: boolean): Promise<Outcome<null>>;
  recordTxn(txn: TxnRecord): void;
}

export interface TxnProducerOptions {
  transactionalId: string;
  batchRecords: number;
  /** Batches per partition per transaction, written one after the other. */
  batchesPerPartition: number;
  commitShare: number;
  /** How long one batch, or one coordinator step, is retried. */
  retryForMs: number;
  pauseMs: number;
  random: () => number;
}

const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);
const COORDINATOR_RETRIABLE = new Set<number>([...COORDINATOR_MOVED, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.REQUEST_TIMED_OUT]);
const PRODUCE_RETRIABLE = new Set<number>([
  -1, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);
const RETRY_BACKOFF_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describe<T>(r: Outcome<T>): string {
  return r.kind === 'ok' ? 'ok' : r.kind === 'error' ? `error ${r.errorCode}` : r.reason;
}

export class TransactionalProducer {
  private coordinator: Address | undefined;
  private identity: IdempotentIdentity | undefined;
  /** Next sequence per partition for the current producer id and epoch. */
  private sequences = new Map<number, number>();
  private produced = 0;
  private transactions = 0;

  constructor(private readonly host: TxnProducerHost, private readonly opts: TxnProducerOptions) {}

  async run(): Promise<void> {
    while (this.host.running) {
      if (this.identity || (await this.init())) await this.transaction();
      await sleep(this.identity ? this.opts.pauseMs : RETRY_BACKOFF_MS);
    }
  }

  private async init(): Promise<boolean> {
    const r = await this.coordinated((c) => this.host.initTxn(c, this.opts.transactionalId));
    if (r.kind !== 'ok') return false;
    this.identity = r.value;
    this.sequences = new Map();
    return true;
  }

  /**
   * One coordinator request, retried (after finding the coordinator again when it moved or
   * did not answer) until it succeeds, fails for good, or `retryForMs` has passed.
   */
  private async coordinated<T>(call: (coordinator: Address) => Promise<Outcome<T>>, onSend?: () => void): Promise<Outcome<T>> {
    const deadline = Date.now() + this.opts.retryForMs;
    for (;;) {
      this.coordinator ??= await this.host.findCoordinator(this.opts.transactionalId);
      let r: Outcome<T> = { kind: 'unknown', reason: 'no broker named the coordinator' };
      if (this.coordinator) {
        onSend?.();
        r = await call(this.coordinator);
      }
      if (r.kind === 'ok' || (r.kind === 'error' && !COORDINATOR_RETRIABLE.has(r.errorCode))) return r;
      if (r.kind === 'unknown' || COORDINATOR_MOVED.has(r.errorCode)) this.coordinator = undefined;
      if (Date.now() >= deadline) return r;
      await sleep(RETRY_BACKOFF_MS);
    }
  }

  private async transaction(): Promise<void> {
    const id = this.identity!;
    const tid = this.opts.transactionalId;
    const txn: TxnRecord = { id: `${tid}#${this.transactions++}`, transactionalId: tid, values: [], outcome: 'aborted', detail: '' };
    const partitions = this.pickPartitions();
    const added = await this.coordinated((c) => this.host.addPartitions(c, tid, id, partitions));
    if (added.kind !== 'ok') {
      // Nothing was written; whatever the coordinator holds open, the next epoch aborts.
      this.identity = undefined;
      return;
    }
    const written = await Promise.all(partitions.map((p) => this.writePartition(p, id, txn)));
    const failed = written.find((w) => w !== undefined);
    const commit = failed === undefined && this.opts.random() < this.opts.commitShare;
    let commitSent = false;
    const ended = await this.coordinated((c) => this.host.endTxn(c, tid, id, commit), () => {
      if (commit && !commitSent) txn.commitSentAt = Date.now();
      commitSent ||= commit;
    });
    if (ended.kind === 'ok') txn.outcome = commit ? 'committed' : 'aborted';
    else txn.outcome = commitSent ? 'unknown' : 'aborted';
    txn.detail = failed !== undefined ? `a batch failed (${failed}), EndTxn(abort): ${describe(ended)}` : `EndTxn(${commit ? 'commit' : 'abort'}): ${describe(ended)}`;
    if (failed !== undefined || ended.kind !== 'ok') this.identity = undefined;
    this.host.recordTxn(txn);
  }

  /** A non-empty random subset of the partitions. */
  private pickPartitions(): number[] {
    const all = Array.from({ length: this.host.partitions }, (_, p) => p);
    const picked = all.filter(() => this.opts.random() < 0.6);
    return picked.length > 0 ? picked : [all[Math.floor(this.opts.random() * all.length)]!];
  }

  /** Writes the transaction's batches to one partition, in order; undefined, or why one failed. */
  private async writePartition(partition: number, id: IdempotentIdentity, txn: TxnRecord): Promise<string | undefined> {
    for (let b = 0; b < this.opts.batchesPerPartition; b++) {
      const values: TxnValue[] = [];
      for (let i = 0; i < this.opts.batchRecords; i++) {
        const n = this.produced++;
        values.push({ value: this.host.txnValue(this.opts.transactionalId, n), partition, n });
      }
      txn.values.push(...values);
      const baseSequence = this.sequences.get(partition) ?? 0;
      const deadline = Date.now() + this.opts.retryForMs;
      for (;;) {
        const r = await this.host.sendTxn(partition, values.map((v) => v.value), { ...id, baseSequence }, this.opts.transactionalId);
        if (r.outcome === 'ok') break;
        if (!PRODUCE_RETRIABLE.has(r.errorCode)) return `partition ${partition}: error ${r.errorCode}`;
        if (Date.now() >= deadline) return `partition ${partition}: ${r.errorCode < 0 ? 'no answer' : `error ${r.errorCode}`} for ${this.opts.retryForMs} ms`;
        await this.host.refresh();
      }
      this.sequences.set(partition, baseSequence + values.length);
    }
    return undefined;
  }
}
