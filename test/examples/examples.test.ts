// The examples in examples/ are what a user copies into a test suite: they run as the user
// runs them (node --test, importing the package by its name) and must pass.
import path from 'node:path';
import t from 'tap';
import { run } from '../clients/harness.js';
import { repoRoot } from '../helpers/broker.js';

const vitest = path.join(repoRoot, 'node_modules/vitest/vitest.mjs');

t.test('examples/node-test pass under node --test', async (t) => {
  const res = await run(process.execPath, ['--test', `${repoRoot}/examples/node-test/`], { timeoutMs: 180_000 });
  const out = res.stdout.toString();
  t.equal(res.code, 0, `node --test exits 0${res.code === 0 ? '' : `:\n${out}\n${res.stderr}`}`);
  t.match(out, /^# pass 2$/m, 'both examples pass: kafkajs against startBroker, failover against startCluster');
});

t.test('examples/vitest passes under vitest', async (t) => {
  const res = await run(process.execPath, [vitest, 'run', '--config', `${repoRoot}/examples/vitest/vitest.config.mjs`], { timeoutMs: 120_000 });
  const out = `${res.stdout}${res.stderr}`;
  t.equal(res.code, 0, `vitest exits 0${res.code === 0 ? '' : `:\n${out}`}`);
  t.match(out, /Tests\s+1 passed/, 'the kafkajs test against startBroker passes');
});
