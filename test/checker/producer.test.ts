// The checker's partition producer against a broker simulated in memory (a log that checks
// sequence numbers as a broker does): with idempotence, batches pipelined five deep come back
// failed and are sent again in sequence order, each written once; an answer saying the broker
// lost the producer's state makes it take a new producer id and start at sequence 0; without
// idempotence no value is ever sent twice.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { IdempotentIdentity } from '../../src/checker/client.js';
import { PartitionProducer, type BatchResult, type ProducerHost } from '../../src/checker/producer.js';

interface Sent {
  values: string[];
  seq: number | undefined;
  pid: number | undefined;
}

/** One partition's leader: appends a batch whose sequence is the next expected, dedups older ones. */
class FakeBroker implements ProducerHost {
  running = true;
  readonly log: string[] = [];
  readonly sent: Sent[] = [];
  maxInFlight = 0;
  outOfOrder = 0;
  private inFlight = 0;
  private connection: Promise<unknown> = Promise.resolve();
  private next = new Map<number, number>();
  private n = 0;
  private pids = 0;
  /** Errors to answer, by send index, instead of appending. */
  constructor(private readonly inject: Map<number, number>, private readonly stopAfter: number) {}

  nextValue(): string {
    return `v${this.n++}`;
  }

  /** Answers come back in the order requests were sent, as on one connection to a broker. */
  send(_p: number, values: string[], idem?: IdempotentIdentity & { baseSequence: number }): Promise<BatchResult> {
    const i = this.sent.length;
    this.sent.push({ values, seq: idem?.baseSequence, pid: idem?.producerId });
    if (this.sent.length >= this.stopAfter) this.running = false;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    const answer = this.connection.then(() => new Promise((r) => setTimeout(r, 2))).then(() => {
      this.inFlight--;
      return this.handle(i, values, idem);
    });
    this.connection = answer;
    return answer;
  }

  private handle(i: number, values: string[], idem?: IdempotentIdentity & { baseSequence: number }): BatchResult {
    const err = this.inject.get(i);
    if (err !== undefined) return { outcome: 'fail', errorCode: err };
    if (idem) {
      const expected = this.next.get(idem.producerId) ?? 0;
      if (idem.baseSequence < expected) return { outcome: 'ok', errorCode: 0 };
      if (idem.baseSequence > expected) {
        this.outOfOrder++;
        return { outcome: 'fail', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
      }
      this.next.set(idem.producerId, expected + values.length);
    }
    this.log.push(...values);
    return { outcome: 'ok', errorCode: 0 };
  }

  async refresh(): Promise<void> {}

  async newIdentity(): Promise<IdempotentIdentity> {
    return { producerId: ++this.pids, producerEpoch: 0 };
  }
}

const opts = { batchRecords: 3, maxInFlight: 5, pauseMs: 0 };

t.test('idempotent: failed batches are sent again in sequence order and written once', async (t) => {
  const broker = new FakeBroker(new Map([[6, ErrorCode.NOT_LEADER_OR_FOLLOWER], [20, ErrorCode.NOT_ENOUGH_REPLICAS]]), 60);
  await new PartitionProducer(broker, 0, { ...opts, idempotent: true }).run();
  const written = broker.log.map((v) => Number(v.slice(1)));
  t.same(written, written.map((_, i) => i), 'the log holds v0, v1, ... once each, in order');
  t.ok(broker.sent.some((s, i) => i > 6 && s.seq === broker.sent[6]!.seq), 'the failed batch was sent again with its sequence');
  t.ok(broker.outOfOrder <= 2 * 4, `only batches in flight behind a failed one were refused as out of order (${broker.outOfOrder})`);
  t.equal(broker.maxInFlight, 5, 'five requests were in flight at once');
});

t.test('idempotent: a broker that lost the producer gets a new producer id, from sequence 0', async (t) => {
  const broker = new FakeBroker(new Map([[4, ErrorCode.UNKNOWN_PRODUCER_ID]]), 30);
  await new PartitionProducer(broker, 0, { ...opts, idempotent: true }).run();
  const second = broker.sent.filter((s) => s.pid === 2);
  t.ok(second.length > 0, 'later batches carry producer id 2');
  t.equal(second[0]!.seq, 0, 'the new producer id starts at sequence 0');
  t.equal(new Set(broker.log).size, broker.log.length, 'no value written twice');
});

t.test('without idempotence a failed batch is never sent again', async (t) => {
  const broker = new FakeBroker(new Map([[3, ErrorCode.NOT_LEADER_OR_FOLLOWER], [4, ErrorCode.REQUEST_TIMED_OUT]]), 30);
  await new PartitionProducer(broker, 0, { ...opts, idempotent: false }).run();
  const values = broker.sent.flatMap((s) => s.values);
  t.equal(new Set(values).size, values.length, 'every value was sent once');
  t.equal(broker.log.length, values.length - 6, 'all but the two failed batches are written');
});
