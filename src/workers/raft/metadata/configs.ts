/**
 * The controller's config changes (Kafka's IncrementalAlterConfigs and AlterConfigs): each
 * resource's changes are checked against the committed image and turned into records, all
 * of one resource or none of it.
 *
 *   topic      any topic config (dynamic-config.ts), valid values only
 *   broker id  a dynamic broker setting for that broker
 *   ''         a dynamic broker setting for every broker (the cluster default)
 *
 * A read-only broker setting (listeners, log.dirs...) is INVALID_REQUEST, an unknown name or
 * a bad value INVALID_CONFIG, as Kafka answers them. APPEND and SUBTRACT act on lists only,
 * starting from the resource's own value (or its default when it has none).
 */
import { ErrorCode } from '../../../shared/errors.js';
import { SETTINGS } from '../../../shared/config-settings.js';
import { configValueError, DYNAMIC_BROKER_CONFIGS, listItems, TOPIC_CONFIGS, type ConfigDef } from '../../../shared/dynamic-config.js';
import { ConfigOp, ConfigResourceType, type AlterConfigsRequest, type ConfigResourceChange, type ConfigResult } from '../../../shared/metadata-types.js';
import type { MetadataImage } from './image.js';
import type { Decision } from './records.js';
import type { MetadataRecord } from './records.js';

class ConfigRefused extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

export function decideAlterConfigs(image: MetadataImage, req: Pick<AlterConfigsRequest, 'resources' | 'incremental' | 'validateOnly'>): Decision<ConfigResult[]> {
  const records: MetadataRecord[] = [];
  const result = req.resources.map((r) => {
    try {
      const changes = resourceRecords(image, r, req.incremental);
      if (!req.validateOnly) records.push(...changes);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    } catch (err) {
      if (!(err instanceof ConfigRefused)) throw err;
      return { errorCode: err.errorCode, errorMessage: err.message };
    }
  });
  return { records, result };
}

function resourceRecords(image: MetadataImage, r: ConfigResourceChange, incremental: boolean): MetadataRecord[] {
  const names = r.changes.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${dup}`);
  let current: ReadonlyMap<string, string>;
  let defOf: (name: string) => (ConfigDef & { default?: string | null }) | undefined;
  let record: (name: string, value: string | null) => MetadataRecord;
  if (r.resourceType === ConfigResourceType.TOPIC) {
    const topic = image.topicsByName.get(r.resourceName);
    if (topic === undefined) throw new ConfigRefused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist.`);
    current = topic.configs;
    defOf = (name) => {
      const def = TOPIC_CONFIGS[name];
      if (def === undefined) throw new ConfigRefused(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
      return { ...def, default: def.default ?? (def.synonym ? DYNAMIC_BROKER_CONFIGS[def.synonym]!.default : null) };
    };
    record = (name, value) => ({ type: 'config', topicId: topic.id, name, value });
  } else if (r.resourceType === ConfigResourceType.BROKER) {
    if (r.resourceName !== '' && !/^\d+$/.test(r.resourceName)) {
      throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Broker id must be an integer or empty, got '${r.resourceName}'.`);
    }
    current = image.brokerConfigs.get(r.resourceName) ?? new Map();
    defOf = (name) => {
      const def = DYNAMIC_BROKER_CONFIGS[name];
      if (def !== undefined) return def;
      if (name in SETTINGS) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${name}`);
      throw new ConfigRefused(ErrorCode.INVALID_CONFIG, `Unknown broker config name: ${name}`);
    };
    record = (name, value) => ({ type: 'brokerConfig', broker: r.resourceName, name, value });
  } else {
    throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}.`);
  }
  const next = new Map(incremental ? current : []);
  for (const c of r.changes) {
    const def = defOf(c.name)!;
    switch (c.op) {
      case ConfigOp.SET:
        if (c.value === null) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Null value not supported for: ${c.name}`);
        next.set(c.name, c.value);
        break;
      case ConfigOp.DELETE:
        next.delete(c.name);
        break;
      case ConfigOp.APPEND:
      case ConfigOp.SUBTRACT: {
        if (def.kind !== 'list') throw new ConfigRefused(ErrorCode.INVALID_CONFIG, `Config value append is not allowed for config key: ${c.name}`);
        const base = listItems(next.get(c.name) ?? def.default ?? '');
        const items = listItems(c.value ?? '');
        const out = c.op === ConfigOp.APPEND ? [...base, ...items.filter((i) => !base.includes(i))] : base.filter((i) => !items.includes(i));
        next.set(c.name, out.join(','));
        break;
      }
      default:
        throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.op} for ${c.name}.`);
    }
  }
  for (const [name, value] of next) {
    if (current.get(name) === value) continue;
    const error = configValueError(name, defOf(name)!, value);
    if (error !== null) throw new ConfigRefused(ErrorCode.INVALID_CONFIG, error);
  }
  const out: MetadataRecord[] = [];
  for (const [name, value] of next) if (current.get(name) !== value) out.push(record(name, value));
  for (const name of current.keys()) if (!next.has(name)) out.push(record(name, null));
  return out;
}
