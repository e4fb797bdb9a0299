// kcat (librdkafka) as a balanced consumer group member (-G): it joins the group, gets every
// partition assigned, reads from the earliest offset to the end (-e) and commits on the way
// out; a second run of the same group reads only what was produced after those commits.
// (`-o` would override the committed offsets, so the start comes from auto.offset.reset.)
import t from 'tap';
import { hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, run, type RunResult } from '../clients/harness.js';

const KCAT = 'kcat';
const TOPIC = 'kcat-group-data';
const GROUP = 'kcat-readers';

if (!hasCommand(KCAT)) {
  t.plan(1);
  t.pass('kcat not installed: skipping the kcat group tests (CI installs it)');
} else {
  t.test('kcat -G balanced consumer group', async (t) => {
    const broker = await startBroker({ overrides: { 'num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
    brokerTeardown(t, broker);
    const kcat = (args: string[], input?: string) => run(KCAT, ['-b', broker.bootstrap, ...args], { input, timeoutMs: 60_000 });
    const why = (r: RunResult) => (r.code === 0 ? '' : `: exit ${r.code}, ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `line-${from + i}`);
    const consume = async (): Promise<string[]> => {
      const res = await kcat(['-G', GROUP, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\n', '-X', 'session.timeout.ms=10000', TOPIC]);
      t.equal(res.code, 0, `kcat -G exits 0${why(res)}`);
      return res.stdout.toString().split('\n').filter((l) => l.length > 0);
    };

    const first = lines(0, 3000);
    const p1 = await kcat(['-P', '-t', TOPIC, '-K', ':'], first.map((l, i) => `k${i}:${l}\n`).join(''));
    t.equal(p1.code, 0, `kcat -P exits 0${why(p1)}`);
    const read1 = await consume();
    t.equal(read1.length, first.length, 'the first group member reads every record');
    t.same([...read1].sort(), [...first].sort(), 'each exactly once');

    const second = lines(3000, 500);
    const p2 = await kcat(['-P', '-t', TOPIC, '-K', ':'], second.map((l, i) => `k${i}:${l}\n`).join(''));
    t.equal(p2.code, 0, `kcat -P exits 0${why(p2)}`);
    const read2 = await consume();
    t.same([...read2].sort(), [...second].sort(), 'the next run resumes at the committed offsets');
  });
}
