// TLS listeners against a real broker process, with certificates made by openssl at run time:
// kcat and confluent_kafka produce and read back over mutual TLS; an untrusted client
// certificate, or none where one is required, is refused; a listener's `listener.name.`
// overrides (TLS 1.3 only, no client certificate) apply to it alone; idle and stalled TLS
// connections are closed after connections.max.idle.ms; SIGHUP loads a new server certificate;
// the certificate's subject is the principal the authorizer checks.
import t from 'tap';
import { copyFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { freePort, hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, eventually, run } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { makePki } from './certs.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'secure_roundtrip.py');
const IDLE_MS = 2000;

const pki = makePki();
t.teardown(() => pki.cleanup());
const alice = pki.client('/C=US/O=example/OU=eng/CN=alice');
const admin = pki.client('/O=example/CN=admin');

/** A TLS connection to the broker; resolves once the handshake is done, rejects when refused. */
function connectTls(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: [readPem(pki.caCert)], servername: 'localhost', ...opts });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed during the handshake')));
  });
}

function readPem(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Whether the broker answers an ApiVersions request on this socket (false: it closed it). */
async function served(socket: tls.TLSSocket): Promise<boolean> {
  const client = WireClient.over(socket);
  try {
    const r = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'tls-test', clientSoftwareVersion: '1' });
    return r.errorCode === ErrorCode.NONE;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

t.test('TLS listeners', async (t) => {
  const port = await freePort();
  const strictPort = await freePort();
  const controllerPort = await freePort();
  const keystore = path.join(pki.dir, 'live.keystore.pem');
  copyFileSync(pki.serverKeystore, keystore);
  const broker = await startBroker({
    port,
    controllerPort,
    overrides: {
      listeners: `SSL://127.0.0.1:${port},STRICT://127.0.0.1:${strictPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      'listener.security.protocol.map': 'SSL:SSL,STRICT:SSL,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'SSL',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': keystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': pki.caCert,
      'ssl.client.auth': 'required',
      'listener.name.strict.ssl.client.auth': 'none',
      'listener.name.strict.ssl.enabled.protocols': 'TLSv1.3',
      'connections.max.idle.ms': IDLE_MS,
      'num.partitions': 1,
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:CN=admin,O=example',
      'allow.everyone.if.no.acl.found': true,
    },
  });
  brokerTeardown(t, broker);
  const clientCert = { key: readPem(alice.key), cert: readPem(alice.cert) };

  await t.test('a client with a certificate the CA signed is served', async (t) => {
    t.ok(await served(await connectTls(port, clientCert)), 'ApiVersions answered over mutual TLS');
  });

  await t.test('the certificate subject is the principal ACLs name', async (t) => {
    const produce = (c: WireClient) => c.request(ApiKey.Produce, 9, {
      transactionalId: null, acks: 1, timeoutMs: 5000,
      topicData: [{ name: 'guarded', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from('x') }] }) }] }],
    }).then((r) => r.responses[0].partitionResponses[0].errorCode as number);
    const su = WireClient.over(await connectTls(port, { key: readPem(admin.key), cert: readPem(admin.cert) }));
    t.teardown(() => su.close());
    const acl = await su.request(ApiKey.CreateAcls, 3, {
      creations: [{ resourceType: 2, resourceName: 'guarded', resourcePatternType: 3, principal: 'User:CN=alice,OU=eng,O=example,C=US', host: '*', operation: 4, permissionType: 2 }],
    });
    t.equal(acl.results[0].errorCode, ErrorCode.NONE, 'the super user (by its certificate) denies alice WRITE on guarded');
    t.equal(await produce(su), ErrorCode.NONE, 'the super user writes to guarded');
    const a = WireClient.over(await connectTls(port, clientCert));
    t.teardown(() => a.close());
    t.equal(await produce(a), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'alice, named by her certificate\'s subject, may not');
  });

  await t.test('an untrusted client certificate is refused', async (t) => {
    const rogue = { key: readPem(pki.rogue.key), cert: readPem(pki.rogue.cert) };
    const outcome = await connectTls(port, rogue).then(served, () => false);
    t.equal(outcome, false, 'the handshake fails or the connection is closed unanswered');
  });

  await t.test('a client without a certificate is refused where one is required', async (t) => {
    const outcome = await connectTls(port).then(served, () => false);
    t.equal(outcome, false, 'no answer without a client certificate');
  });

  await t.test('listener.name overrides: the STRICT listener takes TLS 1.3 only and no client certificate', async (t) => {
    t.ok(await served(await connectTls(strictPort, { minVersion: 'TLSv1.3' })), 'a TLS 1.3 client without a certificate is served');
    const v12 = await connectTls(strictPort, { maxVersion: 'TLSv1.2' }).then(served, () => false);
    t.equal(v12, false, 'a TLS 1.2 client is refused');
    const s = await connectTls(port, { ...clientCert, maxVersion: 'TLSv1.2' });
    t.equal(s.getProtocol(), 'TLSv1.2', 'the SSL listener still accepts TLS 1.2');
    t.ok(await served(s), 'and serves it');
  });

  await t.test('an idle TLS connection and a stalled handshake are closed after connections.max.idle.ms', async (t) => {
    const idle = await connectTls(port, clientCert);
    const stalled = net.connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    const started = Date.now();
    const closedAt = (s: net.Socket) => new Promise<number>((r) => s.once('close', () => r(Date.now() - started)));
    const [a, b] = await Promise.all([closedAt(idle), closedAt(stalled)]);
    t.ok(a >= IDLE_MS - 100 && a < IDLE_MS * 4, `the idle TLS connection closed after ${a} ms`);
    t.ok(b >= IDLE_MS - 100 && b < IDLE_MS * 4, `the stalled handshake closed after ${b} ms`);
  });

  if (hasCommand('kcat')) {
    await t.test('kcat produces and reads back over mutual TLS', async (t) => {
      const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', `ssl.certificate.location=${alice.cert}`, '-X', `ssl.key.location=${alice.key}`];
      const lines = Array.from({ length: 500 }, (_, i) => `tls-${i}`);
      const p = await run('kcat', ['-b', broker.bootstrap, ...ssl, '-P', '-t', 'kcat-tls', '-p', '0'], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
      t.equal(p.code, 0, `kcat -P exits 0 ${p.stderr.slice(-300)}`);
      const c = await run('kcat', ['-b', broker.bootstrap, ...ssl, '-C', '-t', 'kcat-tls', '-p', '0', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
      t.same(c.stdout.toString().split('\n').filter(Boolean), lines, 'every message read back in order');
      const rogue = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', `ssl.certificate.location=${pki.rogue.cert}`, '-X', `ssl.key.location=${pki.rogue.key}`];
      const refused = await run('kcat', ['-b', broker.bootstrap, ...rogue, '-L', '-m', '5'], { timeoutMs: 30_000 });
      t.not(refused.code, 0, 'kcat with an untrusted certificate gets no metadata');
    });
  } else {
    t.pass('kcat not installed: skipped');
  }

  if (commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) {
    await t.test('confluent_kafka produces and reads back over mutual TLS', async (t) => {
      const extra = { 'security.protocol': 'SSL', 'ssl.ca.location': pki.caCert, 'ssl.certificate.location': alice.cert, 'ssl.key.location': alice.key };
      const r = await run(PYTHON, [SCRIPT, broker.bootstrap, 'confluent-tls', '200', JSON.stringify(extra)], { timeoutMs: 60_000 });
      const out = JSON.parse(r.stdout.toString() || '{}');
      t.equal(out.delivered, 200, `200 messages delivered ${r.stderr.slice(-300)} ${JSON.stringify(out.errors)}`);
      t.same(out.consumed, Array.from({ length: 200 }, (_, i) => `m${i}`), 'and read back in order');
    });
  } else {
    t.pass('confluent_kafka not importable: skipped');
  }

  await t.test('SIGHUP loads the new server certificate for new connections', async (t) => {
    const serial = async () => {
      const s = await connectTls(port, clientCert);
      const n = s.getPeerCertificate().serialNumber;
      s.destroy();
      return n;
    };
    const before = await serial();
    copyFileSync(pki.newServerKeystore(), keystore);
    broker.proc.kill('SIGHUP');
    let after = before;
    await eventually('the new certificate to be served', async () => (after = await serial()) !== before);
    t.not(after, before, `the server certificate changed (${before} -> ${after})`);
    t.equal(broker.proc.exitCode, null, 'the broker keeps running');
  });
});
