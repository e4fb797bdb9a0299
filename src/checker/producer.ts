/**
 * One partition's producer in a checker workload: batches of several fresh values, acks=all,
 * up to `maxInFlight` requests in flight to the partition's leader (pipelined on one
 * connection), sent to the leader its metadata names.
 *
 * Any answer but success stops new sends; once the requests in flight have all come back, the
 * producer asks for metadata again and goes on. What it does with the batches that failed
 * depends on idempotence:
 *   - without, a batch is never sent twice: each attempt carries fresh values, so a value found
 *     twice in the log was duplicated by the brokers;
 *   - with, as Kafka's idempotent producer: every batch carries the producer id, epoch and its
 *     base sequence, and the batches not acknowledged are sent again, in sequence order, the
 *     same bytes, until they are; the brokers must write each once. An answer saying the
 *     broker has lost this producer's state or sequence (UNKNOWN_PRODUCER_ID,
 *     INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER on the oldest batch) ends those
 *     batches, as it ends them in Kafka's producer; the producer takes a new producer id and
 *     starts again at sequence 0.
 */
import { ErrorCode } from '../shared/errors.js';
import type { IdempotentIdentity } from './client.js';

export interface BatchResult {
  outcome: 'ok' | 'fail' | 'unknown';
  errorCode: number;
}

/** What a partition producer needs from its workload. */
export interface ProducerHost {
  readonly running: boolean;
  /** A fresh value for `partition`, never handed out before. */
  nextValue(partition: number): string;
  /** One produce to the partition's leader, recorded in the history. */
  send(partition: number, values: string[], idempotent?: IdempotentIdentity & { baseSequence: number }): Promise<BatchResult>;
  /** Asks for metadata again. */
  refresh(): Promise<unknown>;
  /** A new producer id, or undefined when no broker gave one. */
  newIdentity(): Promise<IdempotentIdentity | undefined>;
}

export interface ProducerOptions {
  batchRecords: number;
  maxInFlight: number;
  /** Least time between two new batches of one producer (keeps cores for the brokers). */
  pauseMs: number;
  idempotent: boolean;
}

interface Batch {
  values: string[];
  baseSequence: number;
  inFlight: boolean;
}

const LOST_STATE = new Set<number>([ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PartitionProducer {
  /** Batches not yet acknowledged, in sequence order. */
  private pending: Batch[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failed = false;
  private lostState = false;
  private identity: IdempotentIdentity | undefined;
  private nextSequence = 0;

  constructor(private readonly host: ProducerHost, private readonly partition: number, private readonly opts: ProducerOptions) {}

  async run(): Promise<void> {
    if (this.opts.idempotent) await this.renewIdentity();
    while (this.host.running) {
      if (this.failed && this.inFlight.size === 0) {
        this.failed = false;
        await this.host.refresh();
        if (this.lostState) await this.renewIdentity();
      }
      if (!this.failed && (!this.opts.idempotent || this.identity)) {
        for (const b of this.pending) if (!b.inFlight) this.send(b);
        if (this.pending.length < this.opts.maxInFlight) this.send(this.newBatch());
      }
      const wait = sleep(this.opts.pauseMs);
      await (this.inFlight.size === this.opts.maxInFlight || this.failed ? Promise.race([...this.inFlight, wait]) : wait);
    }
    await Promise.all(this.inFlight);
  }

  private newBatch(): Batch {
    const values: string[] = [];
    for (let i = 0; i < this.opts.batchRecords; i++) values.push(this.host.nextValue(this.partition));
    const b = { values, baseSequence: this.nextSequence, inFlight: false };
    this.nextSequence += values.length;
    this.pending.push(b);
    return b;
  }

  private send(b: Batch): void {
    b.inFlight = true;
    const idem = this.opts.idempotent && this.identity ? { ...this.identity, baseSequence: b.baseSequence } : undefined;
    const p: Promise<void> = this.host.send(this.partition, b.values, idem).then((r) => {
      this.inFlight.delete(p);
      b.inFlight = false;
      if (r.outcome === 'ok') {
        this.pending = this.pending.filter((x) => x !== b);
        return;
      }
      this.failed = true;
      if (!this.opts.idempotent) {
        this.pending = this.pending.filter((x) => x !== b);
        return;
      }
      const oldest = this.pending[0] === b;
      if (LOST_STATE.has(r.errorCode) || (oldest && r.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)) this.lostState = true;
    });
    this.inFlight.add(p);
  }

  /** Ends the batches not acknowledged and takes a new producer id, starting at sequence 0. */
  private async renewIdentity(): Promise<void> {
    this.pending = [];
    this.nextSequence = 0;
    this.lostState = false;
    this.identity = await this.host.newIdentity();
    if (!this.identity) this.failed = this.lostState = true;
  }
}
