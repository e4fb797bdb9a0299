/**
 * Test certificates, made at run time with openssl in a temp dir (no key is ever committed):
 * a CA, a server certificate for 127.0.0.1/localhost, client certificates signed by the CA,
 * and a second, untrusted CA with a client certificate of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  /** Key and chain in one PEM file, as Kafka's ssl.keystore.location of type PEM holds them. */
  serverKeystore: string;
  /** A client certificate (key and cert files) for a subject, signed by the CA. */
  client(subject: string): { key: string; cert: string };
  /** A server key store whose certificate has another serial (for reload tests). */
  newServerKeystore(): string;
  rogue: { caCert: string; key: string; cert: string };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { key, cert };
}

function signed(dir: string, ca: { key: string; cert: string }, name: string, subject: string, ext?: string): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
  const args = ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(Date.now()), '-out', cert, '-days', '2'];
  if (ext !== undefined) {
    const extFile = path.join(dir, `${name}.ext`);
    writeFileSync(extFile, ext);
    args.push('-extfile', extFile);
  }
  openssl(args, dir);
  return { key, cert };
}

export function makePki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pki-'));
  const ca = makeCa(dir, 'ca');
  let servers = 0;
  const serverKeystore = (): string => {
    const s = signed(dir, ca, `server${servers}`, '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const file = path.join(dir, `server${servers++}.keystore.pem`);
    writeFileSync(file, readFileSync(s.key, 'utf8') + readFileSync(s.cert, 'utf8'));
    return file;
  };
  const rogueCa = makeCa(dir, 'rogue-ca');
  const rogue = signed(dir, rogueCa, 'rogue-client', '/CN=mallory');
  let clients = 0;
  return {
    dir,
    caCert: ca.cert,
    serverKeystore: serverKeystore(),
    client: (subject) => signed(dir, ca, `client${clients++}`, subject),
    newServerKeystore: serverKeystore,
    rogue: { caCert: rogueCa.cert, ...rogue },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
