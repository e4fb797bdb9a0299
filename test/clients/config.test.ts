// Start-up refusals a user meets on the command line: an unknown setting stops the start with
// a message naming it, and a second broker on a data dir that is in use exits at once with
// the lock message while the first keeps serving.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { freePort, mainJs, startBroker } from '../helpers/broker.js';
import { brokerTeardown, run } from './harness.js';
import { WireClient } from './wire-client.js';

async function brokerArgs(dataDir: string, extra: string[] = []): Promise<string[]> {
  const port = await freePort();
  const controller = await freePort();
  return [
    mainJs,
    '--override', `log.dirs=${dataDir}`,
    '--override', `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
    '--override', `controller.quorum.voters=1@127.0.0.1:${controller}`,
    ...extra,
  ];
}

t.test('an unknown setting stops the start and is named', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const res = await run(process.execPath, await brokerArgs(dir, ['--override', 'no.such.setting=1']), { timeoutMs: 20_000 });
  t.not(res.code, 0, `exits non-zero (code ${res.code})`);
  t.not(res.code, null, 'exits by itself, not by the timeout');
  t.match(res.stderr, /no\.such\.setting/, 'the message names the unknown setting');
});

t.test('a second broker on a locked data dir exits at once', async (t) => {
  const first = await startBroker();
  brokerTeardown(t, first);
  const started = Date.now();
  const res = await run(process.execPath, await brokerArgs(first.dataDir), { timeoutMs: 20_000 });
  const took = Date.now() - started;
  t.not(res.code, 0, `the second broker exits non-zero (code ${res.code})`);
  t.not(res.code, null, 'by itself, not by the timeout');
  t.ok(took < 10_000, `and promptly (${took} ms)`);
  t.match(res.stderr + res.stdout.toString(), /locked/, `the message says the data dir is locked: ${res.stderr.trim().split('\n').pop()}`);

  const client = await WireClient.connect(first.port);
  t.teardown(() => client.close());
  const versions = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'config-test', clientSoftwareVersion: '1' });
  t.equal(versions.errorCode, 0, 'the first broker still answers');
  t.equal(first.proc.exitCode, null, 'and is still running');
});
