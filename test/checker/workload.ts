/**
 * The workload a checker run drives while faults strike: one producer per partition sending
 * unique values with acks=all, one request at a time, and tailing consumers reading every
 * partition from its leader. Everything they see goes into a History (history.ts).
 *
 * Producers find leaders by asking every running broker for Metadata and trusting the answer
 * with the highest leader epoch, and ask again after any error. A non-idempotent producer never
 * resends a value: each attempt carries a fresh one, so any value found twice was duplicated by
 * the brokers. An idempotent producer resends the same batch (same producer id, epoch and
 * sequence) until it gets a definite answer, as Kafka's idempotent producer does; the brokers
 * must then write it once.
 */
import { ErrorCode } from '../../src/shared/errors.js';
import { BrokerLinks, type IdempotentIdentity, type PartitionState } from './client.js';
import { sleep, type CheckerCluster } from './cluster.js';
import type { HwObs, ReadObs, WriteOp } from './history.js';

export interface WorkloadOptions {
  topic: string;
  partitions: number;
  /** Pause between one producer's requests (keeps two cores usable for the brokers). */
  pauseMs?: number;
  /** The Produce request's own timeout, and how long the client waits for its answer. */
  requestTimeoutMs?: number;
  consumers?: number;
  idempotent?: boolean;
  /** Prefix of every value (keeps runs on one topic apart). */
  tag?: string;
}

/** Errors after which a produce definitely did not append (the others may have). */
const DEFINITE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.CORRUPT_MESSAGE, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.FENCED_LEADER_EPOCH,
]);

/** The freshest leader per partition, shared by one workload's clients; refreshed on demand. */
class LeaderView {
  private state: PartitionState[] = [];
  private refreshing: Promise<void> | undefined;
  private refreshedAt = 0;

  constructor(private readonly cluster: CheckerCluster, private readonly topic: string, private readonly links: BrokerLinks) {}

  async leader(partition: number): Promise<number> {
    if (this.state.length === 0) await this.refresh();
    return this.state[partition]?.leader ?? -1;
  }

  /** Asks the brokers again (at most every 100 ms however many clients ask). */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const wait = Math.max(0, this.refreshedAt + 100 - Date.now());
      this.refreshing = sleep(wait)
        .then(() => this.cluster.view(this.topic, this.links))
        .then((s) => {
          if (s.length > 0) this.state = s;
        })
        .finally(() => {
          this.refreshedAt = Date.now();
          this.refreshing = undefined;
        });
    }
    return this.refreshing;
  }
}

export class Workload {
  readonly writes: WriteOp[] = [];
  readonly reads: ReadObs[] = [];
  readonly hws: HwObs[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly links = new BrokerLinks('checker-workload');
  /**
   * Metadata gets its own connections: answers on one connection come back in request order
   * (as from any Kafka broker), so a quick Metadata queued behind acks=all produces that wait out
   * their timeout would hit its own deadline and take the producers' connection down with it.
   */
  private readonly viewLinks = new BrokerLinks('checker-view');
  private readonly view: LeaderView;
  private identity: IdempotentIdentity | undefined;
  private seq = 0;
  private readonly pauseMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly cluster: CheckerCluster, readonly opts: WorkloadOptions) {
    this.view = new LeaderView(cluster, opts.topic, this.viewLinks);
    this.pauseMs = opts.pauseMs ?? 10;
    this.timeoutMs = opts.requestTimeoutMs ?? 3000;
  }

  /** Starts producers and consumers; with `idempotent`, first gets a producer id or throws. */
  async start(): Promise<void> {
    if (this.opts.idempotent) {
      const r = await this.links.initProducerId(this.cluster.running()[0]!.port);
      if (r.kind !== 'ok') throw new Error(`InitProducerId: ${r.kind === 'error' ? `error ${r.errorCode}` : r.reason}`);
      this.identity = r.value;
    }
    this.running = true;
    for (let p = 0; p < this.opts.partitions; p++) this.loops.push(this.produceLoop(p));
    for (let c = 0; c < (this.opts.consumers ?? 2); c++) this.loops.push(this.consumeLoop(`consumer-${c}`));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    this.links.close();
    this.viewLinks.close();
  }

  /**
   * One acks=all (or acks=1) write of a fresh value to `broker` (or the partition's leader),
   * recorded; no answer within `answerWithinMs` (default: the request timeout + 1 s) is `unknown`.
   */
  async writeOnce(partition: number, acks: -1 | 1, broker?: number, answerWithinMs?: number): Promise<WriteOp> {
    const v = `${this.opts.tag ?? 'v'}-${partition}-${this.seq++}`;
    const leader = broker ?? (await this.view.leader(partition));
    return this.attempt(partition, leader, v, acks, undefined, answerWithinMs);
  }

