/**
 * The workload a checker run drives while faults strike: one producer per partition
 * (producer.ts: batches of fresh values, acks=all, several requests in flight, with or without
 * idempotence) and tailing consumers reading every partition from its leader. Producers and
 * consumers follow the metadata the brokers give them (metadata.ts). Everything they see goes
 * into the history (history.ts).
 */
import { ErrorCode } from '../shared/errors.js';
import { BrokerLinks, type Address, type IdempotentIdentity } from './client.js';
import type { HwObs, ReadObs, WriteOp } from './history.js';
import { MetadataView } from './metadata.js';
import { PartitionProducer, type BatchResult } from './producer.js';

export interface WorkloadOptions {
  bootstrap: Address[];
  topic: string;
  partitions: number;
  idempotent?: boolean;
  /** Records per produced batch (default 5). */
  batchRecords?: number;
  /** Requests one producer keeps in flight (default 5, Kafka's limit with idempotence). */
  maxInFlight?: number;
  /** Least time between two new batches of one producer (default 10 ms). */
  pauseMs?: number;
  /** The Produce request's own timeout; the client waits 1 s longer for its answer. */
  requestTimeoutMs?: number;
  consumers?: number;
  /** Prefix of every value (keeps runs on one topic apart). */
  tag?: string;
}

