// Fuzz of the SASL handshake and the TLS listener against a real broker process: seeded
// random mechanisms, tokens (PLAIN, SCRAM client-first and client-final), bare v0 token frames
// and raw bytes split at random points; then random bytes at a TLS port. Every connection must
// be refused or closed (an unfinished handshake by connections.max.idle.ms; none left hanging), the broker must keep running, and a good login
// must still work afterwards.
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { encodeRequestFrame } from '../../src/shared/protocol/frames.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { makePki } from './certs.js';
import { scramLogin } from './sasl-client.js';
import { rng } from '../protocol/schema-values.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1717);
const ROUNDS = 300;
const IDLE_MS = 1000;

const rand = rng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function frame(apiKey: number, version: number, body: object): Buffer {
  return Buffer.concat(encodeRequestFrame(apiKey, version, 1, 'fuzz', body));
}

function sized(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/** The bytes one fuzz connection sends. */
function attack(): Buffer {
  const mech = pick(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI', '', bytes(int(20)).toString('latin1')]);
  const version = int(2);
  const hs = frame(ApiKey.SaslHandshake, version, { mechanism: mech });
  const token = pick([
    bytes(int(200)),
    Buffer.from(`\0${bytes(int(10)).toString('latin1')}\0${bytes(int(10)).toString('latin1')}`),
    Buffer.from(`n,,n=${bytes(int(8)).toString('base64')},r=${bytes(int(12)).toString('base64')}`),
    Buffer.from(`c=biws,r=${bytes(8).toString('base64')},p=${bytes(int(70)).toString('base64')}`),
    Buffer.from(pick(['n,,', 'y,,n=a,r=b', 'p=x,,n=a,r=b', 'n,a=other,n=a,r=b', 'n,,n=a=ZZ,r=b', ',,,,', 'c=,r=,p='])),
  ]);
  const auth = version === 0 ? sized(token) : frame(ApiKey.SaslAuthenticate, int(3), { authBytes: token });
  switch (int(5)) {
    case 0: return hs;
    case 1: return Buffer.concat([hs, auth]);
    case 2: return Buffer.concat([hs, auth, frame(ApiKey.SaslAuthenticate, 2, { authBytes: token })]);
    case 3: return Buffer.concat([hs, auth, frame(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })]);
    default: return Buffer.concat([sized(bytes(int(60))), bytes(int(30))]);
  }
}

/** Sends the bytes in random pieces; resolves when the broker closed or answered and went quiet. */
function send(port: number, data: Buffer): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('data', () => {});
    let quiet: NodeJS.Timeout | undefined;
    s.once('close', () => {
      clearTimeout(quiet);
      resolve('closed');
    });
    s.once('connect', () => {
      let at = 0;
      while (at < data.length) {
        const n = 1 + int(Math.max(1, data.length - at));
        s.write(data.subarray(at, at + n));
        at += n;
      }
      // A handshake left unfinished is closed by connections.max.idle.ms; past that the
      // connection counts as left hanging.
      quiet = setTimeout(() => {
        s.destroy();
        resolve('open');
      }, IDLE_MS + 1500);
    });
  });
}

t.test(`SASL handshake and TLS listener fuzz (seed ${SEED})`, async (t) => {
  const pki = makePki();
  t.teardown(() => pki.cleanup());
  const port = await freePort();
  const saslPort = await freePort();
  const controllerPort = await freePort();
  const broker = await startBroker({
    port,
    controllerPort,
    overrides: {
      listeners: `SECURE://127.0.0.1:${port},SASL://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      'listener.security.protocol.map': 'SECURE:SASL_SSL,SASL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'SECURE',
      'ssl.keystore.location': pki.serverKeystore,
      'listener.name.sasl.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";',
      'connection.failed.authentication.delay.ms': 0,
      'connections.max.idle.ms': IDLE_MS,
    },
    args: ['--add-scram', 'SCRAM-SHA-256=[name=a,password=b]'],
  });
  brokerTeardown(t, broker);

  const outcomes = { closed: 0, open: 0 };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    pending.push(send(saslPort, attack()).then((o) => void outcomes[o]++));
    if (pending.length >= 20) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  t.same(outcomes, { closed: ROUNDS, open: 0 }, 'every fuzz connection was refused or closed by the broker, none left hanging');

  const tlsOutcomes = await Promise.all(Array.from({ length: 40 }, () => send(port, bytes(1 + int(600)))));
  t.equal(tlsOutcomes.filter((o) => o === 'closed').length, 40, 'random bytes at the TLS port: every connection closed');

  t.equal(broker.proc.exitCode, null, 'the broker is still running');
  const c = await new Promise<WireClient>((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: [readFileSync(pki.caCert)], servername: 'localhost' });
    s.once('secureConnect', () => resolve(WireClient.over(s)));
    s.once('error', reject);
  });
  const r = await scramLogin(c, 'SCRAM-SHA-256', 'a', 'b');
  t.equal(r.errorCode, 0, 'a good SCRAM login over TLS still succeeds');
  c.close();
});
