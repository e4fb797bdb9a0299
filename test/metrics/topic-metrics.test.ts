// Per-topic traffic, replica gauges and group-commit rounds at /metrics of a real broker while
// kcat produces and consumes: messages in rise by the records produced (also as seen by a
// scrape in the middle of a produce), bytes in by the bytes the log files grew, bytes out by
// what the consumer read, and /health and /ready answer.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePort, hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually, run } from '../clients/harness.js';
import { scrape, value } from './metrics-helpers.js';

const TOPIC = 'metered-kcat';

function logBytes(dataDir: string): number {
  const dir = path.join(dataDir, `${TOPIC}-0`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

if (!hasCommand('kcat')) {
  t.pass('kcat not installed: skipping (CI installs it)');
} else {
  t.test('kcat produce and consume move the topic, replica and group-commit metrics', async (t) => {
    const port = await freePort();
    // No zeros written ahead: the log files' sizes are then the bytes appended, which the
    // byte counters are checked against.
    const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${port}`, 'num.partitions': 1, 'log.zero.ahead.bytes': 0 } });
    brokerTeardown(t, broker);
    const files = mkdtempSync(path.join(os.tmpdir(), 'metrics-kcat-'));
    t.teardown(() => rmSync(files, { recursive: true, force: true }));
    const kcat = (args: string[]) => run('kcat', ['-b', broker.bootstrap, ...args], { timeoutMs: 60_000 });
    const msgIn = (text: string) => value(text, 'kafka_server_brokertopicmetrics_messagesin_total', `topic="${TOPIC}"`);
    const bytesIn = (text: string) => value(text, 'kafka_server_brokertopicmetrics_bytesin_total', `topic="${TOPIC}"`);

    t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, '/health answers 200');
    t.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200, '/ready answers 200 once the broker serves');

    const lines = (round: number, count: number): string => Array.from({ length: count }, (_, i) => `round ${round} record ${i} ${'x'.repeat(i % 50)}`).join('\n') + '\n';
    let expected = 0;
    for (const [round, count] of [[1, 300], [2, 200]] as const) {
      const before = await scrape(port);
      const bytesBefore = round === 1 ? 0 : logBytes(broker.dataDir);
      const file = path.join(files, `in-${round}.txt`);
      writeFileSync(file, lines(round, count));
      const res = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', TOPIC, '-p', '0', '-X', 'linger.ms=5', '-l', file], { timeoutMs: 60_000 });
      t.equal(res.code, 0, `kcat -P of ${count} records exits 0`);
      expected += count;
      const after = await scrape(port);
      t.equal(msgIn(after) - msgIn(before), count, `messages in rose by ${count}`);
      const grown = logBytes(broker.dataDir) - bytesBefore;
      t.equal(bytesIn(after) - bytesIn(before), grown, `bytes in rose by the ${grown} bytes the log grew`);
    }

    // Scraped while kcat is still producing: it reads its records from a pipe, half now, half
    // later. kcat reads a pipe in blocks and holds back the block's last line, so the first
    // half is written in long records and the scrape in between sees most of them, not all.
    const before = await scrape(port);
    const bytesBefore = logBytes(broker.dataDir);
    const producing = spawn('kcat', ['-b', broker.bootstrap, '-P', '-t', TOPIC, '-p', '0', '-X', 'linger.ms=5'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => producing.once('exit', resolve));
    producing.stdin.write(Array.from({ length: 100 }, (_, i) => `round 3 record ${i} ${'y'.repeat(2000)}`).join('\n') + '\n');
    let during = before;
    await eventually('records counted while kcat runs', async () => msgIn((during = await scrape(port))) > msgIn(before), 30_000);
    t.ok(msgIn(during) - msgIn(before) <= 100, `a scrape during the produce sees the records in so far (${msgIn(during) - msgIn(before)} of the first 100)`);
    t.equal(producing.exitCode, null, 'while kcat is still producing');
    producing.stdin.end(lines(4, 100));
    t.equal(await exited, 0, 'kcat -P exits 0 after the second half');
    expected += 200;
    const after = await scrape(port);
    t.equal(msgIn(after) - msgIn(before), 200, 'messages in rose by all 200 once it is done');
    t.equal(bytesIn(after) - bytesIn(before), logBytes(broker.dataDir) - bytesBefore, 'bytes in by the bytes the log grew');

    const text = await scrape(port);
    t.ok(value(text, 'kafka_network_requestmetrics_totaltimems_count', 'request="Produce"') >= 2, 'produce requests are in the request histograms');
    t.equal(value(text, 'kafka_server_replicamanager_partitioncount'), 1, 'one partition hosted');
    t.equal(value(text, 'kafka_server_replicamanager_leadercount'), 1, 'and led');
    t.equal(value(text, 'kafka_server_replicamanager_underreplicatedpartitions'), 0, 'none under-replicated');
    t.equal(value(text, 'kafka_controller_kafkacontroller_activecontrollercount'), 1, 'the single broker is the active controller');
    t.equal(value(text, 'kafka_controller_kafkacontroller_offlinepartitionscount'), 0, 'no partition is offline');
    // kcat produces with acks=all: every append is answered after its round started.
    t.equal(value(text, 'kafka_ts_groupcommit_round_bytes_sum'), logBytes(broker.dataDir), 'group-commit rounds made every appended byte durable');
    const rounds = value(text, 'kafka_ts_groupcommit_round_bytes_count');
    t.ok(rounds > 0 && value(text, 'kafka_ts_groupcommit_fdatasync_seconds_count') >= rounds, `${rounds} rounds, each with its fdatasync calls timed`);

    const consumed = await kcat(['-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
    t.equal(consumed.stdout.toString().split('\n').filter(Boolean).length, expected, `kcat -C reads the ${expected} records`);
    const out = value(await scrape(port), 'kafka_server_brokertopicmetrics_bytesout_total', `topic="${TOPIC}"`);
    t.equal(out, logBytes(broker.dataDir), 'bytes out rose by the bytes the consumer read');
  });
}
