// What a person sees when the broker starts: one JSON object per line on a pipe, one readable
// line per entry with LOG_FORMAT=pretty, and in either form one start-up line naming the
// listeners, the data dir, the cluster id and the metrics URL.
import { createRequire } from 'node:module';
import t from 'tap';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from '../clients/harness.js';

const hasPretty = (() => {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
})();

t.test('on a pipe: JSON lines, and a start-up line with what a user needs', async (t) => {
  const metrics = await freePort();
  const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${metrics}` }, env: { LOG_LEVEL: 'info' } });
  brokerTeardown(t, broker);
  await eventually('the start-up line', () => broker.output().includes('started: listening on'));
  const lines = broker.output().split('\n').filter(Boolean);
  t.ok(lines.every((l) => l.startsWith('{') && JSON.parse(l)), `all ${lines.length} lines are JSON objects`);
  const started = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => String(e.msg).includes('started: listening on'))!;
  t.same(started.listeners, [`PLAINTEXT://127.0.0.1:${broker.port}`], 'it names the client listener');
  t.equal(started.logDir, broker.dataDir, 'the data dir');
  t.match(started.clusterId, /^[A-Za-z0-9_-]{22}$/, 'the cluster id');
  t.equal(started.metrics, `http://127.0.0.1:${metrics}/metrics`, 'and the metrics URL');
});

t.test('LOG_FORMAT=pretty: one readable line per entry', { skip: hasPretty ? false : 'pino-pretty not installed' }, async (t) => {
  const broker = await startBroker({ env: { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' } });
  brokerTeardown(t, broker);
  await eventually('the start-up line', () => broker.output().includes('started: listening on'));
  const lines = broker.output().split('\n').filter(Boolean);
  t.ok(lines.every((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG):/.test(l)), `all ${lines.length} lines start with time and level`);
  const dir = broker.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.match(
    broker.output(),
    new RegExp(`INFO: broker 1 started: listening on PLAINTEXT://127\\.0\\.0\\.1:${broker.port}, data in ${dir}, cluster [A-Za-z0-9_-]{22}, metrics off`),
    'the start-up line reads as a sentence',
  );
  t.match(broker.output(), /thread":"partition-worker-0"/, 'worker threads log in the same form');
});
