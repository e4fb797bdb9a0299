// kcat (librdkafka's command-line client) against a real broker process: metadata listing,
// 100,000 messages produced from a file and read back byte for byte, and reads from given
// offsets. kcat consumes by partition assignment (-C without -G), which needs no group APIs.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, run, type RunResult } from './harness.js';

const KCAT = 'kcat';
const COUNT = 100_000;
const TOPIC = 'kcat-data';

if (!hasCommand(KCAT)) {
  t.plan(1);
  t.pass('kcat not installed: skipping the kcat tests (CI installs it)');
} else {
  t.test('kcat against the broker', async (t) => {
    const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
    brokerTeardown(t, broker);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kcat-test-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const kcat = (args: string[]) => run(KCAT, ['-b', broker.bootstrap, ...args], { timeoutMs: 60_000 });
    const why = (r: RunResult) => (r.code === 0 ? '' : `: exit ${r.code}, ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);

    // Lines of varied length and content (no newline inside), so a shifted or torn record shows.
    const lines: string[] = [];
    for (let i = 0; i < COUNT; i++) lines.push(`${String(i).padStart(6, '0')} ${randomBytes(i % 97).toString('base64')}`);
    const file = path.join(dir, 'messages.txt');
    const content = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    writeFileSync(file, content);

    await t.test('-P of 100,000 messages from a file', async (t) => {
      const started = Date.now();
      const res = await kcat(['-P', '-t', TOPIC, '-p', '0', '-X', 'linger.ms=5', '-l', file]);
      t.equal(res.code, 0, `kcat -P exits 0${why(res)}`);
      t.comment(`produced ${COUNT} messages (${content.length} bytes) in ${Date.now() - started} ms`);
    });

    await t.test('-L lists the broker and the topic', async (t) => {
      const res = await kcat(['-L', '-J', '-t', TOPIC]);
      t.equal(res.code, 0, `kcat -L exits 0${why(res)}`);
      const md = JSON.parse(res.stdout.toString());
      t.same(
        md.brokers.map((b: { id: number; name: string }) => ({ id: b.id, name: b.name })),
        [{ id: broker.nodeId, name: broker.bootstrap }],
        'the one broker, at its advertised address',
      );
      const topic = md.topics.find((x: { topic: string }) => x.topic === TOPIC);
      t.ok(topic, 'the topic is listed');
      t.same(
        topic?.partitions.map((p: { partition: number; leader: number }) => ({ partition: p.partition, leader: p.leader })),
        [{ partition: 0, leader: broker.nodeId }],
        'one partition, led by the broker',
      );
    });

    await t.test('-C -e reads every message back byte for byte', async (t) => {
      const started = Date.now();
      const res = await kcat(['-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n']);
      t.equal(res.code, 0, `kcat -C exits 0${why(res)}`);
      t.comment(`consumed ${COUNT} messages in ${Date.now() - started} ms`);
      t.equal(res.stdout.length, content.length, 'same byte count');
      t.ok(res.stdout.equals(content), 'identical bytes, in order');
    });

    await t.test('-o picks the starting offset', async (t) => {
      const mid = await kcat(['-C', '-t', TOPIC, '-p', '0', '-o', '500', '-c', '10', '-q', '-f', '%o %s\n']);
      t.equal(mid.code, 0, `kcat -o 500 -c 10 exits 0${why(mid)}`);
      t.same(
        mid.stdout.toString().split('\n').filter(Boolean),
        lines.slice(500, 510).map((l, i) => `${500 + i} ${l}`),
        '-o 500 -c 10 gives offsets 500..509 with their messages',
      );
      const tail = await kcat(['-C', '-t', TOPIC, '-p', '0', '-o', '-10', '-e', '-q', '-f', '%o %s\n']);
      t.equal(tail.code, 0, `kcat -o -10 exits 0${why(tail)}`);
      t.same(
        tail.stdout.toString().split('\n').filter(Boolean),
        lines.slice(COUNT - 10).map((l, i) => `${COUNT - 10 + i} ${l}`),
        '-o -10 gives the last ten messages',
      );
      const end = await kcat(['-C', '-t', TOPIC, '-p', '0', '-o', 'end', '-e', '-q']);
      t.equal(end.code, 0, `kcat -o end -e exits 0${why(end)}`);
      t.equal(end.stdout.length, 0, '-o end reads nothing');
    });
  });
}
