#!/usr/bin/env node
/**
 * Generates the Kafka message codecs in src/shared/protocol/generated/ from Kafka's JSON
 * message schemas (../shared/kafka-protocol/messages, or $KAFKA_SCHEMA_DIR).
 *
 * For each *Request.json / *Response.json (and the two frame headers) it writes one
 * module: an interface per struct (fields camelCased, nested structs named
 * <Message><Struct>), `decode<Message>(reader, version)` and
 * `encode<Message>(writer, version, value)`. The code is straight-line with
 * `version >= n` tests: no closures, no reflection, nothing interpreted at run time.
 * It also writes api-keys.ts (names, version ranges), codecs.ts (tables by API key)
 * and index.ts (re-exports), and test/protocol/fixtures/schemas.json (the schemas
 * trimmed to what the round-trip and fuzz tests need to draw random messages).
 *
 * Value model: int64 as number, uuid as Kafka's base64url string, bytes/records as
 * Buffer views; fields absent in a version decode to their schema default. On encode a
 * request refuses a non-default value for a non-ignorable field its version lacks; a
 * response simply leaves such a field out.
 *
 * The output is committed; the project builds without the schema folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaDir = process.env.KAFKA_SCHEMA_DIR ?? path.resolve(repoRoot, '../shared/kafka-protocol/messages');
const outDir = path.resolve(repoRoot, 'src/shared/protocol/generated');
// The codec tests draw random messages from the schemas; they read this trimmed copy so
// they run without the schema folder too.
const testSchemaFile = path.resolve(repoRoot, 'test/protocol/fixtures/schemas.json');
/**
 * Versions Kafka 4.x serves that the schema folder predates. Each new version here has the
 * wire layout of the one before it and differs only in meaning (KIP-890's transactions v2:
 * Produce v12 and TxnOffsetCommit v5 add the partition or group to the transaction at the
 * broker), so widening the range is the whole change to the schema.
 */
const NEWER_VERSIONS = {
  ProduceRequest: '0-12',
  ProduceResponse: '0-12',
  TxnOffsetCommitRequest: '0-5',
  TxnOffsetCommitResponse: '0-5',
};
const SCHEMA_KEYS = ['name', 'apiKey', 'type', 'validVersions', 'flexibleVersions', 'fields', 'commonStructs'];
const FIELD_KEYS = ['name', 'type', 'versions', 'nullableVersions', 'taggedVersions', 'tag', 'default', 'ignorable', 'flexibleVersions', 'fields'];

function trimSchema(schema) {
  const pickKeys = (o, keys) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const trimFields = (fields) => fields.map((f) => ({ ...pickKeys(f, FIELD_KEYS), ...(f.fields ? { fields: trimFields(f.fields) } : {}) }));
  const out = pickKeys(schema, SCHEMA_KEYS);
  out.fields = trimFields(schema.fields);
  if (schema.commonStructs) out.commonStructs = schema.commonStructs.map((c) => ({ name: c.name, versions: c.versions, fields: trimFields(c.fields) }));
  return out;
}

const INF = Number.POSITIVE_INFINITY;
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const SCALARS = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'float64', 'bool', 'uuid']);

/** Removes // comments outside string literals (the schema files carry licence headers). */
function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** "none" | "N" | "N+" | "N-M" -> [lo, hi] or null. */
function parseRange(s) {
  if (s === undefined || s === 'none') return null;
  if (s.endsWith('+')) return [Number(s.slice(0, -1)), INF];
  const dash = s.indexOf('-');
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}