  private async attempt(partition: number, broker: number, value: string, acks: -1 | 1, sequence?: number, answerWithinMs?: number): Promise<WriteOp> {
    const sentAt = Date.now();
    const op: WriteOp = { value, partition, acks, broker, sentAt, doneAt: sentAt, outcome: 'unknown', offset: -1, errorCode: -1 };
    this.writes.push(op);
    if (broker <= 0) {
      op.outcome = 'fail';
      op.errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
      return op;
    }
    const r = await this.links.produce(this.cluster.broker(broker).port, this.opts.topic, partition, [value], {
      acks,
      timeoutMs: this.timeoutMs,
      deadlineMs: answerWithinMs ?? this.timeoutMs + 1000,
      idempotent: this.identity && sequence !== undefined ? { ...this.identity, baseSequence: sequence } : undefined,
    });
    op.doneAt = Date.now();
    if (r.kind === 'ok') {
      op.outcome = 'ok';
      op.offset = r.value.baseOffset;
      op.errorCode = 0;
    } else if (r.kind === 'error') {
      op.errorCode = r.errorCode;
      op.outcome = DEFINITE.has(r.errorCode) ? 'fail' : 'unknown';
    }
    return op;
  }

  private async produceLoop(partition: number): Promise<void> {
    let sequence = 0;
    while (this.running) {
      const value = `${this.opts.tag ?? 'v'}-${partition}-${this.seq++}`;
      for (;;) {
        const op = await this.attempt(partition, await this.view.leader(partition), value, -1, this.identity ? sequence : undefined);
        if (op.outcome !== 'ok') await this.view.refresh();
        // A non-idempotent producer moves on to a fresh value whatever happened; an idempotent
        // one resends this batch until the brokers give a definite answer (or the run ends).
        if (!this.identity || op.outcome === 'ok' || !this.running) break;
        if (op.outcome === 'fail' && op.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && op.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE &&
          op.errorCode !== ErrorCode.NOT_ENOUGH_REPLICAS) break;
        await sleep(this.pauseMs);
      }
      sequence++;
      await sleep(this.pauseMs);
    }
  }

  private async consumeLoop(name: string): Promise<void> {
    const positions = new Array<number>(this.opts.partitions).fill(0);
    const links = new BrokerLinks(name);
    while (this.running) {
      for (let p = 0; p < this.opts.partitions && this.running; p++) await this.consumeOnce(links, name, p, positions);
      await sleep(20);
    }
    links.close();
  }

  private async consumeOnce(links: BrokerLinks, name: string, p: number, positions: number[]): Promise<void> {
    const broker = await this.view.leader(p);
    if (broker <= 0) {
      await this.view.refresh();
      return;
    }
    const r = await links.fetch(this.cluster.broker(broker).port, this.opts.topic, p, positions[p]!, 50, 2000);
    if (r.kind !== 'ok') {
      await this.view.refresh();
      return;
    }
    this.hws.push({ observer: name, partition: p, broker, hw: r.value.highWatermark, at: Date.now() });
    for (const rec of r.value.records) {
      this.reads.push({ observer: name, partition: p, offset: rec.offset, value: rec.value?.toString() ?? '' });
      positions[p] = rec.offset + 1;
    }
  }

  /** Reads every partition from offset 0 up to its leader's high watermark, as `observer`. */
  async readAll(observer: string): Promise<Map<number, number>> {
    const links = new BrokerLinks(observer);
    const hwByPartition = new Map<number, number>();
    try {
      for (let p = 0; p < this.opts.partitions; p++) {
        await this.view.refresh();
        const broker = await this.view.leader(p);
        let offset = 0;
        let hw = -1;
        for (let tries = 0; ; tries++) {
          const r = await links.fetch(this.cluster.broker(broker).port, this.opts.topic, p, offset, 0, 5000);
          if (r.kind !== 'ok') {
            if (tries > 20) throw new Error(`final read of partition ${p} from broker ${broker}: ${r.kind === 'error' ? `error ${r.errorCode}` : r.reason}`);
            await sleep(250);
            continue;
          }
          hw = r.value.highWatermark;
          for (const rec of r.value.records) this.reads.push({ observer, partition: p, offset: rec.offset, value: rec.value?.toString() ?? '' });
          if (r.value.records.length === 0 || offset >= hw) break;
          offset = r.value.records[r.value.records.length - 1]!.offset + 1;
          if (offset >= hw) break;
        }
        hwByPartition.set(p, hw);
      }
    } finally {
      links.close();
    }
    return hwByPartition;
  }
}
