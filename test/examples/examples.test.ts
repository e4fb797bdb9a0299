// The examples in examples/ are what a user copies into a test suite: they run as the user
// runs them (node --test, importing the package by its name) and must pass.
import t from 'tap';
import { run } from '../clients/harness.js';
import { repoRoot } from '../helpers/broker.js';

t.test('examples/node-test pass under node --test', async (t) => {
  const res = await run(process.execPath, ['--test', `${repoRoot}/examples/node-test/`], { timeoutMs: 180_000 });
  const out = res.stdout.toString();
  t.equal(res.code, 0, `node --test exits 0${res.code === 0 ? '' : `:\n${out}\n${res.stderr}`}`);
  t.match(out, /^# pass 2$/m, 'both examples pass: kafkajs against startBroker, failover against startCluster');
});
