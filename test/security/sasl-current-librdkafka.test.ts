// A current librdkafka (confluent-kafka from pip, in a venv made in a temp dir) against a
// SASL_SSL listener with SCRAM-SHA-512 and SCRAM-SHA-256: librdkafka 2.6.1 and later send the
// RFC 5802 nonce (Debian's 2.0.2 repeats its own nonce; sasl.test.ts covers that one). Skipped
// when pip cannot reach its registry.
import t from 'tap';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startBroker } from '../helpers/broker.js';
import { venvPython } from '../helpers/current-librdkafka.js';
import { brokerTeardown, run } from '../clients/harness.js';
import { makePki } from './certs.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'secure_roundtrip.py');

const python = await venvPython();
if (python === null) {
  t.plan(1);
  t.pass('no venv with pip confluent-kafka (registry unreachable?): skipped');
} else {
  t.test('current librdkafka with SCRAM over SASL_SSL', async (t) => {
    const pki = makePki();
    t.teardown(() => pki.cleanup());
    const port = await freePort();
    const controllerPort = await freePort();
    const broker = await startBroker({
      port,
      controllerPort,
      overrides: {
        listeners: `SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name': 'SASL_SSL',
        'ssl.keystore.location': pki.serverKeystore,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
        'num.partitions': 1,
      },
      args: ['--add-scram', 'SCRAM-SHA-512=[name=app,password=app-secret]', '--add-scram', 'SCRAM-SHA-256=[name=app,password=app-secret]'],
    });
    brokerTeardown(t, broker);
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256']) {
      const extra = { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': pki.caCert, 'sasl.mechanism': mechanism, 'sasl.username': 'app', 'sasl.password': 'app-secret' };
      const topic = `current-${mechanism.toLowerCase()}`;
      const r = await run(python, [SCRIPT, broker.bootstrap, topic, '100', JSON.stringify(extra)], { timeoutMs: 60_000 });
      const out = JSON.parse(r.stdout.toString() || '{}');
      t.equal(out.delivered, 100, `librdkafka ${out.version} ${mechanism}: 100 delivered ${r.stderr.slice(-300)} ${JSON.stringify(out.errors)}`);
      t.same(out.consumed, Array.from({ length: 100 }, (_, i) => `m${i}`), `${mechanism}: read back in order`);
      const wrong = { ...extra, 'sasl.password': 'not-app-secret' };
      const w = await run(python, [SCRIPT, broker.bootstrap, `${topic}-x`, '1', JSON.stringify({ ...wrong, 'message.timeout.ms': 3000 })], { timeoutMs: 60_000 });
      const wout = JSON.parse(w.stdout.toString() || '{}');
      t.equal(wout.delivered, 0, `${mechanism}: a wrong password delivers nothing`);
    }
  });
}