function intersect(a, b) {
  if (!a || !b) return null;
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

/** A test of `version` against range, simplified within ctx: 'true', 'false' or an expression. */
function cond(range, ctx) {
  const r = intersect(range, ctx);
  if (!r) return 'false';
  const parts = [];
  if (r[0] > ctx[0]) parts.push(`version >= ${r[0]}`);
  if (r[1] < ctx[1]) parts.push(`version <= ${r[1]}`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

/** A ternary used as a statement, without its outer parentheses. */
function stmt(e) {
  return e.startsWith('(') && e.endsWith(')') && balanced(e.slice(1, -1)) ? e.slice(1, -1) : e;
}

function balanced(e) {
  let depth = 0;
  for (const c of e) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function pick(c, a, b) {
  if (c === 'true') return a;
  if (c === 'false') return b;
  return `(${c} ? ${a} : ${b})`;
}

const camel = (name) => name[0].toLowerCase() + name.slice(1);
const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

class Builder {
  constructor() {
    this.lines = [];
    this.depth = 0;
  }
  line(s = '') {
    this.lines.push(s === '' ? '' : '  '.repeat(this.depth) + s);
  }
  open(s) {
    this.line(s);
    this.depth++;
  }
  close(s = '}') {
    this.depth--;
    this.line(s);
  }
  toString() {
    return this.lines.join('\n');
  }
}

function generateMessage(schema, file) {
  const msgName = schema.name;
  const valid = parseRange(schema.validVersions);
  const msgFlex = parseRange(schema.flexibleVersions);
  const structs = new Map(); // struct name -> { name, tsName, fields, ctx }
  const common = new Map((schema.commonStructs ?? []).map((c) => [c.name, c]));

  const tsNameOf = (structName) => (structName === msgName ? msgName : msgName + structName);

  /** Records a struct and the versions it is used in, widening on every further use. */
  function register(structName, fields, ctx) {
    let s = structs.get(structName);
    if (s) {
      const lo = Math.min(s.ctx[0], ctx[0]);
      const hi = Math.max(s.ctx[1], ctx[1]);
      if (lo === s.ctx[0] && hi === s.ctx[1]) return;
      s.ctx = [lo, hi];
    } else {
      s = { name: structName, tsName: tsNameOf(structName), fields: fields.map((f) => parseField(f)), defs: fields, ctx };
      structs.set(structName, s);
    }
    for (const f of s.fields) {
      const fctx = intersect(f.versions, s.ctx);
      if (f.isStruct && fctx) {
        const def = f.def ?? common.get(f.elem)?.fields;
        if (!def) throw new Error(`${file}: no definition for struct ${f.elem}`);
        register(f.elem, def, fctx);
      }
    }
  }

  function parseField(f) {
    const versions = parseRange(f.versions);
    const isArray = f.type.startsWith('[]');
    const elem = isArray ? f.type.slice(2) : f.type;
    const isStruct = !SCALARS.has(elem) && !['string', 'bytes', 'records'].includes(elem);
    const tagged = parseRange(f.taggedVersions);
    if (tagged && (tagged[0] !== versions[0] || tagged[1] !== versions[1])) {
      throw new Error(`${file}: ${f.name} has taggedVersions different from versions`);
    }
    if (tagged && isStruct && !isArray && f.nullableVersions !== undefined) {
      // Kafka marks a tagged nullable struct with a varint, not the int8 of regular fields.
      throw new Error(`${file}: tagged nullable struct ${f.name} is not supported`);
    }
    return {
      name: f.name,
      prop: camel(f.name),
      local: 'f' + f.name,
      versions,
      ctx: null,
      isArray,
      elem,
      isStruct,
      def: f.fields,
      tag: tagged ? f.tag : undefined,
      nullable: intersect(parseRange(f.nullableVersions), versions),
      flex: f.flexibleVersions !== undefined ? parseRange(f.flexibleVersions) : msgFlex,
      ignorable: f.ignorable === true,
      rawDefault: f.default,
    };
  }

  register(msgName, schema.fields, valid);
  for (const s of structs.values()) for (const f of s.fields) f.ctx = intersect(f.versions, s.ctx);

  const tsType = (f) => {
    let base;
    if (f.isStruct) base = tsNameOf(f.elem);
    else if (f.elem === 'bool') base = 'boolean';
    else if (f.elem === 'string' || f.elem === 'uuid') base = 'string';
    else if (f.elem === 'bytes' || f.elem === 'records') base = 'Buffer';
    else base = 'number';
    const t = f.isArray ? `${base}[]` : base;
    return f.nullable ? `${t} | null` : t;
  };

  /** The default value expression (decoded shape). */
  const defaultExpr = (f) => {
    const d = f.rawDefault;
    if (f.isArray) return d === 'null' ? 'null' : '[]';
    if (f.isStruct) return d === 'null' ? 'null' : `default${tsNameOf(f.elem)}()`;
    switch (f.elem) {
      case 'bool':
        return d === 'true' ? 'true' : 'false';
      case 'string':
        return d === undefined ? "''" : d === 'null' ? 'null' : JSON.stringify(d);
      case 'uuid':
        return JSON.stringify(ZERO_UUID);
      case 'bytes':
        return d === 'null' ? 'null' : 'EMPTY_BYTES';
      case 'records':
        return f.nullable ? 'null' : 'EMPTY_BYTES';
      default:
        return d === undefined ? '0' : String(Number(d));
    }
  };

  /** Default in the encoder: the shared constants avoid allocating. */
  const encodeDefaultExpr = (f) => {
    const d = defaultExpr(f);
    if (d === '[]') return 'NO_ELEMENTS';
    if (d.startsWith('default')) return 'NO_FIELDS';
    return d;
  };

  /** Expression true when x (an encodable value) differs from the field's default. */
  const nonDefault = (f, x) => {
    const d = defaultExpr(f);
    if (f.isStruct && !f.isArray) return d === 'null' ? `${x} !== null` : `(${x} !== null && !isDefault${tsNameOf(f.elem)}(${x}))`;
    if (f.isArray || f.elem === 'bytes' || f.elem === 'records') {
      if (d === 'null') return `${x} !== null`;
      return f.nullable ? `(${x} === null || ${x}.length > 0)` : `${x}.length > 0`;
    }
    return `${x} !== ${d}`;
  };

  const defaultFns = new Set();
  const isDefaultFns = new Set();

  function collectStructNeeds(f) {
    if (f.isStruct && !f.isArray && f.rawDefault !== 'null') {
      const s = structs.get(f.elem);
      if (!defaultFns.has(s.name)) {
        defaultFns.add(s.name);
        for (const g of s.fields) if (g.ctx) collectStructNeeds(g);
      }
    }
  }

  function collectIsDefault(f) {
    if (f.isStruct && !f.isArray && f.rawDefault !== 'null') {
      const s = structs.get(f.elem);
      if (!isDefaultFns.has(s.name)) {
        isDefaultFns.add(s.name);
        for (const g of s.fields) if (g.ctx) collectIsDefault(g);
      }
    }
  }

  /** Whether field f is written compactly: the struct's flexibility unless the field overrides it. */
  function fieldFlex(f, ctx, tagged, flexId) {
    if (tagged) return 'true';
    if (f.flex === msgFlex) return flexId;
    return f.flex ? cond(f.flex, ctx) : 'false';
  }

  function readValue(f, elemOnly, flexC, nullC) {
    const t = f.elem;
    const nul = elemOnly ? 'false' : nullC;
    if (f.isStruct) {
      const call = `decode${tsNameOf(t)}(r, version)`;
      return pick(nul, `(r.int8() < 0 ? null : ${call})`, call);
    }
    switch (t) {
      case 'string':
        return pick(flexC, pick(nul, 'r.compactNullableString()', 'r.compactString()'), pick(nul, 'r.nullableString()', 'r.string()'));
      case 'bytes':
      case 'records':
        return pick(flexC, pick(nul, 'r.compactNullableBytes()', 'r.compactBytes()'), pick(nul, 'r.nullableBytes()', 'r.bytes()'));
      default:
        return `r.${t}()`;
    }
  }

  /** Statements decoding field f into its local (already declared). */
  function emitRead(b, f, ctx, assign, tagged, flexId, inBlock = false) {
    const flexC = fieldFlex(f, ctx, tagged, flexId);
    const nullC = f.nullable ? cond(f.nullable, f.ctx) : 'false';
    if (!f.isArray) {
      b.line(`${assign}${readValue(f, false, flexC, nullC)};`);
      return;
    }
    if (assign.startsWith('const ')) assign = `${f.local} = `;
    const len = pick(
      flexC,
      pick(nullC, 'r.compactNullableArrayLength()', 'r.compactArrayLength()'),
      pick(nullC, 'r.nullableArrayLength()', 'r.arrayLength()'),
    );
    const elemTs = tsType({ ...f, isArray: false, nullable: null });
    if (!inBlock) b.open('{');
    b.line(`const n = ${len};`);
    const arr = `a${f.name}`;
    const fill = () => {
      b.line(`const ${arr}: ${elemTs}[] = [];`);
      b.line(`for (let i = 0; i < n; i++) ${arr}.push(${readValue(f, true, flexC, 'false')});`);
      b.line(`${assign}${arr};`);
    };
    if (nullC !== 'false') {
      b.line(`if (n < 0) ${assign}null;`);
      b.open('else {');
      fill();
      b.close();
    } else fill();
    if (!inBlock) b.close();
  }

  function writeValue(f, elemOnly, x, flexC, nullC, w) {
    const t = f.elem;
    const nul = elemOnly ? 'false' : nullC;
    const canBeNull = !elemOnly && f.nullable !== null;
    const nn = canBeNull && nul !== 'true' ? `(${x} ?? nonNullable('${f.name}', version))` : x;
    if (f.isStruct) {
      const call = (v) => `encode${tsNameOf(t)}(${w}, version, ${v})`;
      if (nul === 'false') return [`${call(nn)};`];
      if (nul === 'true') return [`if (${x} === null) ${w}.int8(-1);`, `else {`, `  ${w}.int8(1);`, `  ${call(x)};`, `}`];
      return [`if (${nul} && ${x} === null) ${w}.int8(-1);`, `else {`, `  if (${nul}) ${w}.int8(1);`, `  ${call(nn)};`, `}`];
    }
    switch (t) {
      case 'string': {
        const c = pick(nul, `${w}.compactNullableString(${x})`, `${w}.compactString(${nn})`);
        const n = pick(nul, `${w}.nullableString(${x})`, `${w}.string(${nn})`);
        return [`${stmt(pick(flexC, c, n))};`];
      }
      case 'bytes':
      case 'records': {
        const c = pick(nul, `${w}.compactNullableBytes(${x})`, `${w}.compactBytes(${nn})`);
        const n = pick(nul, `${w}.nullableBytes(${x})`, `${w}.bytes(${nn})`);
        return [`${stmt(pick(flexC, c, n))};`];
      }
      default:
        return [`${w}.${t}(${x});`];
    }
  }

  /** Statements encoding local x of field f into writer w. */
  function emitWrite(b, f, ctx, x, tagged, w, flexId) {
    const flexC = fieldFlex(f, ctx, tagged, flexId);
    const nullC = f.nullable ? cond(f.nullable, f.ctx) : 'false';
    if (!f.isArray) {
      for (const l of writeValue(f, false, x, flexC, nullC, w)) b.line(l);
      return;
    }
    const lenW = (n) => pick(flexC, `${w}.compactArrayLength(${n})`, `${w}.arrayLength(${n})`);
    let opened = false;
    if (f.nullable) {
      if (nullC === 'false') b.line(`if (${x} === null) nonNullable('${f.name}', version);`);
      else if (nullC === 'true') b.line(`if (${x} === null) ${stmt(lenW(-1))};`);
      else b.line(`if (${x} === null) ${nullC} ? ${lenW(-1)} : nonNullable('${f.name}', version);`);
      b.open('else {');
      opened = true;
    }
    b.line(`${stmt(lenW(`${x}.length`))};`);
    b.open(`for (let i = 0; i < ${x}.length; i++) {`);
    b.line(`const e = ${x}[i]!;`);
    for (const l of writeValue(f, true, 'e', flexC, 'false', w)) b.line(l);
    b.close();
    if (opened) b.close();
  }

  const out = new Builder();
  const body = new Builder();

  // Interfaces, decoders and encoders, one set per struct.
  for (const s of structs.values()) {
    const top = s.name === msgName;
    const ctx = s.ctx;
    const present = s.fields.filter((f) => f.ctx);
    const regular = present.filter((f) => f.tag === undefined);
    const taggedFields = present.filter((f) => f.tag !== undefined).sort((a, b) => a.tag - b.tag);
    const flexC = msgFlex ? cond(msgFlex, ctx) : 'false';
    const flexId = flexC === 'true' || flexC === 'false' ? flexC : 'flexible';
    for (const f of present) {
      if (f.ctx[0] > ctx[0] || f.ctx[1] < ctx[1] || f.tag !== undefined) collectStructNeeds(f);
      const dropChecked = !f.ignorable && schema.type !== 'response' && (f.ctx[0] > ctx[0] || f.ctx[1] < ctx[1]);
      if (f.tag !== undefined || dropChecked) collectIsDefault(f);
    }

    body.line();
    body.open(`export interface ${s.tsName} {`);
    for (const f of s.fields) {
      if (!f.ctx) continue;
      const vs = f.versions[1] === INF ? `${f.versions[0]}+` : `${f.versions[0]}-${f.versions[1]}`;
      const extra = [`v${vs}`];
      if (f.nullable) extra.push(`nullable ${f.nullable[0]}${f.nullable[1] === INF ? '+' : '-' + f.nullable[1]}`);
      if (f.tag !== undefined) extra.push(`tag ${f.tag}`);
      body.line(`/** ${extra.join(', ')} */`);
      body.line(`${f.prop}: ${tsType(f)};`);
    }
    body.close();

    // decode
    body.line();
    const dname = `decode${s.tsName}`;
    body.open(`${top ? 'export ' : ''}function ${dname}(r: Reader, version: number): ${s.tsName} {`);
    if (top) {
      body.line(`if (version < ${valid[0]} || version > ${valid[1]}) throw new ProtocolDecodeError(\`${msgName} v\${version} is not a valid version\`);`);
    }
    if (flexC !== 'true' && flexC !== 'false') body.line(`const flexible = ${flexC};`);
    for (const f of regular) {
      const c = cond(f.ctx, ctx);
      if (c === 'true') {
        if (f.isArray) body.line(`let ${f.local}: ${tsType(f)};`);
        emitRead(body, f, ctx, `const ${f.local}: ${tsType(f)} = `, false, flexId);
      } else {
        body.line(`let ${f.local}: ${tsType(f)} = ${defaultExpr(f)};`);
        body.open(`if (${c}) {`);
        emitRead(body, f, ctx, `${f.local} = `, false, flexId, true);
        body.close();
      }
    }
    for (const f of taggedFields) body.line(`let ${f.local}: ${tsType(f)} = ${defaultExpr(f)};`);
    if (flexId !== 'false') {
      if (flexId !== 'true') body.open(`if (${flexId}) {`);
      body.open('for (let t = r.taggedFieldCount(); t > 0; t--) {');
      body.line(taggedFields.length > 0 ? 'const tag = r.unsignedVarint();' : 'r.unsignedVarint();');
      body.line('const end = r.taggedFieldEnd();');
      if (taggedFields.length > 0) {
        body.open('switch (tag) {');
        const byTag = new Map();
        for (const f of taggedFields) byTag.set(f.tag, [...(byTag.get(f.tag) ?? []), f]);
        for (const [tag, fs] of byTag) {
          body.open(`case ${tag}:`);
          let first = true;
          for (const f of fs) {
            const c = cond(f.ctx, ctx);
            body.open(`${first ? '' : 'else '}if (${c}) {`);
            emitRead(body, f, ctx, `${f.local} = `, true, flexId, true);
            body.close();
            first = false;
          }
          body.line('break;');
          body.depth--;
        }
        body.close();
      }
      body.line('r.endTaggedField(end);');
      body.close();
      if (flexId !== 'true') body.close();
    }
    body.line(`return { ${present.map((f) => `${f.prop}: ${f.local}`).join(', ')} };`);
    body.close();

    // encode
    body.line();
    const ename = `encode${s.tsName}`;
    body.open(`${top ? 'export ' : ''}function ${ename}(w: Writer, version: number, v: Encodable<${s.tsName}>): void {`);
    if (top) {
      body.line(`if (version < ${valid[0]} || version > ${valid[1]}) throw new ProtocolEncodeError(\`${msgName} v\${version} is not a valid version\`);`);
    }
    if (flexC !== 'true' && flexC !== 'false') body.line(`const flexible = ${flexC};`);
    const extract = (f) => {
      const d = encodeDefaultExpr(f);
      return f.nullable || d === 'null' ? `v.${f.prop} === undefined ? ${d} : v.${f.prop}` : `v.${f.prop} ?? ${d}`;
    };
    for (const f of regular) {
      const c = cond(f.ctx, ctx);
      // A request that loses a field changes its meaning, so encoding one refuses. A response
      // field the client's version cannot carry is simply not sent, as Kafka's broker does.
      const checkDropped = !f.ignorable && c !== 'true' && schema.type !== 'response';
      if (c === 'true') {
        body.line(`const ${f.local} = ${extract(f)};`);
        emitWrite(body, f, ctx, f.local, false, 'w', flexId);
      } else {
        body.line(`const ${f.local} = ${extract(f)};`);
        body.open(`if (${c}) {`);
        emitWrite(body, f, ctx, f.local, false, 'w', flexId);
        body.close();
        if (checkDropped) {
          body.line(`else if (${nonDefault(f, f.local)}) notInVersion('${s.name}.${f.name}', version);`);
        }
      }
    }
    if (flexId !== 'false' && taggedFields.length === 0) {
      body.line(`${flexId === 'true' ? '' : `if (${flexId}) `}w.emptyTaggedFields();`);
    } else if (flexId !== 'false') {
      body.open(flexId === 'true' ? '{' : `if (${flexId}) {`);
      if (taggedFields.length === 0) body.line('w.emptyTaggedFields();');
      else {
        body.line('let tagged = 0;');
        for (const f of taggedFields) {
          body.line(`const ${f.local} = ${extract(f)};`);
          const c = cond(f.ctx, ctx);
          body.line(`const has${f.name} = ${c === 'true' ? '' : `${c} && `}${nonDefault(f, f.local)};`);
          body.line(`if (has${f.name}) tagged++;`);
        }
        body.line('w.unsignedVarint(tagged);');
        for (const f of taggedFields) {
          body.open(`if (has${f.name}) {`);
          body.line('const s = new Writer(64);');
          emitWrite(body, f, ctx, f.local, true, 's', flexId);
          body.line(`w.taggedField(${f.tag}, s.toBuffer());`);
          body.close();
        }
      }
      body.close();
    }
    body.close();
  }

  // Default constructors and default tests for structs used as single (non-array) fields.
  for (const name of defaultFns) {
    const s = structs.get(name);
    const present = s.fields.filter((f) => f.ctx);
    body.line();
    body.open(`function default${s.tsName}(): ${s.tsName} {`);
    body.line(`return { ${present.map((f) => `${f.prop}: ${defaultExpr(f)}`).join(', ')} };`);
    body.close();
  }
  for (const name of isDefaultFns) {
    const s = structs.get(name);
    const present = s.fields.filter((f) => f.ctx);
    body.line();
    body.open(`function isDefault${s.tsName}(v: Encodable<${s.tsName}>): boolean {`);
    const terms = present.map((f) => `(v.${f.prop} === undefined || !(${nonDefault(f, `v.${f.prop}`)}))`);
    body.line(`return ${terms.length ? terms.join(' &&\n    ') : 'true'};`);
    body.close();
  }

  const text = body.toString();
  const codecImports = ['type Encodable'];
  if (text.includes('EMPTY_BYTES')) codecImports.push('EMPTY_BYTES');
  if (text.includes('NO_ELEMENTS')) codecImports.push('NO_ELEMENTS');
  if (text.includes('NO_FIELDS')) codecImports.push('NO_FIELDS');
  const errorImports = ['ProtocolDecodeError', 'ProtocolEncodeError'];
  if (text.includes('nonNullable(')) errorImports.push('nonNullable');
  if (text.includes('notInVersion(')) errorImports.push('notInVersion');

  out.line(`// Generated by tools/gen-codecs.mjs from ${file}. Do not edit.`);
  const flexText = msgFlex ? `${msgFlex[0]}+` : 'none';
  const keyText = schema.apiKey !== undefined ? `API key ${schema.apiKey}, ` : '';
  out.line(`// ${msgName}: ${keyText}versions ${valid[0]}-${valid[1]}, flexible ${flexText}.`);
  out.line(`import { ${codecImports.join(', ')} } from '../codec.js';`);
  out.line(`import { ${errorImports.join(', ')} } from '../errors.js';`);
  out.line(`import type { Reader } from '../reader.js';`);
  out.line(`import ${text.includes('new Writer(') ? '' : 'type '}{ Writer } from '../writer.js';`);
  return out.toString() + '\n' + text + '\n';
}

function main() {
  const files = fs
    .readdirSync(schemaDir)
    .filter((f) => /(Request|Response)\.json$/.test(f) || f === 'RequestHeader.json' || f === 'ResponseHeader.json')
    .sort();
  fs.mkdirSync(outDir, { recursive: true });
  for (const old of fs.readdirSync(outDir)) if (old.endsWith('.ts')) fs.unlinkSync(path.join(outDir, old));

  const apis = new Map(); // apiKey -> { name, request, response, listeners }
  const modules = [];
  const trimmed = [];
  for (const file of files) {
    const schema = JSON.parse(stripComments(fs.readFileSync(path.join(schemaDir, file), 'utf8')));
    if (NEWER_VERSIONS[schema.name]) schema.validVersions = NEWER_VERSIONS[schema.name];
    const moduleName = kebab(schema.name);
    fs.writeFileSync(path.join(outDir, `${moduleName}.ts`), generateMessage(schema, file));
    modules.push({ moduleName, schema });
    trimmed.push(trimSchema(schema));
    if (schema.type === 'request' || schema.type === 'response') {
      const baseName = schema.name.replace(/(Request|Response)$/, '');
      const entry = apis.get(schema.apiKey) ?? { name: baseName, listeners: [] };
      const valid = parseRange(schema.validVersions);
      const flex = parseRange(schema.flexibleVersions);
      entry[schema.type] = { schema: schema.name, min: valid[0], max: valid[1], flexibleFrom: flex ? flex[0] : null };
      if (schema.listeners) entry.listeners = schema.listeners;
      apis.set(schema.apiKey, entry);
    }
  }
  const keys = [...apis.keys()].sort((a, b) => a - b);

  const ak = new Builder();
  ak.line('// Generated by tools/gen-codecs.mjs from the *Request.json / *Response.json schemas. Do not edit.');
  ak.line('// Every API key by name, and the versions the schemas define for each.');
  ak.line();
  ak.open('export const ApiKey = {');
  for (const k of keys) ak.line(`${apis.get(k).name}: ${k},`);
  ak.close('} as const;');
  ak.line();
  ak.line('export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];');
  ak.line();
  ak.line('/** Versions of one message; flexibleFrom is the first flexible version (open-ended), or null. */');
  ak.open('export interface MessageVersions {');
  ak.line('readonly minVersion: number;');
  ak.line('readonly maxVersion: number;');
  ak.line('readonly flexibleFrom: number | null;');
  ak.close();
  ak.line();
  ak.open('export interface ApiInfo {');
  ak.line('readonly apiKey: number;');
  ak.line('readonly name: string;');
  ak.line('/** Which listeners Kafka serves the API on (broker, controller, zkBroker). */');
  ak.line('readonly listeners: readonly string[];');
  ak.line('readonly request: MessageVersions;');
  ak.line('readonly response: MessageVersions;');
  ak.close();
  ak.line();
  ak.line('const v = (minVersion: number, maxVersion: number, flexibleFrom: number | null): MessageVersions => ({ minVersion, maxVersion, flexibleFrom });');
  ak.line();
  ak.line('/** Indexed by API key; undefined where no API has that key. */');
  ak.open('export const apiInfoByKey: readonly (ApiInfo | undefined)[] = [');
  for (let k = 0; k <= keys[keys.length - 1]; k++) {
    const e = apis.get(k);
    if (!e) {
      ak.line('undefined,');
      continue;
    }
    const mv = (m) => `v(${m.min}, ${m.max}, ${m.flexibleFrom})`;
    ak.line(`{ apiKey: ${k}, name: '${e.name}', listeners: ${JSON.stringify(e.listeners).replace(/"/g, "'").replace(/,/g, ', ')}, request: ${mv(e.request)}, response: ${mv(e.response)} },`);
  }
  ak.close('];');
  fs.writeFileSync(path.join(outDir, 'api-keys.ts'), ak.toString() + '\n');

  const cb = new Builder();
  cb.line('// Generated by tools/gen-codecs.mjs from the *Request.json / *Response.json schemas. Do not edit.');
  cb.line('// Codecs by API key, so a dispatcher can decode any request from its header alone.');
  cb.line("import type { MessageCodec } from '../codec.js';");
  for (const k of keys) {
    const e = apis.get(k);
    for (const kind of ['request', 'response']) {
      const n = e[kind].schema;
      cb.line(`import { type ${n}, decode${n}, encode${n} } from './${kebab(n)}.js';`);
    }
  }
  cb.line();
  cb.line('/** Each API\'s request and response message types, by API key. */');
  cb.open('export interface ApiMessages {');
  for (const k of keys) {
    const e = apis.get(k);
    cb.line(`${k}: { request: ${e.request.schema}; response: ${e.response.schema} };`);
  }
  cb.close();
  cb.line();
  cb.line('export type RequestOf<K extends keyof ApiMessages> = ApiMessages[K][\'request\'];');
  cb.line('export type ResponseOf<K extends keyof ApiMessages> = ApiMessages[K][\'response\'];');
  for (const kind of ['request', 'response']) {
    cb.line();
    cb.line(`/** ${kind === 'request' ? 'Request' : 'Response'} codecs indexed by API key; undefined where no API has that key. */`);
    cb.open(`export const ${kind}Codecs: readonly (MessageCodec<unknown> | undefined)[] = [`);
    for (let k = 0; k <= keys[keys.length - 1]; k++) {
      const e = apis.get(k);
      if (!e) cb.line('undefined,');
      else {
        const n = e[kind].schema;
        cb.line(`{ apiKey: ${k}, name: '${n}', decode: decode${n}, encode: encode${n} },`);
      }
    }
    cb.close('];');
  }
  fs.writeFileSync(path.join(outDir, 'codecs.ts'), cb.toString() + '\n');

  const ib = new Builder();
  ib.line('// Generated by tools/gen-codecs.mjs. Do not edit.');
  ib.line('// Every message module; the frame headers are reached through ../headers.js.');
  ib.line("export * from './api-keys.js';");
  ib.line("export * from './codecs.js';");
  for (const m of modules) if (m.schema.type !== 'header') ib.line(`export * from './${m.moduleName}.js';`);
  fs.writeFileSync(path.join(outDir, 'index.ts'), ib.toString() + '\n');

  fs.mkdirSync(path.dirname(testSchemaFile), { recursive: true });
  fs.writeFileSync(testSchemaFile, JSON.stringify(trimmed) + '\n');

  console.log(`generated ${modules.length} message modules into ${path.relative(repoRoot, outDir)}`);
}

main();
