// Key stores as Kafka users have them: PKCS12 and JKS key and trust stores made by keytool (from
// a key and certificates openssl makes at run time) serve a TLS listener that kcat produces to
// and reads back from over mutual TLS; a wrong store or key password stops the start with an
// error naming the setting at fault and never the password.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { freePort, hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, run } from '../clients/harness.js';
import { makePki, type Pki } from './certs.js';

interface Stores { keystore: string; truststore: string }

/** keytool's stores of a type: the server key with its chain (key password apart for JKS), and the CA. */
function keytoolStores(pki: Pki, type: 'PKCS12' | 'JKS'): Stores {
  const file = (name: string) => path.join(pki.dir, `${name}.${type.toLowerCase()}`);
  const bundle = path.join(pki.dir, `server-${type}.openssl.p12`);
  // keytool imports a key only from another key store: openssl packs the PEM files into one first.
  execFileSync('openssl', ['pkcs12', '-export', '-in', pki.serverKeystore, '-certfile', pki.caCert, '-name', 'broker', '-out', bundle, '-passout', 'pass:bundle-pw']);
  const keystore = file('keystore');
  execFileSync('keytool', [
    '-importkeystore', '-noprompt', '-srckeystore', bundle, '-srcstoretype', 'PKCS12', '-srcstorepass', 'bundle-pw', '-srcalias', 'broker',
    '-destkeystore', keystore, '-deststoretype', type, '-deststorepass', 'store-pw', '-destalias', 'broker',
    // PKCS12 stores take the store password for their keys.
    '-destkeypass', type === 'JKS' ? 'key-pw' : 'store-pw',
  ], { stdio: 'pipe' });
  const truststore = file('truststore');
  execFileSync('keytool', ['-importcert', '-noprompt', '-alias', 'ca', '-file', pki.caCert, '-keystore', truststore, '-storetype', type, '-storepass', 'trust-pw'], { stdio: 'pipe' });
  return { keystore, truststore };
}

if (!hasCommand('keytool') || !hasCommand('kcat')) {
  t.plan(1);
  t.pass('keytool or kcat not installed: skipped');
} else {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const alice = pki.client('/CN=alice');
  const stores = { PKCS12: keytoolStores(pki, 'PKCS12'), JKS: keytoolStores(pki, 'JKS') };

  const settings = (type: 'PKCS12' | 'JKS', port: number, controllerPort: number, passwords: Record<string, string> = {}) => ({
    listeners: `SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'listener.security.protocol.map': 'SSL:SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'SSL',
    'ssl.keystore.type': type,
    'ssl.keystore.location': stores[type].keystore,
    'ssl.keystore.password': 'store-pw',
    ...(type === 'JKS' ? { 'ssl.key.password': 'key-pw' } : {}),
    'ssl.truststore.type': type,
    'ssl.truststore.location': stores[type].truststore,
    'ssl.truststore.password': 'trust-pw',
    'ssl.client.auth': 'required',
    'num.partitions': 1,
    ...passwords,
  });

  for (const type of ['PKCS12', 'JKS'] as const) {
    t.test(`a ${type} key store and trust store serve kcat over mutual TLS`, async (t) => {
      const port = await freePort();
      const controllerPort = await freePort();
      const broker = await startBroker({ port, controllerPort, overrides: settings(type, port, controllerPort) });
      brokerTeardown(t, broker);
      const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', `ssl.certificate.location=${alice.cert}`, '-X', `ssl.key.location=${alice.key}`];
      const lines = ['one', 'two', 'three'];
      const p = await run('kcat', ['-b', broker.bootstrap, ...ssl, '-P', '-t', 'stores', '-p', '0'], { input: `${lines.join('\n')}\n`, timeoutMs: 30_000 });
      t.equal(p.code, 0, `kcat -P exits 0 ${p.stderr.slice(-300)}`);
      const c = await run('kcat', ['-b', broker.bootstrap, ...ssl, '-C', '-t', 'stores', '-p', '0', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
      t.same(c.stdout.toString().split('\n').filter(Boolean), lines, 'the records read back, the server certificate checked against the CA');
      const rogue = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', `ssl.certificate.location=${pki.rogue.cert}`, '-X', `ssl.key.location=${pki.rogue.key}`];
      const refused = await run('kcat', ['-b', broker.bootstrap, ...rogue, '-L', '-m', '5'], { timeoutMs: 30_000 });
      t.not(refused.code, 0, 'a client certificate the trust store does not vouch for is refused');
    });
  }

  const wrong: [string, 'PKCS12' | 'JKS', Record<string, string>, RegExp][] = [
    ['the PKCS12 key store password', 'PKCS12', { 'ssl.keystore.password': 'not-the-store-pw' }, /ssl\.keystore\.password does not open ssl\.keystore\.location/],
    ['the PKCS12 trust store password', 'PKCS12', { 'ssl.truststore.password': 'not-the-store-pw' }, /ssl\.truststore\.password does not open ssl\.truststore\.location/],
    ['the JKS key store password', 'JKS', { 'ssl.keystore.password': 'not-the-store-pw' }, /ssl\.keystore\.password does not open ssl\.keystore\.location/],
    ['the JKS key password', 'JKS', { 'ssl.key.password': 'not-the-store-pw' }, /ssl\.key\.password does not open the private key/],
  ];
  for (const [what, type, passwords, message] of wrong) {
    t.test(`a wrong password (${what}) stops the start, naming the setting`, async (t) => {
      const port = await freePort();
      const controllerPort = await freePort();
      const broker = await startBroker({ port, controllerPort, wait: false, overrides: settings(type, port, controllerPort, passwords) });
      brokerTeardown(t, broker);
      const code = await new Promise<number | null>((r) => broker.proc.once('exit', (c) => r(c)));
      t.equal(code, 1, 'the broker exits with status 1');
      t.match(broker.output(), message, 'its error names the setting');
      t.notMatch(broker.output(), /not-the-store-pw/, 'and not the password');
    });
  }
}
