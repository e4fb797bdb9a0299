/**
 * The SCRAM credentials given at the first start (`--add-scram`), which go into a new metadata
 * log with the cluster id.
 */
import { randomBytes } from 'node:crypto';
import type { ScramUpsertion } from './metadata-types.js';
import {
  credentialFromPassword, credentialFromSalted, MAX_ITERATIONS, MIN_ITERATIONS, SCRAM_MECHANISM_CODES, type ScramMechanism,
} from './scram.js';

/**
 * One `--add-scram` value, as `kafka-storage format --add-scram` takes it:
 * `SCRAM-SHA-256=[name=admin,password=admin-secret]`, optionally with `iterations=` and
 * `salt=` (base64), or `saltedpassword=` (base64) with `salt=` instead of the password.
 */
export function parseAddScram(spec: string): ScramUpsertion {
  const m = /^(SCRAM-SHA-256|SCRAM-SHA-512)=\[(.*)\]$/.exec(spec.trim());
  if (!m) throw new Error(`'${spec.replace(/password=[^,\]]*/gi, 'password=***')}' is not SCRAM-SHA-256=[name=...,password=...] or SCRAM-SHA-512=[...]`);
  const mechanism = m[1] as ScramMechanism;
  const fields: Record<string, string> = {};
  for (const part of m[2]!.match(/[^,=]+=("[^"]*"|[^,]*)/g) ?? []) {
    const eq = part.indexOf('=');
    fields[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  const name = fields.name;
  if (!name) throw new Error(`${mechanism}: name= is missing`);
  const iterations = fields.iterations !== undefined ? Number(fields.iterations) : MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new Error(`${mechanism} ${name}: iterations must be ${MIN_ITERATIONS}..${MAX_ITERATIONS}`);
  }
  const salt = fields.salt !== undefined ? Buffer.from(fields.salt, 'base64') : randomBytes(32);
  let credential;
  if (fields.saltedpassword !== undefined) {
    if (fields.salt === undefined) throw new Error(`${mechanism} ${name}: saltedpassword= needs salt=`);
    credential = credentialFromSalted(mechanism, Buffer.from(fields.saltedpassword, 'base64'), salt, iterations);
  } else if (fields.password !== undefined) {
    credential = credentialFromPassword(mechanism, fields.password, salt, iterations);
  } else {
    throw new Error(`${mechanism} ${name}: password= (or saltedpassword= with salt=) is missing`);
  }
  return {
    user: name,
    mechanism: SCRAM_MECHANISM_CODES[mechanism],
    salt: credential.salt.toString('hex'),
    storedKey: credential.storedKey.toString('hex'),
    serverKey: credential.serverKey.toString('hex'),
    iterations,
  };
}
