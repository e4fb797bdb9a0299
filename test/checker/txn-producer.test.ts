// The checker's transactional producer against a scripted cluster: sequences go on across
// transactions of one epoch; a batch is retried with its own sequence; a batch that fails for
// good aborts its transaction and takes a new epoch; an EndTxn(commit) whose answer is lost is
// retried, committed when a retry succeeds and unknown when none does.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { Address, IdempotentIdentity, Outcome } from '../../src/checker/client.js';
import type { BatchResult } from '../../src/checker/producer.js';
import type { TxnRecord } from '../../src/checker/txn-history.js';
import { TransactionalProducer, type TxnProducerHost } from '../../src/checker/txn-producer.js';

const LOST: Outcome<null> = { kind: 'unknown', reason: 'connection lost' };

class ScriptedCluster implements TxnProducerHost {
  running = true;
  readonly partitions = 2;
  readonly txns: TxnRecord[] = [];
  readonly sent: { partition: number; baseSequence: number; epoch: number }[] = [];
  readonly ends: boolean[] = [];
  epoch = -1;

  constructor(
    private readonly transactions: number,
    private readonly produceAnswers: BatchResult[] = [],
    private readonly endAnswers: Outcome<null>[] = [],
  ) {}

  txnValue(transactionalId: string, n: number): string {
    return `${transactionalId}-${n}`;
  }

  async sendTxn(partition: number, _values: string[], id: IdempotentIdentity & { baseSequence: number }): Promise<BatchResult> {
    this.sent.push({ partition, baseSequence: id.baseSequence, epoch: id.producerEpoch });
    return this.produceAnswers.shift() ?? { outcome: 'ok', errorCode: 0 };
  }

  async refresh(): Promise<void> {}

  async findCoordinator(): Promise<Address> {
    return '127.0.0.1:1';
  }

  async initTxn(): Promise<Outcome<IdempotentIdentity>> {
    return { kind: 'ok', value: { producerId: 7, producerEpoch: ++this.epoch } };
  }

  async addPartitions(): Promise<Outcome<null>> {
    return { kind: 'ok', value: null };
  }

  async endTxn(_c: Address, _id: string, _p: IdempotentIdentity, commit: boolean): Promise<Outcome<null>> {
    this.ends.push(commit);
    return this.endAnswers.shift() ?? { kind: 'ok', value: null };
  }

  recordTxn(txn: TxnRecord): void {
    this.txns.push(txn);
    if (this.txns.length >= this.transactions) this.running = false;
  }
}

function producer(host: ScriptedCluster, random: () => number): TransactionalProducer {
  return new TransactionalProducer(host, { transactionalId: 'tx', batchRecords: 5, batchesPerPartition: 2, commitShare: 0.5, retryForMs: 1000, pauseMs: 0, random });
}

t.test('sequences go on across the transactions of one epoch', async (t) => {
  const host = new ScriptedCluster(2);
  await producer(host, () => 0).run();
  t.same(host.txns.map((x) => [x.outcome, x.values.length]), [['committed', 20], ['committed', 20]], 'two transactions of 2 batches of 5 on both partitions');
  t.same(host.sent.filter((s) => s.partition === 0).map((s) => s.baseSequence), [0, 5, 10, 15]);
  t.same([...new Set(host.sent.map((s) => s.epoch))], [0], 'one epoch throughout');
});

t.test('a retriable error or a lost answer resends the batch with its sequence', async (t) => {
  const host = new ScriptedCluster(1, [{ outcome: 'fail', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }, { outcome: 'unknown', errorCode: -1 }]);
  await producer(host, () => 0.9).run();
  const p = host.sent.filter((s) => s.partition === host.sent[0]!.partition).map((s) => s.baseSequence);
  t.same(p, [0, 0, 0, 5], 'the first batch three times, then the second');
  t.same([host.txns[0]!.outcome, host.ends], ['aborted', [false]], 'aborted as the dice said, nothing in doubt');
  t.equal(host.epoch, 0, 'no new epoch needed');
});

t.test('a batch that fails for good aborts the transaction and takes a new epoch', async (t) => {
  const host = new ScriptedCluster(2, [{ outcome: 'fail', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER }]);
  await producer(host, () => 0).run();
  t.same(host.txns.map((x) => x.outcome), ['aborted', 'committed']);
  t.same(host.ends, [false, true], 'the failed transaction is aborted, never committed');
  t.same([host.epoch, host.sent.filter((s) => s.epoch === 1 && s.partition === 0).map((s) => s.baseSequence)], [1, [0, 5]], 'the next starts at sequence 0 of a new epoch');
});

t.test('a lost EndTxn(commit) answer: committed when a retry succeeds, unknown when none does', async (t) => {
  const host = new ScriptedCluster(2, [], [LOST, { kind: 'ok', value: null }, LOST, { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED }]);
  await producer(host, () => 0).run();
  t.same(host.txns.map((x) => x.outcome), ['committed', 'unknown']);
  t.ok(host.txns.every((x) => x.commitSentAt !== undefined), 'each remembers when its commit was sent');
  t.same(host.ends, [true, true, true, true], 'EndTxn(commit) sent again after each lost answer');
});