/** Errors after which a produce definitely did not append (the others may have). */
const DEFINITE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.CORRUPT_MESSAGE, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH,
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Workload {
  readonly writes: WriteOp[] = [];
  readonly reads: ReadObs[] = [];
  readonly hws: HwObs[] = [];
  /** What the producers and consumers know of the cluster. */
  readonly view: MetadataView;
  private active = false;
  private loops: Promise<void>[] = [];
  private readonly links = new BrokerLinks('checker-producer');
  /**
   * Metadata gets its own connections: answers on one connection come back in request order,
   * so a quick Metadata queued behind acks=all produces that wait out their timeout would hit
   * its own deadline and take the producers' connection down with it.
   */
  private readonly viewLinks = new BrokerLinks('checker-metadata');
  private readonly valueSeq: number[];
  /** Per partition, the latest send time of an acknowledged acks=all write. */
  private readonly lastAckedSend: number[];
  private readonly timeoutMs: number;
  private readonly prefix: string;

  constructor(readonly opts: WorkloadOptions) {
    this.prefix = `${opts.tag ?? 'v'}-`;
    this.view = new MetadataView(opts.bootstrap, opts.topic, this.viewLinks);
    this.timeoutMs = opts.requestTimeoutMs ?? 3000;
    this.valueSeq = new Array<number>(opts.partitions).fill(0);
    this.lastAckedSend = new Array<number>(opts.partitions).fill(-1);
  }

  get running(): boolean {
    return this.active;
  }

  /** Learns the topic's leaders, then starts producers and consumers. */
  async start(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await this.view.refresh()) || this.view.partitions().length < this.opts.partitions) {
      if (Date.now() > deadline) throw new Error(`no broker of ${this.opts.bootstrap} knows topic ${this.opts.topic} with ${this.opts.partitions} partitions`);
    }
    this.active = true;
    for (let p = 0; p < this.opts.partitions; p++) {
      const producer = new PartitionProducer(this, p, {
        batchRecords: this.opts.batchRecords ?? 5,
        maxInFlight: this.opts.maxInFlight ?? 5,
        pauseMs: this.opts.pauseMs ?? 10,
        idempotent: !!this.opts.idempotent,
      });
      this.loops.push(producer.run());
    }
    for (let c = 0; c < (this.opts.consumers ?? 2); c++) this.loops.push(this.consumeLoop(`consumer-${c}`));
  }

  async stop(): Promise<void> {
    this.active = false;
    await Promise.all(this.loops);
    this.loops = [];
    this.links.close();
    this.viewLinks.close();
  }

  /** Whether `partition` has an acknowledged acks=all write sent at or after `since`. */
  ackedSince(partition: number, since: number): boolean {
    return this.lastAckedSend[partition]! >= since;
  }

  nextValue(partition: number): string {
    return `${this.prefix}${partition}-${this.valueSeq[partition]!++}`;
  }

  refresh(): Promise<boolean> {
    return this.view.refresh();
  }

  async newIdentity(): Promise<IdempotentIdentity | undefined> {
    for (const p of this.view.partitions()) {
      const leader = this.view.leader(p.partition);
      if (!leader) continue;
      const r = await this.links.initProducerId(leader.address);
      if (r.kind === 'ok') return r.value;
    }
    return undefined;
  }

  /** One acks=all produce of `values` to the partition's leader, recorded. */
  send(partition: number, values: string[], idempotent?: IdempotentIdentity & { baseSequence: number }): Promise<BatchResult> {
    const leader = this.view.leader(partition);
    return this.produce(partition, leader ? { id: leader.id, address: leader.address } : undefined, values, -1, idempotent);
  }

  /**
   * One write of a fresh value with `acks` to broker `nodeId` (default: the partition's leader),
   * recorded; no answer within `answerWithinMs` (default: the request timeout + 1 s) is unknown.
   */
  async writeOnce(partition: number, acks: -1 | 1, nodeId?: number, answerWithinMs?: number): Promise<WriteOp> {
    const id = nodeId ?? this.view.leader(partition)?.id ?? -1;
    const address = this.view.address(id);
    await this.produce(partition, address === undefined ? undefined : { id, address }, [this.nextValue(partition)], acks, undefined, answerWithinMs);
    return this.writes[this.writes.length - 1]!;
  }

  private async produce(
    partition: number,
    broker: { id: number; address: Address } | undefined,
    values: string[],
    acks: -1 | 1,
    idempotent?: IdempotentIdentity & { baseSequence: number },
    answerWithinMs?: number,
  ): Promise<BatchResult> {
    const sentAt = Date.now();
    if (!broker) {
      this.record(partition, values, acks, -1, sentAt, 'fail', ErrorCode.LEADER_NOT_AVAILABLE, -1);
      return { outcome: 'fail', errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
    }
    const r = await this.links.produce(broker.address, this.opts.topic, partition, values, {
      acks,
      timeoutMs: this.timeoutMs,
      deadlineMs: answerWithinMs ?? this.timeoutMs + 1000,
      idempotent,
    });
    const result: BatchResult = r.kind === 'ok' ? { outcome: 'ok', errorCode: 0 }
      : r.kind === 'error' ? { outcome: DEFINITE.has(r.errorCode) ? 'fail' : 'unknown', errorCode: r.errorCode }
      : { outcome: 'unknown', errorCode: -1 };
    this.record(partition, values, acks, broker.id, sentAt, result.outcome, result.errorCode, r.kind === 'ok' ? r.value.baseOffset : -1);
    if (result.outcome === 'ok' && acks === -1) this.lastAckedSend[partition] = Math.max(this.lastAckedSend[partition]!, sentAt);
    return result;
  }

  /** One write op per value of the batch, each at its own offset when acknowledged. */
  private record(partition: number, values: string[], acks: -1 | 1, broker: number, sentAt: number, outcome: WriteOp['outcome'], errorCode: number, baseOffset: number): void {
    const doneAt = Date.now();
    values.forEach((value, i) => {
      this.writes.push({ value, partition, acks, broker, sentAt, doneAt, outcome, offset: outcome === 'ok' ? baseOffset + i : -1, errorCode });
    });
  }

  /**
   * Whether a value read is this workload's: the topic may hold records of earlier runs (of
   * other tags), which it neither wrote nor checks.
   */
  private mine(value: string): boolean {
    return value.startsWith(this.prefix);
  }

  private async consumeLoop(name: string): Promise<void> {
    const positions = new Array<number>(this.opts.partitions).fill(0);
    const links = new BrokerLinks(name);
    while (this.active) {
      for (let p = 0; p < this.opts.partitions && this.active; p++) await this.consumeOnce(links, name, p, positions);
      await sleep(20);
    }
    links.close();
  }

  private async consumeOnce(links: BrokerLinks, name: string, p: number, positions: number[]): Promise<void> {
    const leader = this.view.leader(p);
    if (!leader) {
      await this.view.refresh();
      return;
    }
    const r = await links.fetch(leader.address, this.opts.topic, p, positions[p]!, leader.epoch, 50, 2000);
    if (r.kind !== 'ok') {
      await this.view.refresh();
      return;
    }
    this.hws.push({ observer: name, partition: p, broker: leader.id, hw: r.value.highWatermark, at: Date.now() });
    for (const rec of r.value.records) {
      const value = rec.value?.toString() ?? '';
      if (this.mine(value)) this.reads.push({ observer: name, partition: p, offset: rec.offset, value });
      positions[p] = rec.offset + 1;
    }
  }

  /**
   * Reads every partition from offset 0 up to its leader's high watermark, as `observer`;
   * resolves with each partition's high watermark.
   */
  async readAll(observer: string, timeoutMs = 30_000): Promise<Map<number, number>> {
    const links = new BrokerLinks(observer);
    const hwByPartition = new Map<number, number>();
    try {
      for (let p = 0; p < this.opts.partitions; p++) {
        const deadline = Date.now() + timeoutMs;
        let offset = 0;
        let hw = -1;
        const seen: ReadObs[] = [];
        for (;;) {
          const leader = this.view.leader(p);
          const r = leader ? await links.fetch(leader.address, this.opts.topic, p, offset, leader.epoch, 0, 5000) : undefined;
          if (r?.kind !== 'ok') {
            if (Date.now() > deadline) throw new Error(`final read of partition ${p}: ${r === undefined ? 'no leader known' : r.kind === 'error' ? `error ${r.errorCode}` : r.reason}`);
            await this.view.refresh();
            continue;
          }
          hw = r.value.highWatermark;
          for (const rec of r.value.records) {
            const value = rec.value?.toString() ?? '';
            if (this.mine(value)) seen.push({ observer, partition: p, offset: rec.offset, value });
          }
          if (r.value.records.length === 0 || offset >= hw) break;
          offset = r.value.records[r.value.records.length - 1]!.offset + 1;
          if (offset >= hw) break;
        }
        this.reads.push(...seen);
        hwByPartition.set(p, hw);
      }
    } finally {
      links.close();
    }
    return hwByPartition;
  }
}
